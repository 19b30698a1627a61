"""Start-up benchmark (issue 16): how long the `crm` commands take to be useful, each beside its floor measured in
the same run, on the same machine:

- `crm --help` against `python -c "import click"` (the CLI's own framework; target: within 3x);
- `crm serve` until its first `/healthz` 200 against `python -c "import litestar, sqlalchemy"` (the server's own
  frameworks; target: within 1.5x);
- `crm up --demo` until `/readyz` 200 on an existing data dir (migrated, seeded, demo data loaded, marts built once:
  what a restart costs), beside the same floor.

Each figure is the median of `--runs` fresh processes (the wall time from spawn, so interpreter start-up counts).
Bytecode: run after `uv sync` (pyproject sets compile-bytecode; with PYTHONDONTWRITEBYTECODE set nothing is cached
at run time, so without it every process compiles every module).

    uv run python -m bench.startup                 # 5 runs each
    uv run python -m bench.startup --runs 3 --json startup.json

Prints a table, then one JSON object (also written to `--json` when given).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from tests.e2e import clean_env, crm_process, free_port

console = Console(stderr=True)
TARGETS = {"crm --help": 3.0, "crm serve → /healthz": 1.5}


def _env(data: Path) -> dict[str, str]:
    return clean_env(CRM_DATA_DIR=str(data / "data"), CRM_DATABASE_URL=f"sqlite+aiosqlite:///{data / 'crm.sqlite3'}")


def time_command(args: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def time_until_ok(args: list[str], url_path: str, env: dict[str, str], cwd: Path, deadline_s: float = 300) -> float:
    """Seconds from spawning `crm <args> --port P` until GET `url_path` answers 200; the process is then stopped."""
    port = free_port()
    url = f"http://127.0.0.1:{port}{url_path}"
    start = time.perf_counter()
    # One client for every poll: a new one per attempt costs CPU the starting server (2 cores) would feel.
    with (
        crm_process([*args, "--port", str(port)], cwd, env, cwd / "crm.log") as proc,
        httpx.Client(timeout=5) as client,
    ):
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"crm {' '.join(args)} exited with {proc.returncode}")
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - start
            except httpx.TransportError:
                pass
            if time.perf_counter() - start > deadline_s:
                raise RuntimeError(f"{url} not ready within {deadline_s} s")
            time.sleep(0.02)  # polling granularity of the measurement: 20 ms


def median_of(runs: int, measure: object) -> tuple[float, list[float]]:
    samples = [measure() for _ in range(runs)]  # type: ignore[operator]
    return statistics.median(samples), samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="crm-startup-") as tmp:
        work = Path(tmp)
        env = _env(work)
        console.print("preparing: crm db upgrade, then one `crm up --demo` to fill the data dir…")
        subprocess.run([py, "-m", "crm", "db", "upgrade"], env=env, cwd=work, check=True, stdout=subprocess.DEVNULL)
        time_until_ok(["up", "--demo"], "/readyz", env, work)

        rows: list[dict[str, object]] = []

        def row(
            name: str, figure: tuple[float, list[float]], floor_name: str, floor: tuple[float, list[float]]
        ) -> None:
            ratio = figure[0] / floor[0]
            target = TARGETS.get(name)
            rows.append(
                {
                    "measure": name,
                    "seconds": round(figure[0], 3),
                    "samples": [round(s, 3) for s in figure[1]],
                    "floor": floor_name,
                    "floor_seconds": round(floor[0], 3),
                    "floor_samples": [round(s, 3) for s in floor[1]],
                    "x_floor": round(ratio, 2),
                    "target_x": target,
                    "met": None if target is None else ratio <= target,
                }
            )

        n = args.runs
        console.print(f"measuring, {n} runs each…")
        click_floor = median_of(n, lambda: time_command([py, "-c", "import click"], env, work))
        help_ = median_of(n, lambda: time_command([py, "-m", "crm", "--help"], env, work))
        row("crm --help", help_, 'python -c "import click"', click_floor)
        web_floor = median_of(n, lambda: time_command([py, "-c", "import litestar, sqlalchemy"], env, work))
        serve = median_of(n, lambda: time_until_ok(["serve"], "/healthz", env, work))
        row("crm serve → /healthz", serve, 'python -c "import litestar, sqlalchemy"', web_floor)
        up = median_of(n, lambda: time_until_ok(["up", "--demo"], "/readyz", env, work))
        row("crm up --demo → /readyz (existing data dir)", up, 'python -c "import litestar, sqlalchemy"', web_floor)

    table = Table("measure", "median s", "floor", "floor s", "× floor", "target")
    for r in rows:
        target = "" if r["target_x"] is None else f"≤ {r['target_x']}× {'✓' if r['met'] else '✗'}"
        table.add_row(
            str(r["measure"]),
            f"{r['seconds']:.2f}",
            str(r["floor"]),
            f"{r['floor_seconds']:.2f}",
            f"{r['x_floor']}",
            target,
        )
    console.print(table)
    doc = {
        "benchmark": "startup",
        "runs": args.runs,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python_dont_write_bytecode": bool(os.environ.get("PYTHONDONTWRITEBYTECODE")),
        "results": rows,
    }
    print(json.dumps(doc, indent=2))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
