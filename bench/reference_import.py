"""Reference import benchmark (issue 14): a generated reference database on Postgres (tests/reference_db.py's DDL
from RS §2) with N admissions applications and N survey responses (plus N/4 applicants, N/2 roster rows and
students, the catalog) moved by `crm import reference` into a fresh, migrated Postgres store; then a re-run (nothing
changes). The floor, measured in the same run: a binary COPY of the same moved rows (the two big tables as the import
wrote them) into empty copies of their tables.

    uv run python -m bench.reference_import --rows 20000
    uv run python -m bench.reference_import --rows 1000000      # the issue's scale: minutes, run on a quiet machine

Prints a table, then one JSON object (also written to `--json` when given).
"""

from __future__ import annotations

import argparse
import io
import json
import time
import uuid
from pathlib import Path

import numpy as np
import polars as pl
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from crm.reference_import.run import run_import
from crm.reference_import.target import Target
from ingest.core import migrate
from tests.reference_db import ddl
from warehouse.seed import pg_binary

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


def _uuids(n: int, rng: np.random.Generator) -> pl.Series:
    return pl.Series([str(uuid.UUID(bytes=b.tobytes(), version=4)) for b in rng.integers(0, 256, (n, 16), np.uint8)])


def _copy(conn: psycopg.Connection, table: str, df: pl.DataFrame) -> None:
    buf = io.BytesIO()
    df.write_csv(buf, include_header=False, null_value="\\N", datetime_format="%Y-%m-%d %H:%M:%S%.6f+00")
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY {table} ({', '.join(df.columns)}) FROM STDIN (FORMAT csv, NULL '\\N')") as cp,
    ):
        cp.write(buf.getvalue())


def generate(dsn: str, rows: int, seed: int = 7) -> None:
    """The reference's tables filled with `rows` applications and `rows` survey responses."""
    rng = np.random.default_rng(seed)
    t0 = pl.datetime(2025, 9, 1, time_zone="UTC")
    with psycopg.connect(dsn) as conn:
        for statement in ddl("postgresql"):
            conn.execute(statement)
        catalog = pl.DataFrame({"id": _uuids(12, rng), "type": ["direction"] * 4 + ["track"] * 2 + ["program"] * 6})
        catalog = catalog.with_columns(
            code=pl.format("C-{}", pl.int_range(12)), name=pl.lit("item"), created_at=t0, updated_at=t0,
            is_active=True, sort_order=0, metadata=pl.lit('{"name_en": "item"}'),
        )  # fmt: skip
        _copy(conn, "catalog_catalogitem", catalog)
        dirs, tracks, programs = catalog["id"][:4], catalog["id"][4:6], catalog["id"][6:]
        n_app, n_st = max(rows // 4, 1), max(rows // 2, 1)
        app = pl.DataFrame({"id": _uuids(n_app, rng), "telegram_user_id": np.arange(n_app) + 10_000})
        app = app.with_columns(
            created_at=t0, updated_at=t0, username=pl.lit(""), first_name=pl.lit("A"), last_name=pl.lit(""),
            phone=pl.lit(""), email=pl.lit(""),
        )  # fmt: skip
        _copy(conn, "bot1_bot1applicant", app)
        when = t0 + pl.duration(seconds=pl.Series(rng.integers(0, 250 * 86_400, rows)))
        adm = pl.DataFrame({"id": _uuids(rows, rng)}).with_columns(
            applicant_id=app["id"].gather(rng.integers(0, n_app, rows)),
            direction_id=dirs.gather(rng.integers(0, 4, rows)),
            track_id=tracks.gather(rng.integers(0, 2, rows)),
            status=pl.lit("submitted"), answers=pl.lit("{}"), submitted_at=when, created_at=when, updated_at=when,
        )  # fmt: skip
        _copy(conn, "bot1_admissions2026application", adm)
        prog = programs.gather(rng.integers(0, 6, n_st))
        year = pl.Series(rng.integers(1, 5, n_st))
        roster = pl.DataFrame({"id": _uuids(n_st, rng)}).with_columns(
            student_external_id=pl.format("st{}", pl.int_range(n_st)), roster_campaign=pl.lit("default"),
            program_id=prog, course_year=year, is_active=True, metadata=pl.lit("{}"), created_at=t0, updated_at=t0,
        )  # fmt: skip
        _copy(conn, "bot2_studentroster", roster)
        students = roster.select("student_external_id", roster_id="id").with_columns(
            id=_uuids(n_st, rng), username=pl.lit(""), first_name=pl.lit("S"), last_name=pl.lit(""),
            gender=pl.lit("unspecified"), phone=pl.lit(""), created_at=t0, updated_at=t0,
        )  # fmt: skip
        _copy(conn, "bot2_bot2student", students)
        who = pl.Series(rng.integers(0, n_st, rows))
        surveys = pl.DataFrame({"id": _uuids(rows, rng)}).with_columns(
            student_id=students["id"].gather(who), roster_id=roster["id"].gather(who),
            program_id=prog.gather(who), course_year=year.gather(who), survey_campaign=pl.lit("default"),
            employment_status=pl.Series(rng.choice(["employed", "unemployed"], rows)), employment_company=pl.lit(""),
            employment_role=pl.lit(""), suggestions=pl.lit(""), consents=pl.lit("{}"),
            answers=pl.lit('{"course_year": 1}'), submitted_at=when, created_at=when, updated_at=when,
        )  # fmt: skip
        _copy(conn, "bot2_bot2surveyresponse", surveys)


def copy_floor(target_url: str) -> float:
    """Seconds to COPY (binary, as the import does) the two big tables' moved rows into empty copies of them."""
    with Target(target_url).open() as target:
        conn = target.loader.conn
        frames = {t: target.read(t) for t in BIG}
        started = time.perf_counter()
        for table, df in frames.items():
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
        conn.rollback()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="applications and survey responses (each)")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ref_name, target_name = "bench_reference_src", "bench_reference_dst"
    ref = recreate(args.pg_url, ref_name)
    started = time.perf_counter()
    generate(ref, args.rows)
    generated = time.perf_counter() - started
    target = make_url(recreate(args.pg_url, target_name)).set(drivername="postgresql+psycopg")
    target_url = target.render_as_string(hide_password=False)
    migrate.upgrade(target_url)
    started = time.perf_counter()
    first = run_import(ref, target_url)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    again = run_import(ref, target_url)
    again_s = time.perf_counter() - started
    floor_s = copy_floor(target_url)
    moved = sum(r.inserted for r in first.tables)
    result = {
        "rows": args.rows,
        "generate_s": round(generated, 2),
        "import_s": round(first_s, 2),
        "import_rows": moved,
        "import_rows_per_s": round(moved / first_s),
        "rerun_s": round(again_s, 2),
        "rerun_written": sum(r.written for r in again.tables),
        "floor_copy_big_tables_s": round(floor_s, 2),
        "floor_copy_rows_per_s": round(2 * args.rows / floor_s),
    }
    table = Table("figure", "value", title=f"reference import, Postgres → Postgres, {args.rows:,} + {args.rows:,} rows")
    for key, value in result.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    drop(args.pg_url, ref_name)
    drop(args.pg_url, target_name)


if __name__ == "__main__":
    main()
