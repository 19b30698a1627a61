"""Roster import benchmark (SPEC §6/§13, issue 4): N generated roster rows (CSV) imported, re-imported unchanged and
re-imported with every row changed, through the same code path as the API and `crm roster import` (read_roster_file
→ import_rows in one transaction), on Postgres and SQLite. Each figure stands beside a floor measured in the same
run: a raw bulk load of the same rows into a scratch table shaped like the roster (Postgres `COPY`, SQLite
`executemany` in one transaction), plus bench.floors' generic COPY/bulk rate.

    uv run python -m bench.roster_import                      # 100,000 rows, both databases
    uv run python -m bench.roster_import --rows 10000 --db sqlite

Postgres uses a dedicated database (`--pg-db`, dropped and recreated) on the server of `--pg-url`; SQLite a file in a
temporary folder. Prints a table, then one JSON object (also written to `--json` when given).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import random
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.floors import measure_floors
from crm.context import in_session
from ingest.catalog.seed import seed_catalog
from ingest.core import migrate
from ingest.core.schema import CatalogItem
from ingest.core.settings import Settings
from ingest.roster.file import read_roster_file
from ingest.roster.importer import import_rows
from ingest.roster.result import ImportResult

console = Console(stderr=True)
FIRST = ["Aziz", "Dilnoza", "Bekzod", "Nodira", "Jasur", "Malika", "Otabek", "Sevara", "Sardor", "Zarina"]
LAST = ["Karimov", "Usmonova", "Rashidov", "Tursunova", "Aliyev", "Yusupova", "Qodirov", "Ergasheva"]
COLUMNS = "student_external_id;program;kurs;first_name;last_name;tug'ilgan sana;campaign"


def generate_csv(rows: int, codes: list[str], seed: int, year_shift: int = 0) -> bytes:
    """Semicolon CSV with a BOM, as Excel writes it: id, program code, course year, names, birth date, campaign."""
    rng = random.Random(seed)
    out = io.StringIO()
    out.write("\ufeff" + COLUMNS + "\n")
    born = date(1998, 1, 1)
    for i in range(rows):
        year = (rng.randrange(5) + year_shift) % 5 + 1
        birth = born + timedelta(days=rng.randrange(3650))
        out.write(
            f"ST{i:07d};{rng.choice(codes)};{year};{rng.choice(FIRST)};{rng.choice(LAST)};{birth:%d.%m.%Y};default\n"
        )
    return out.getvalue().encode()


# --- databases ---------------------------------------------------------------------------------------------------


def prepare_postgres(base_url: str, name: str) -> str:
    base = make_url(base_url)
    admin_dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def drop_postgres(base_url: str, name: str) -> None:
    admin_dsn = make_url(base_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _program_codes(session: Any) -> list[str]:
    await seed_catalog(session)
    return list(await session.scalars(select(CatalogItem.code).where(CatalogItem.type == "program")))


async def _program_ids(session: Any) -> list[uuid.UUID]:
    return list(await session.scalars(select(CatalogItem.id).where(CatalogItem.type == "program")))


# --- floors: the same rows, bulk-loaded raw ----------------------------------------------------------------------


def _raw_rows(rows: int, program_ids: list[uuid.UUID], seed: int) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    born = date(1998, 1, 1)
    return [
        (
            uuid.uuid4(),
            f"ST{i:07d}",
            "default",
            rng.choice(program_ids),
            rng.randrange(5) + 1,
            True,
            rng.choice(FIRST),
            rng.choice(LAST),
            born + timedelta(days=rng.randrange(3650)),
            "{}",
            now,
            now,
        )
        for i in range(rows)
    ]


_FLOOR_COLUMNS = (
    "id, student_external_id, roster_campaign, program_id, course_year, is_active, first_name, last_name, "
    "birth_date, metadata, created_at, updated_at"
)


def pg_same_rows_copy(url: str, raw: list[tuple[Any, ...]]) -> float:
    """Seconds to COPY the rows into a scratch table with the roster's columns, defaults and indexes."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    text = "".join(
        "\t".join("t" if v is True else v.isoformat() if isinstance(v, date) else str(v) for v in row) + "\n"
        for row in raw
    ).encode()
    with psycopg.connect(dsn) as conn:
        conn.execute("CREATE TABLE roster_floor (LIKE bot2_roster INCLUDING DEFAULTS INCLUDING INDEXES)")
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy(f"COPY roster_floor ({_FLOOR_COLUMNS}) FROM STDIN") as copy:
            for i in range(0, len(text), 1 << 20):
                copy.write(text[i : i + (1 << 20)])
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE roster_floor")
        conn.commit()
    return elapsed


def sqlite_same_rows_insert(path: str, raw: list[tuple[Any, ...]]) -> float:
    """Seconds to executemany the rows into a scratch copy of the roster table in one transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE roster_floor AS SELECT * FROM bot2_roster WHERE 0")
    conn.execute("CREATE UNIQUE INDEX roster_floor_ext ON roster_floor (student_external_id)")
    rows = [
        (
            r[0].hex,
            r[1],
            r[2],
            r[3].hex,
            r[4],
            1,
            r[6],
            r[7],
            r[8].isoformat(),
            r[9],
            r[10].isoformat(),
            r[11].isoformat(),
        )
        for r in raw
    ]
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(f"INSERT INTO roster_floor ({_FLOOR_COLUMNS}) VALUES ({', '.join('?' * 12)})", rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.execute("DROP TABLE roster_floor")
    conn.close()
    return elapsed


# --- the runs ----------------------------------------------------------------------------------------------------


def timed_import(settings: Settings, data: bytes) -> tuple[float, float, ImportResult]:
    """(seconds reading the file, seconds for read + validate + upsert + commit, the answer)."""
    started = time.perf_counter()
    rows = read_roster_file(data, "roster.csv")
    parsed_at = time.perf_counter()
    result = asyncio.run(in_session(settings, lambda s: import_rows(s, rows)))
    return parsed_at - started, time.perf_counter() - started, result


def bench_backend(backend: str, url: str, rows: int, seed: int) -> dict[str, Any]:
    settings = Settings(database_url=url, env="test", secret_key="bench-" + "x" * 40)
    migrate.upgrade(url)
    codes = asyncio.run(in_session(settings, _program_codes))
    first = generate_csv(rows, codes, seed)
    changed = generate_csv(rows, codes, seed, year_shift=1)
    runs: list[dict[str, Any]] = []
    for label, data in (
        ("import (all new)", first),
        ("re-import (unchanged)", first),
        ("re-import (all changed)", changed),
    ):
        console.print(f"[dim]{backend}: {label}…[/]")
        read_s, total_s, result = timed_import(settings, data)
        runs.append(
            {
                "run": label,
                "seconds": round(total_s, 3),
                "read_file_seconds": round(read_s, 3),
                "rows_per_s": round(rows / total_s),
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "errors": result.error_count,
            }
        )
    program_ids = asyncio.run(in_session(settings, _program_ids))
    raw = _raw_rows(rows, program_ids, seed)
    if backend == "postgresql":
        floor_s, floor_method = pg_same_rows_copy(url, raw), "COPY of the same rows (psycopg)"
    else:
        floor_s = sqlite_same_rows_insert(make_url(url).database or "", raw)
        floor_method = "executemany of the same rows, one transaction"
    generic = measure_floors(migrate_url(url), seconds=2.0, bulk_rows=rows)
    return {
        "backend": backend,
        "rows": rows,
        "csv_bytes": len(first),
        "runs": runs,
        "floor": {"seconds": round(floor_s, 3), "method": floor_method},
        "generic_floors": generic.as_dict(),
    }


def migrate_url(url: str) -> str:
    """bench.floors takes the same SQLAlchemy URLs as migrations (sync drivers)."""
    u = make_url(url)
    return u.set(drivername="sqlite" if u.get_backend_name() == "sqlite" else "postgresql+psycopg").render_as_string(
        hide_password=False
    )


def print_table(results: list[dict[str, Any]]) -> None:
    table = Table("database", "run", "rows", "seconds", "rows/s", "of which reading", "floor s (same rows)", "× floor")
    for res in results:
        for run in res["runs"]:
            table.add_row(
                res["backend"],
                run["run"],
                f"{res['rows']:,}",
                f"{run['seconds']:.2f}",
                f"{run['rows_per_s']:,}",
                f"{run['read_file_seconds']:.2f}",
                f"{res['floor']['seconds']:.2f}",
                f"{run['seconds'] / res['floor']['seconds']:.1f}",
            )
    Console(width=160).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pg-db", default="crm_bench_roster")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = []
    if args.db in ("postgres", "both"):
        url = prepare_postgres(args.pg_url, args.pg_db)
        try:
            results.append(bench_backend("postgresql", url, args.rows, args.seed))
        finally:
            drop_postgres(args.pg_url, args.pg_db)
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'roster.sqlite3'}"
            results.append(bench_backend("sqlite", url, args.rows, args.seed))
    print_table(results)
    doc = {"benchmark": "roster_import", "at": datetime.now(UTC).isoformat(), "results": results}
    print(json.dumps(doc, indent=2))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
