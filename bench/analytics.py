"""Analytics benchmark (SPEC §13, issue 6): requests/s and p50/p99 latency of every analytics endpoint against a
running `crm serve`, beside `/healthz` on the same server in the same run (the ceiling: no auth, no data) and a DuckDB
scan of the same Parquet per request (what an endpoint without per-snapshot indexes would pay).

    uv run python -m bench.analytics --scale xlarge --seconds 8            # Postgres, seeds and builds first
    uv run python -m bench.analytics --scale xlarge --reuse                # reuse the seeded database and snapshot

Every request asks a different 365-day window (random start to the microsecond, so never at midnight and never
cached), a random campaign and course year. The load generator is a minimal keep-alive HTTP/1.1 client in this
process; the server is one uvicorn worker. Target: every endpoint >= 0.25 x the requests/s of /healthz, which is
measured at the start, at the end and in a short probe before each endpoint, and averaged. Each row also gives the
server's CPU per request (from /proc), the figure that says where a request's cost goes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.cpu import process_tree_cpu
from bench.ingest import free_port, pg_database, start_server, stop_server, wait_ready
from crm.context import in_session
from ingest.auth.jwt_tokens import new_access
from ingest.auth.users import create_user
from ingest.catalog.seed import seed_catalog
from ingest.core import migrate
from ingest.core.settings import Settings
from warehouse.build import build
from warehouse.seed.mock import CAMPAIGNS, seed_mock
from warehouse.snapshot import Snapshot, current

console = Console(stderr=True, width=150)
SECRET = "bench-secret-key-bench-secret-key-bench-secret"
WINDOW = timedelta(days=365)
TARGET_RATIO = 0.25

ENDPOINTS = [
    "/api/v1/analytics/admissions-2026/by-direction",
    "/api/v1/analytics/admissions-2026/by-track",
    "/api/v1/analytics/polito-academy/by-subject",
    "/api/v1/analytics/admissions-2026/daily?group_by=region",
    "/api/v1/analytics/applications/funnel",
    "/api/v1/analytics/applications/by-region",
    "/api/v1/analytics/bot2/course-year-coverage",
    "/api/v1/analytics/bot2/program-coverage",
    "/api/v1/analytics/bot2/program-course-matrix",
    "/api/v1/analytics/bot2/program-details-by-year",
    "/api/v1/analytics/bot2/enrollments-overview",
    "/api/v1/analytics/bot2/employment",
]


# --- a minimal HTTP/1.1 keep-alive GET client --------------------------------------------------------------------


class Getter:
    """One keep-alive connection; `get` returns (status, body length). Enough for a server that answers with
    Content-Length (uvicorn does for these endpoints)."""

    def __init__(self, port: int, headers: str) -> None:
        self.port = port
        self.headers = headers
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, str]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.headers}\r\n".encode())
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next((int(v.split(":", 1)[1]) for v in lines if v.lower().startswith("content-length:")), 0)
        await self.reader.readexactly(length)
        return status, raw.decode("latin-1")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def load(
    port: int, headers: str, paths: Any, clients: int, seconds: float, expect: int = 200, server: int | None = None
) -> dict[str, Any]:
    """`clients` connections asking `paths()` in a loop for `seconds`; latencies in ms; other statuses are errors.
    With `server` (its pid), also the server's CPU per request: unlike requests/s, it barely moves when other work
    shares the machine."""
    cpu_before = process_tree_cpu(server) if server else 0.0
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        conn = Getter(port, headers)
        try:
            while time.perf_counter() < deadline:
                path = paths()
                started = time.perf_counter()
                status, _ = await conn.get(path)
                latencies.append((time.perf_counter() - started) * 1000)
                if status != expect:
                    errors += 1
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    cpu = process_tree_cpu(server) - cpu_before if server else None
    latencies.sort()
    return {
        "server_us_per_request": round(cpu / len(latencies) * 1e6, 1) if cpu is not None and latencies else None,
        "requests": len(latencies),
        "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 3) if latencies else None,
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 3) if latencies else None,
    }


# --- data --------------------------------------------------------------------------------------------------------


def prepare(url: str, data_dir: Path, scale: str, reuse: bool) -> tuple[Settings, dict[str, float]]:
    """The seeded database and a published snapshot (seeded and built unless `reuse` finds them)."""
    settings = Settings(database_url=url, data_dir=data_dir, env="test", secret_key=SECRET)
    timings: dict[str, float] = {}
    if reuse and current(settings) is not None:
        return settings, timings
    started = time.perf_counter()
    migrate.upgrade(url)
    asyncio.run(in_session(settings, seed_catalog))
    with console.status(f"Seeding {scale} mock data…"):
        seed_mock(url, scale, seed=1, timezone=settings.timezone)
    timings["seed_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    with console.status("Building the marts…"):
        result = build(settings, full=True)
    if result.status != "published":
        raise RuntimeError(f"warehouse build failed: {result.error}")
    timings["build_s"] = round(time.perf_counter() - started, 1)
    return settings, timings


async def viewer_token(settings: Settings) -> str:
    async def work(session: Any) -> Any:
        from sqlalchemy import select

        from ingest.core.schema import User

        user = await session.scalar(select(User).where(User.email == "bench-viewer@example.com"))
        if user is None:
            user = await create_user(
                session, email="bench-viewer@example.com", password="bench-viewer-1", role="viewer"
            )
        return user.id, user.password_hash

    user_id, password_hash = await in_session(settings, work)
    token, _ = new_access(user_id, "viewer", SECRET, password_hash)
    return token


def data_range(snapshot: Snapshot) -> tuple[datetime, datetime]:
    conn = snapshot.duckdb()
    lo, hi = conn.execute(
        "SELECT epoch_us(least(a.lo, s.lo)), epoch_us(greatest(a.hi, s.hi)) FROM "
        "(SELECT min(submitted_at) lo, max(submitted_at) hi FROM fct_applications) a, "
        "(SELECT min(submitted_at) lo, max(submitted_at) hi FROM fct_survey_responses) s"
    ).fetchone()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + timedelta(microseconds=lo), epoch + timedelta(microseconds=hi)


def window_maker(rng: random.Random, lo: datetime, hi: datetime) -> Any:
    """A random 365-day window inside the data (to the microsecond), as a query string."""
    span = max((hi - lo - WINDOW).total_seconds(), 86_400.0)

    def make() -> str:
        start = lo + timedelta(microseconds=rng.randrange(int(span * 1e6)))
        end = start + WINDOW
        return f"from={start.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}&to={end.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}"

    return make


def paths_for(endpoint: str, windows: Any, rng: random.Random) -> Any:
    def make() -> str:
        query = windows()
        if "/bot2/" in endpoint:
            query += f"&campaign={rng.choice(CAMPAIGNS)}"
        if endpoint.endswith("program-details-by-year"):
            query += f"&course_year={rng.randint(1, 5)}"
        sep = "&" if "?" in endpoint else "?"
        return f"{endpoint}{sep}{query}"

    return make


def duckdb_floor(snapshot: Snapshot, windows: Any, seconds: float) -> dict[str, Any]:
    """One DuckDB query over the fact Parquet per request (count by direction in a 365-day window), in a loop."""
    conn = snapshot.duckdb()
    sql = (
        "SELECT direction_id, count(*) FROM fct_applications WHERE kind = 'admissions-2026' "
        "AND submitted_at >= ?::TIMESTAMPTZ AND submitted_at < ?::TIMESTAMPTZ GROUP BY 1"
    )
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        query = windows()
        start, end = (part.split("=", 1)[1] for part in query.split("&"))
        conn.execute(sql, [start, end]).fetchall()
        done += 1
    return {"rps": round(done / (time.perf_counter() - started), 1)}


def server_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


# --- main --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pg-db", default="crm_bench_reports")
    parser.add_argument("--sqlite", type=Path, help="benchmark on this SQLite file instead of Postgres")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/crm-bench-reports"))
    parser.add_argument("--scale", default="xlarge", choices=["small", "medium", "large", "xlarge"])
    parser.add_argument("--reuse", action="store_true", help="reuse the database and snapshot of a previous run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--json", type=Path, help="also write the JSON result here")
    parser.add_argument("--prepare-only", action="store_true", help="seed and build, then stop")
    args = parser.parse_args()

    if args.sqlite:
        url = f"sqlite+aiosqlite:///{args.sqlite}"
    elif args.reuse:
        from sqlalchemy.engine import make_url

        url = (
            make_url(args.pg_url)
            .set(drivername="postgresql+psycopg", database=args.pg_db)
            .render_as_string(hide_password=False)
        )
    else:
        url = pg_database(args.pg_url, args.pg_db)
    if not args.reuse:
        import shutil

        shutil.rmtree(args.data_dir, ignore_errors=True)
    settings, timings = prepare(url, args.data_dir, args.scale, args.reuse)
    if args.prepare_only:
        console.print(f"prepared {url} and {args.data_dir}: {timings}")
        return
    snapshot = current(settings)
    assert snapshot is not None
    token = asyncio.run(viewer_token(settings))
    lo, hi = data_range(snapshot)
    rng = random.Random(7)
    windows = window_maker(rng, lo, hi)

    port = free_port()
    proc = start_server(url, args.data_dir, port, 1, "WARNING")
    results: dict[str, Any] = {}
    try:
        wait_ready(port, proc)
        auth = f"Authorization: Bearer {token}\r\n"

        probes: list[float] = []

        async def run() -> None:
            pid = proc.pid
            results["/healthz (before)"] = await load(
                port, "", lambda: "/healthz", args.clients, args.seconds, server=pid
            )
            for endpoint in ENDPOINTS:
                # A short /healthz probe before each endpoint: on a shared machine the background load drifts during
                # a run, and the ceiling is averaged over the whole run rather than taken at its two ends only.
                probe = await load(port, "", lambda: "/healthz", args.clients, min(args.seconds, 2.0))
                probes.append(probe["rps"])
                paths = paths_for(endpoint, windows, rng)
                # warm-up: the first request of a part builds its per-snapshot index (once per snapshot)
                await load(port, auth, paths, 1, 0.5)
                results[endpoint.removeprefix("/api/v1/analytics")] = await load(
                    port, auth, paths, args.clients, args.seconds, server=pid
                )
            # The floor of any analytics answer: auth (the viewer guard; its user lookup is reused per token for
            # AUTH_CACHE_SECONDS) + parameters + the snapshot check, no computation: a conditional request answered 304.
            fixed = ENDPOINTS[6]
            conn = Getter(port, auth)
            _, head = await conn.get(fixed)
            conn.close()
            etag = next(v.split(":", 1)[1].strip() for v in head.split("\r\n") if v.lower().startswith("etag:"))
            results["auth + snapshot check only (304)"] = await load(
                port, f"{auth}If-None-Match: {etag}\r\n", lambda: fixed, args.clients, args.seconds, 304, pid
            )
            results["/healthz (after)"] = await load(
                port, "", lambda: "/healthz", args.clients, args.seconds, server=pid
            )

        asyncio.run(run())
        rss = server_rss_mb(proc.pid)
    finally:
        stop_server(proc)
    floor = duckdb_floor(snapshot, windows, min(args.seconds, 5.0))

    # The ceiling: /healthz over the whole run (the two full runs at the ends and the probes between endpoints).
    healthz = statistics.mean([results["/healthz (before)"]["rps"], results["/healthz (after)"]["rps"], *probes])
    table = Table(
        "endpoint", "requests", "errors", "req/s", "p50 ms", "p99 ms", "server µs/req", "× /healthz", "target ≥ 0.25"
    )
    for name, r in results.items():
        ratio = r["rps"] / healthz if healthz else 0
        r["ratio"] = round(ratio, 3)
        measured = name.startswith("/") and not name.startswith("/healthz")
        ok = ("✓" if ratio >= TARGET_RATIO and not r["errors"] else "✗") if measured else ""
        table.add_row(
            name,
            str(r["requests"]),
            str(r["errors"]),
            f"{r['rps']:.0f}",
            f"{r['p50_ms']:.2f}",
            f"{r['p99_ms']:.2f}",
            f"{r['server_us_per_request']:.0f}" if r["server_us_per_request"] is not None else "",
            f"{ratio:.2f}",
            ok,
        )
    table.add_row(
        "DuckDB scan of the Parquet per request (in-process)",
        "",
        "",
        f"{floor['rps']:.0f}",
        "",
        "",
        "",
        f"{floor['rps'] / healthz:.2f}",
        "",
    )
    console.print(table)
    console.print(
        f"/healthz over the run (the ratios' base): {healthz:.0f} req/s; probes between endpoints "
        f"{min(probes):.0f}..{max(probes):.0f}"
    )
    console.print(f"server peak RSS {rss} MB; snapshot {snapshot.id}; data {lo:%Y-%m-%d}..{hi:%Y-%m-%d}")
    report = {
        "benchmark": "analytics",
        "database": "sqlite" if args.sqlite else "postgres",
        "scale": args.scale,
        "clients": args.clients,
        "seconds": args.seconds,
        "rows": snapshot.row_counts,
        "prepare": timings,
        "healthz_rps": round(healthz, 1),
        "healthz_probes_rps": probes,
        "duckdb_scan_rps": floor["rps"],
        "server_peak_rss_mb": rss,
        "endpoints": results,
        "all_pass": all(
            r["ratio"] >= TARGET_RATIO and not r["errors"]
            for n, r in results.items()
            if n.startswith("/") and not n.startswith("/healthz")
        ),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
