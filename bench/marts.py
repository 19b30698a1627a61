"""Mart build benchmark (SPEC §13, issue 5): `crm seed mock` time, a full build, and an incremental build after
10,000 new admissions applications, beside the floors measured in the same run on the same data: the extraction
alone (one consistent read of every table through ADBC), a DuckDB scan of every column of the same Parquet marts,
and the server's raw COPY rate for the same application rows into a table without indexes or foreign keys.

    uv run python -m bench.marts --scale xlarge              # dedicated Postgres database crm_bench_marts
    uv run python -m bench.marts --scale small               # proves it works in seconds
    uv run python -m bench.marts --scale xlarge --reuse      # reuse the seeded database (skips the seed)

Targets (issue 5): full build at xlarge <= 30 s; incremental after 10,000 new rows <= 3 s; seed xlarge <= 90 s.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from bench.ingest import pg_database
from crm.context import in_session
from ingest.catalog.seed import seed_catalog
from ingest.core import migrate
from ingest.core.settings import Settings
from warehouse.build import build
from warehouse.extract import open_source
from warehouse.seed.bulk_load import open_loader
from warehouse.seed.mock import Gen
from warehouse.snapshot import Snapshot, current, scan
from warehouse.staging import SOURCES

console = Console(stderr=True, width=140)
DATABASE = "crm_bench_marts"
NEW_ROWS = 10_000
TARGETS = {"full_build_s": 30.0, "incremental_build_s": 3.0, "seed_s": 90.0}


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def seed(url: str, scale: str, data_dir: Path) -> tuple[float, float | None]:
    """`crm seed mock` as a user runs it (a subprocess): wall-clock seconds (with the CLI's start-up and the catalog
    seed), and the load's own seconds as the command reports them."""
    env = {**os.environ, "CRM_DATABASE_URL": url, "CRM_DATA_DIR": str(data_dir), "CRM_ENV": "test", "COLUMNS": "200"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "crm", "seed", "mock", "--scale", scale, "--seed", "1"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    found = re.search(r"rows in ([0-9.]+) s", done.stdout)
    return wall, float(found.group(1)) if found else None


def steady_state(url: str) -> None:
    """VACUUM ANALYZE after the bulk load (not timed): the visibility map and statistics autovacuum would leave a
    live database with, so counts can use index-only scans."""
    if make_url(url).get_backend_name() != "postgresql":
        return
    with console.status("VACUUM ANALYZE…"), psycopg.connect(libpq(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def extraction_alone(url: str) -> tuple[float, int]:
    """Seconds to read every staged table whole in one transaction (what a full build starts with), and rows."""
    started = time.perf_counter()
    rows = 0
    with open_source(url) as src:
        src.counts()
        for table in SOURCES.values():
            rows += src.read(table).height
    return time.perf_counter() - started, rows


def duckdb_scan(snapshot: Snapshot) -> tuple[float, int]:
    """Seconds for DuckDB to read every column of every mart file of the snapshot (the scan floor)."""
    con = duckdb.connect()
    started = time.perf_counter()
    rows = 0
    for path in snapshot.files.values():
        # hash() touches every value of every column (min/max could be answered from the row-group statistics)
        sql = f"SELECT count(*), sum(hash(COLUMNS(*))) FROM read_parquet('{scan(path)}')"
        n, *_ = con.execute(sql).fetchone()  # type: ignore[misc]
        rows += int(n)
    return time.perf_counter() - started, rows


def copy_floor(url: str) -> tuple[float, int]:
    """The admissions rows COPYed back into a plain table (no indexes, no FKs) in the binary format the mock load
    uses: rows/s of the server's COPY."""
    buf = io.BytesIO()
    with psycopg.connect(libpq(url)) as conn:
        with conn.cursor().copy("COPY bot1_admissions_2026 TO STDOUT (FORMAT binary)") as out:
            for chunk in out:
                buf.write(chunk)
        conn.execute("DROP TABLE IF EXISTS bench_copy_floor")
        conn.execute("CREATE TABLE bench_copy_floor (LIKE bot1_admissions_2026)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor().copy("COPY bench_copy_floor FROM STDIN (FORMAT binary)") as into:
            into.write(buf.getbuffer())
        conn.commit()
        elapsed = time.perf_counter() - started
        rows = conn.execute("SELECT count(*) FROM bench_copy_floor").fetchone()[0]  # type: ignore[index]
        conn.execute("DROP TABLE bench_copy_floor")
        conn.commit()
    return rows / elapsed, rows


def add_applications(url: str, n: int, since: datetime) -> None:
    """n new submitted admissions applications by existing applicants, submitted after `since` (the previous
    build) and stamped now: what arrives between two builds of the worker."""
    g = Gen(time.time_ns() % 2**32)  # fresh ids on every run (the bench can be re-run on the same database)
    now = datetime.now(UTC)
    span = max(int((now - since).total_seconds() * 1_000_000), n)
    with open_loader(url) as ld:
        applicants = [str(r[0]) for r in ld.rows(f"SELECT id FROM bot1_applicant LIMIT {n}")]
        directions = [str(r[0]) for r in ld.rows("SELECT id FROM catalog_item WHERE type = 'direction'")]
        if ld.dialect == "sqlite":  # ids as stored → canonical
            applicants = [f"{i[:8]}-{i[8:12]}-{i[12:16]}-{i[16:20]}-{i[20:]}" for i in applicants]
            directions = [f"{i[:8]}-{i[8:12]}-{i[12:16]}-{i[16:20]}-{i[20:]}" for i in directions]
        submitted = pl.Series([now - timedelta(microseconds=int(m)) for m in g.rng.integers(0, span, size=n)])
        frame = pl.DataFrame(
            {
                "id": g.uuids(n),
                "created_at": submitted,
                "updated_at": pl.repeat(now, n, eager=True),
                "applicant_id": pl.Series(applicants).gather(g.index(len(applicants), n)),
                "status": pl.repeat("submitted", n, eager=True),
                "submitted_at": submitted,
                "answers": pl.repeat('{"score": 80}', n, eager=True),
                "direction_id": pl.Series(directions).gather(g.index(len(directions), n)),
                "track_id": pl.repeat(None, n, eager=True, dtype=pl.String),
            }
        )
        ld.load("bot1_admissions_2026", frame)


def measure(url: str, scale: str, data_dir: Path, reuse: bool) -> dict[str, Any]:
    settings = Settings(database_url=url, data_dir=data_dir, env="test", secret_key="bench-" * 8)
    figures: dict[str, Any] = {"scale": scale, "database": make_url(url).render_as_string(hide_password=True)}
    if not reuse:
        migrate.upgrade(url)
        asyncio.run(in_session(settings, seed_catalog))
        with console.status(f"crm seed mock --scale {scale}…"):
            wall, load = seed(url, scale, data_dir)
        figures |= {"seed_s": round(wall, 2), "seed_load_s": load}
        steady_state(url)
    with console.status("extraction alone…"):
        seconds, rows = extraction_alone(url)
    figures |= {"extract_only_s": round(seconds, 2), "extracted_rows": rows}
    with console.status("full build…"):
        full = build(settings, full=True)
    assert full.status == "published", full.error
    figures |= {"full_build_s": full.seconds, "full_timings": full.timings, "row_counts": full.row_counts}
    snapshot = current(settings)
    assert snapshot is not None
    with console.status("DuckDB scan of the marts…"):
        seconds, rows = duckdb_scan(snapshot)
    figures |= {"duckdb_scan_all_marts_s": round(seconds, 2), "mart_rows": rows}
    add_applications(url, NEW_ROWS, since=snapshot.built_at)
    with console.status(f"incremental build after {NEW_ROWS:,} new rows…"):
        incremental = build(settings)
    assert incremental.status == "published" and not incremental.full, incremental
    figures |= {
        "incremental_build_s": incremental.seconds,
        "incremental_timings": incremental.timings,
        "incremental_rebuilt": incremental.rebuilt,
    }
    if make_url(url).get_backend_name() == "postgresql":
        with console.status("COPY floor…"):
            rate, rows = copy_floor(url)
        figures |= {"copy_floor_rows_per_s": round(rate), "copy_floor_rows": rows}
    return figures


def report(figures: dict[str, Any]) -> None:
    table = Table(title=f"mart build at {figures['scale']} ({figures['database']})")
    table.add_column("figure")
    table.add_column("seconds", justify="right")
    table.add_column("target / floor")
    if "seed_s" in figures:
        floor = figures.get("copy_floor_rows_per_s")
        note = f"≤ {TARGETS['seed_s']:.0f} s; COPY floor {floor:,} rows/s (no indexes/FKs)" if floor else ""
        table.add_row("crm seed mock (wall)", f"{figures['seed_s']:.2f}", note)
        table.add_row("  of which the load", f"{figures['seed_load_s'] or 0:.2f}", "generate + COPY + indexes + FKs")
    table.add_row("extraction alone", f"{figures['extract_only_s']:.2f}", f"{figures['extracted_rows']:,} rows")
    table.add_row("full build", f"{figures['full_build_s']:.2f}", f"≤ {TARGETS['full_build_s']:.0f} s")
    table.add_row(
        f"incremental (+{NEW_ROWS:,} rows)",
        f"{figures['incremental_build_s']:.2f}",
        f"≤ {TARGETS['incremental_build_s']:.0f} s",
    )
    table.add_row(
        "DuckDB scan of all marts", f"{figures['duckdb_scan_all_marts_s']:.2f}", f"{figures['mart_rows']:,} rows"
    )
    console.print(table)
    console.print("full build:", figures["full_timings"])
    console.print("incremental:", figures["incremental_timings"], "rebuilt:", figures["incremental_rebuilt"])
    print(json.dumps(figures, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="xlarge", choices=["small", "medium", "large", "xlarge"])
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("CRM_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
        help="a Postgres server (its database is not touched: the bench creates its own)",
    )
    parser.add_argument("--sqlite", action="store_true", help="use a SQLite file instead of Postgres")
    parser.add_argument("--reuse", action="store_true", help="keep the seeded database of a previous run")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/crm-bench-marts"))
    args = parser.parse_args()
    data_dir: Path = args.data_dir / args.scale
    if args.sqlite:
        path = data_dir / "crm.sqlite3"
        if not args.reuse and path.exists():
            path.unlink()
        url = f"sqlite+aiosqlite:///{path}"
    elif args.reuse:
        url = make_url(args.pg_url).set(database=f"{DATABASE}_{args.scale}").render_as_string(hide_password=False)
    else:
        url = pg_database(args.pg_url, f"{DATABASE}_{args.scale}")
    data_dir.mkdir(parents=True, exist_ok=True)
    report(measure(url, args.scale, data_dir, args.reuse))


if __name__ == "__main__":
    main()
