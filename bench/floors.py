"""Physical floors of a database, measured in the same run as a benchmark (SPEC §13): the raw single-row INSERT rate
(each row its own transaction, from `clients` concurrent connections) and the bulk COPY rate.

Postgres: single-row INSERTs through `pgbench` (a C client, so the figure is the server's, not Python's) when it is
installed, else through psycopg; COPY through psycopg's `COPY ... FROM STDIN`. SQLite has one writer and no COPY:
single-row INSERT = one committed INSERT at a time on one connection (the app's pragmas), bulk = `executemany` in
one transaction. Rows go to a scratch table shaped like an application row, dropped afterwards.

    from bench.floors import measure_floors
    floors = measure_floors("postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench")
    floors.insert_rows_per_s, floors.copy_rows_per_s
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

TABLE = "bench_floor_rows"
_ANSWERS = json.dumps({"q1": "some answer", "q2": 3, "q3": ["a", "b"]})


@dataclass(frozen=True)
class Floors:
    backend: str
    insert_rows_per_s: float
    insert_method: str
    insert_clients: int
    copy_rows_per_s: float
    copy_method: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _libpq_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_file(url: str) -> str:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ValueError("the SQLite floor needs a file database")
    return database


# --- Postgres ----------------------------------------------------------------------------------------------------

_PG_DDL = f"""
DROP TABLE IF EXISTS {TABLE};
CREATE TABLE {TABLE} (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    created_at timestamptz NOT NULL DEFAULT now(),
    applicant_id uuid NOT NULL,
    status varchar(32) NOT NULL,
    answers jsonb NOT NULL
)
"""
_PG_INSERT = (
    f"INSERT INTO {TABLE} (applicant_id, status, answers) VALUES (gen_random_uuid(), 'submitted', '{_ANSWERS}');"
)


def pgbench_rate(
    dsn: str,
    script: str,
    clients: int,
    seconds: float,
    *,
    protocol: str = "simple",
    options: str = "",
    variables: dict[str, str] | None = None,
) -> float:
    """Transactions/s of `pgbench` running `script` from `clients` connections. `protocol="prepared"` binds the
    script's `:variables` (its `\\set`s and `variables`) as parameters of a prepared statement; `options` go to the
    server as PGOPTIONS."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as fh:
        fh.write(script + "\n")
        path = fh.name
    u = make_url(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    env = {**os.environ, "PGPASSWORD": u.password or "", "PGOPTIONS": options}
    args = [
        "pgbench", "-n", "-M", protocol, "-f", path, "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)),
        "-T", str(max(1, round(seconds))), "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432),
        "-U", u.username or "postgres", u.database or "postgres",
        *(f"--define={name}={value}" for name, value in (variables or {}).items()),
    ]  # fmt: skip
    try:
        run = subprocess.run(args, capture_output=True, text=True, env=env)
    finally:
        os.unlink(path)
    if run.returncode != 0:
        raise RuntimeError(f"pgbench failed:\n{run.stderr[-2000:]}")
    for line in run.stdout.splitlines():
        if line.startswith("tps"):
            return float(line.split("=")[1].split()[0])
    raise RuntimeError(f"pgbench printed no tps line:\n{run.stdout}")


async def _pg_insert_psycopg(dsn: str, clients: int, seconds: float) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
            while time.perf_counter() < deadline:
                await conn.execute(_PG_INSERT)
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return done / (time.perf_counter() - started)


def _pg_copy(dsn: str, rows: int) -> float:
    """COPY of rows prepared beforehand (text format), so the figure is the server's rate, not Python's."""
    now = datetime.now(UTC).isoformat()
    answers = _ANSWERS.replace("\\", "\\\\")
    data = "".join(f"{uuid.uuid4()}\t{now}\t{uuid.uuid4()}\tsubmitted\t{answers}\n" for _ in range(rows)).encode()
    chunk = 1 << 20
    with psycopg.connect(dsn) as conn:
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(f"COPY {TABLE} (id, created_at, applicant_id, status, answers) FROM STDIN") as copy,
        ):
            for i in range(0, len(data), chunk):
                copy.write(data[i : i + chunk])
        conn.commit()
        return rows / (time.perf_counter() - started)


def pg_floors(url: str, *, clients: int = 16, seconds: float = 5.0, copy_rows: int = 200_000) -> Floors:
    dsn = _libpq_dsn(url)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(_PG_DDL)
    try:
        if shutil.which("pgbench"):
            insert_rate, method = pgbench_rate(dsn, _PG_INSERT, clients, seconds), "pgbench"
        else:
            insert_rate, method = asyncio.run(_pg_insert_psycopg(dsn, clients, seconds)), "psycopg"
        copy_rate = _pg_copy(dsn, copy_rows)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    return Floors("postgresql", insert_rate, method, clients, copy_rate, "psycopg COPY FROM STDIN")


# --- SQLite ------------------------------------------------------------------------------------------------------


def _sqlite_connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def sqlite_floors(url: str, *, seconds: float = 5.0, bulk_rows: int = 200_000) -> Floors:
    path = _sqlite_file(url)
    conn = _sqlite_connect(path)
    try:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        conn.execute(
            f"CREATE TABLE {TABLE} (id CHAR(32) PRIMARY KEY, created_at TEXT, applicant_id CHAR(32), "
            "status VARCHAR(32), answers JSON)"
        )
        insert = f"INSERT INTO {TABLE} VALUES (?, ?, ?, 'submitted', ?)"
        now = datetime.now(UTC).isoformat()
        done, deadline, started = 0, time.perf_counter() + seconds, time.perf_counter()
        while time.perf_counter() < deadline:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(insert, (uuid.uuid4().hex, now, uuid.uuid4().hex, _ANSWERS))
            conn.execute("COMMIT")
            done += 1
        insert_rate = done / (time.perf_counter() - started)
        rows = [(uuid.uuid4().hex, now, uuid.uuid4().hex, _ANSWERS) for _ in range(bulk_rows)]
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(insert, rows)
        conn.execute("COMMIT")
        bulk_rate = bulk_rows / (time.perf_counter() - started)
        conn.execute(f"DROP TABLE {TABLE}")
    finally:
        conn.close()
    return Floors("sqlite", insert_rate, "sqlite3, one commit per row", 1, bulk_rate, "executemany in one transaction")


def measure_floors(url: str, *, clients: int = 16, seconds: float = 5.0, bulk_rows: int = 200_000) -> Floors:
    """Both floors of the database behind `url` (SQLAlchemy URL, SQLite file or Postgres)."""
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        return pg_floors(url, clients=clients, seconds=seconds, copy_rows=bulk_rows)
    if backend == "sqlite":
        return sqlite_floors(url, seconds=seconds, bulk_rows=bulk_rows)
    raise ValueError(f"no floor for {backend}")


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{Path(tempfile.mkdtemp()) / 'floor.sqlite3'}"
    print(json.dumps(measure_floors(target).as_dict(), indent=2))
