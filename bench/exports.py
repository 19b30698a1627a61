"""Exports benchmark (SPEC §13, issue 6): seconds and peak RSS to export 1,000,000 rows in each format, beside the
physical floors measured in the same run (DuckDB's own COPY of the same SELECT to CSV / Parquet, and reading the
Parquet source once).

    uv run python -m bench.exports                      # reuses bench.analytics' xlarge database and snapshot
    uv run python -m bench.exports --formats csv,parquet --http

Each export runs in a fresh child process through the same code as the API (`reports.exports.routes.export_chunks`), so
its peak RSS (`ru_maxrss`) is the export's alone plus the interpreter and libraries (a child that only imports them
is measured too). `--http` also downloads through `crm serve` and reports the server's peak RSS. Targets: CSV and
Parquet peak RSS <= 300 MB, CSV <= 5 s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console(stderr=True, width=150)

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from ingest.core.settings import Settings
from reports.exports.datasets import Filters, dataset_of
from reports.exports.routes import export_chunks
from warehouse.snapshot import current
imported = time.perf_counter()
settings = Settings(data_dir=Path(sys.argv[1]))
fmt, name, out = sys.argv[2], sys.argv[3], Path(sys.argv[4])
written = 0
if fmt != "none":
    snapshot = current(settings)
    with out.open("wb") as fh:
        for chunk in export_chunks(snapshot, dataset_of(name), Filters(), fmt, settings.tz):
            fh.write(chunk)
            written += len(chunk)
print(json.dumps({
    "seconds": round(time.perf_counter() - imported, 3),
    "import_seconds": round(imported - started, 3),
    "bytes": written,
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
}))
"""


def child_export(data_dir: Path, fmt: str, dataset: str, out: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(data_dir), fmt, dataset, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def duckdb_floors(data_dir: Path, dataset: str, tmp: Path) -> dict[str, float]:
    """DuckDB writing the same SELECT itself (C++ end to end), and one scan of the Parquet source."""
    from ingest.core.settings import Settings
    from reports.exports.datasets import Filters, dataset_of, query
    from warehouse.snapshot import current

    settings = Settings(data_dir=data_dir)
    snapshot = current(settings)
    assert snapshot is not None
    sql, params = query(dataset_of(dataset), Filters(), settings.tz)
    conn = snapshot.duckdb()
    conn.execute("SET threads = 2")
    floors = {}
    for fmt, options in (("csv", "(HEADER)"), ("parquet", "(FORMAT parquet, COMPRESSION zstd)")):
        started = time.perf_counter()
        conn.execute(f"COPY ({sql}) TO '{tmp / f'floor.{fmt}'}' {options}", params)
        floors[f"duckdb_copy_{fmt}_s"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchall()
    floors["duckdb_scan_s"] = round(time.perf_counter() - started, 3)
    floors["rows"] = conn.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]
    return floors


def http_exports(url: str, data_dir: Path, dataset: str, formats: list[str]) -> dict[str, Any]:
    """Download through `crm serve`: seconds per format and the server's peak RSS (VmHWM) over all of them."""
    import asyncio

    import httpx

    from bench.analytics import server_rss_mb, viewer_token
    from bench.ingest import free_port, start_server, stop_server, wait_ready
    from ingest.core.settings import Settings

    settings = Settings(
        database_url=url, data_dir=data_dir, env="test", secret_key="bench-secret-key-bench-secret-key-bench-secret"
    )
    token = asyncio.run(viewer_token(settings))
    port = free_port()
    proc = start_server(url, data_dir, port, 1, "WARNING")
    out: dict[str, Any] = {}
    try:
        wait_ready(port, proc)
        out["server_rss_before_mb"] = server_rss_mb(proc.pid)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            for fmt in formats:
                started, size = time.perf_counter(), 0
                with client.stream(
                    "GET", f"/api/v1/exports/{dataset}.{fmt}", headers={"Authorization": f"Bearer {token}"}
                ) as response:
                    response.raise_for_status()
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                out[fmt] = {"seconds": round(time.perf_counter() - started, 3), "bytes": size}
        out["server_peak_rss_mb"] = server_rss_mb(proc.pid)
    finally:
        stop_server(proc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/crm-bench-reports"))
    parser.add_argument(
        "--pg-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench_reports",
        help="the database of the snapshot (only --http needs it: logins)",
    )
    parser.add_argument("--dataset", default="survey-responses")
    parser.add_argument("--formats", default="csv,parquet,xlsx")
    parser.add_argument("--http", action="store_true", help="also download through crm serve")
    parser.add_argument("--tmp", type=Path, default=Path("/tmp/crm-bench-exports"))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    formats = [f for f in args.formats.split(",") if f]
    args.tmp.mkdir(parents=True, exist_ok=True)

    baseline = child_export(args.data_dir, "none", args.dataset, args.tmp / "none")
    results: dict[str, Any] = {}
    for fmt in formats:
        with console.status(f"Exporting {args.dataset} as {fmt}…"):
            results[fmt] = child_export(args.data_dir, fmt, args.dataset, args.tmp / f"export.{fmt}")
    floors = duckdb_floors(args.data_dir, args.dataset, args.tmp)
    http = (
        http_exports(args.pg_url, args.data_dir, args.dataset, [f for f in formats if f != "xlsx"])
        if args.http
        else None
    )

    table = Table("format", "rows", "seconds", "MB written", "peak RSS MB", "floor (DuckDB COPY) s", "target")
    for fmt, r in results.items():
        floor = floors.get(f"duckdb_copy_{fmt}_s")
        target = ""
        if fmt == "csv":
            target = "✓" if r["seconds"] <= 5 and r["peak_rss_mb"] <= 300 else "✗"
        elif fmt == "parquet":
            target = "✓" if r["peak_rss_mb"] <= 300 else "✗"
        table.add_row(
            fmt,
            str(floors["rows"]),
            f"{r['seconds']:.2f}",
            f"{r['bytes'] / 2**20:.1f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{floor:.2f}" if floor is not None else "-",
            target,
        )
    console.print(table)
    console.print(
        f"interpreter + libraries alone: {baseline['peak_rss_mb']:.0f} MB; DuckDB scan of the source "
        f"{floors['duckdb_scan_s']:.2f} s" + (f"; over HTTP: {http}" if http else "")
    )
    report = {
        "benchmark": "exports",
        "dataset": args.dataset,
        "rows": floors["rows"],
        "baseline": baseline,
        "formats": results,
        "floors": floors,
        "http": http,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
