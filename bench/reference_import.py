"""Reference import benchmark (issue 14): a generated reference database (tests/reference_db.py: its DDL from
RS §2, `generated` rows) with N admissions applications and N survey responses (plus N/4 applicants, N/2 roster rows
and students, the catalog) moved by `crm import reference` into a fresh, migrated store; then a re-run (nothing
changes). Postgres -> Postgres, or a SQLite reference file into a SQLite store. The floor, measured in the same run:
a bulk load of the same moved rows (the two big tables as the import wrote them) into empty, index-free copies of
their tables (binary COPY on Postgres, one executemany per table on SQLite).

    uv run python -m bench.reference_import --rows 20000
    uv run python -m bench.reference_import --rows 20000 --backend sqlite
    uv run python -m bench.reference_import --rows 1000000      # the issue's scale: minutes, run on a quiet machine

Prints a table, then one JSON object (also written to `--json` when given).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from crm.reference_import.run import run_import
from crm.reference_import.target import Target
from ingest.core import migrate
from tests.reference_db import RefDB, create_postgres, create_sqlite, generated, write_frames
from warehouse.seed import pg_binary
from warehouse.seed.bulk_load import sqlite_values

console = Console(stderr=True)
BIG = ("bot1_admissions_2026", "bot2_survey_response")


def _dsn(base: str, name: str) -> str:
    return make_url(base).set(drivername="postgresql", database=name).render_as_string(hide_password=False)


def recreate(base: str, name: str) -> str:
    with psycopg.connect(_dsn(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return _dsn(base, name)


def drop(base: str, name: str) -> None:
    with psycopg.connect(_dsn(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_floor(target_url: str) -> float:
    """Seconds to bulk load the two big tables' moved rows (as the import loads them) into empty copies of them."""
    with Target(target_url).open() as target:
        conn = target.loader.conn
        frames = {t: target.read(t) for t in BIG}
        started = time.perf_counter()
        for table, df in frames.items():
            if target.dialect == "sqlite":
                conn.execute(f"CREATE TEMP TABLE floor_{table} AS SELECT * FROM {table} WHERE 0")
                marks = ", ".join("?" * df.width)
                sql = f"INSERT INTO floor_{table} ({', '.join(df.columns)}) VALUES ({marks})"
                conn.executemany(sql, sqlite_values(df).iter_rows())
                continue
            conn.execute(f"CREATE TEMP TABLE floor_{table} (LIKE {table})")
            types = pg_binary.column_types(table, df.columns)
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY floor_{table} ({', '.join(df.columns)}) FROM STDIN (FORMAT binary)") as cp,
            ):
                cp.write(pg_binary.SIGNATURE)
                cp.write(pg_binary.rows(df, types))
                cp.write(pg_binary.TRAILER)
        elapsed = time.perf_counter() - started
        if target.dialect == "postgresql":
            conn.rollback()
        else:
            conn.execute("ROLLBACK")
            conn.execute("BEGIN IMMEDIATE")  # open_loader ends the transaction it began
    return elapsed


def _sources(args: argparse.Namespace, workdir: Path) -> tuple[str, str, float]:
    """(reference source, migrated empty target URL, seconds to generate the reference)."""
    started = time.perf_counter()
    if args.backend == "sqlite":
        ref_path, target_path = workdir / "reference.sqlite3", workdir / "crm.sqlite3"
        _fill(create_sqlite(str(ref_path)), args.rows)
        generated_s = time.perf_counter() - started
        target_url = f"sqlite:///{target_path}"
        migrate.upgrade(target_url)
        return str(ref_path), target_url, generated_s
    ref = recreate(args.pg_url, REF_DB)
    _fill(create_postgres(ref), args.rows)
    generated_s = time.perf_counter() - started
    target = make_url(recreate(args.pg_url, TARGET_DB)).set(drivername="postgresql+psycopg")
    target_url = target.render_as_string(hide_password=False)
    migrate.upgrade(target_url)
    return ref, target_url, generated_s


REF_DB, TARGET_DB = "bench_reference_src", "bench_reference_dst"


def _fill(db: RefDB, rows: int) -> None:
    write_frames(db, generated(rows))
    db.conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="applications and survey responses (each)")
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-reference-") as tmp:
        ref, target_url, generated_s = _sources(args, Path(tmp))
        started = time.perf_counter()
        first = run_import(ref, target_url)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = run_import(ref, target_url)
        again_s = time.perf_counter() - started
        floor_s = copy_floor(target_url)
    if args.backend == "postgresql":
        drop(args.pg_url, REF_DB)
        drop(args.pg_url, TARGET_DB)
    moved = sum(r.inserted for r in first.tables)
    result = {
        "backend": args.backend,
        "rows": args.rows,
        "generate_s": round(generated_s, 2),
        "import_s": round(first_s, 2),
        "import_rows": moved,
        "import_rows_per_s": round(moved / first_s),
        "rerun_s": round(again_s, 2),
        "rerun_written": sum(r.written for r in again.tables),
        "floor_copy_big_tables_s": round(floor_s, 2),
        "floor_copy_rows_per_s": round(2 * args.rows / floor_s),
    }
    title = f"reference import, {args.backend} → {args.backend}, {args.rows:,} + {args.rows:,} rows"
    table = Table("figure", "value", title=title)
    for key, value in result.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
