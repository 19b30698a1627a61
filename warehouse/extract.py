"""Extraction: ADBC straight into Arrow, every read of one build inside ONE read-only transaction (Postgres:
REPEATABLE READ READ ONLY; SQLite: one read transaction over the WAL), so all tables are one consistent snapshot.
Incremental reads take rows whose (updated_at, id) is past the previous build's watermark.

The ADBC SQLite driver carries its own copy of SQLite. Two copies of SQLite in one process corrupt each other's
POSIX locks (closing one copy's file descriptor drops the other's locks: sqlite.org/howtocorrupt.html §2.2), and the
API's own connections live in the process that runs the worker. So on SQLite the ADBC connection lives in a small
child process (warehouse/sqlite_reader.py) and the Arrow tables come back over a pipe."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa
from sqlalchemy.engine import make_url

from ingest.contracts.kinds import APPLICATION_KINDS
from ingest.core.db import sqlite_path
from warehouse.sqlite_reader import HEADER, run_query
from warehouse.staging import SOURCES, SourceTable, normalize, select_sql

# Rows are stamped with updated_at (by the writer's clock) before their transaction commits, so a row can become
# visible after a build whose greatest seen (updated_at, id) is already past its stamp. The watermark a build
# records is therefore never later than its own snapshot time, nor than the start of the oldest write transaction
# still open at that moment, minus a margin for clock differences between writers and the database; re-read rows
# are merged by id, so reading a little too much is harmless. The periodic full rebuild is the last safety net.
CLOCK_MARGIN = timedelta(seconds=5)
# SQLite cannot tell when an open write transaction began: assume it may be this old.
SQLITE_WRITER_AGE = timedelta(minutes=10)
NIL_ID = "00000000-0000-0000-0000-000000000000"

# Extra source counts the checks compare the marts with (same transaction as the data).
# name → (table, aggregate): computed in the same scan as the table's row count.
EXTRA_COUNTS = {
    **{f"{k.table}.submitted": (k.table, "count(submitted_at)") for k in APPLICATION_KINDS},
    "bot2_roster.active": ("bot2_roster", "count(CASE WHEN is_active THEN 1 END)"),
}


@dataclass(frozen=True)
class Mark:
    """A table's watermark: the greatest (updated_at, id) read so far."""

    updated_at: datetime
    id: str

    def to_json(self) -> dict[str, str]:
        return {"updated_at": self.updated_at.isoformat(), "id": self.id}

    @classmethod
    def from_json(cls, data: dict[str, str]) -> Mark:
        return cls(datetime.fromisoformat(data["updated_at"]), data["id"])


def adbc_uri(database_url: str) -> tuple[str, str]:
    """(dialect, ADBC uri) for a SQLAlchemy database URL."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(database_url)
        if path is None:
            raise ValueError("the warehouse needs a file-backed SQLite database")
        return "sqlite", str(path)
    if backend == "postgresql":
        return "postgresql", url.set(drivername="postgresql").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database {backend!r}")


class Source:
    """An open read transaction on the operational store; `query` runs one statement in it."""

    def __init__(self, query: Callable[[str], pa.Table], dialect: str) -> None:
        self._query = query
        self.dialect = dialect
        self._horizon = datetime.now(UTC)

    def arrow(self, sql: str) -> pa.Table:
        return self._query(sql)

    def scalar(self, sql: str) -> Any:
        table = self._query(sql)
        return table.column(0)[0].as_py() if table.num_rows and table.num_columns else None

    def counts(self) -> dict[str, int]:
        """Row counts of every staged table plus EXTRA_COUNTS, in one statement, one scan per table."""
        selects, froms = [], []
        for n, table in enumerate(SOURCES):
            extra = [(name, agg) for name, (t, agg) in EXTRA_COUNTS.items() if t == table]
            aggs = [f"count(*) AS {_alias(table)}", *(f"{agg} AS {_alias(name)}" for name, agg in extra)]
            froms.append(f"(SELECT {', '.join(aggs)} FROM {table}) AS t{n}")
            selects += [f"t{n}.{_alias(table)}", *(f"t{n}.{_alias(name)}" for name, _ in extra)]
        result = self.arrow(f"SELECT {', '.join(selects)} FROM {', '.join(froms)}")
        return {name: int(result.column(_alias(name))[0].as_py()) for name in [*SOURCES, *EXTRA_COUNTS]}

    def read(self, table: SourceTable, since: Mark | None = None) -> pl.DataFrame:
        """The whole table, or only rows whose (updated_at, id) is past `since`."""
        where = self._changed_since(since) if since else ""
        return normalize(table, self.arrow(select_sql(table, self.dialect, where)), self.dialect)

    def _changed_since(self, mark: Mark) -> str:
        if self.dialect == "postgresql":
            ts, ident = f"'{mark.updated_at.isoformat()}'::timestamptz", f"'{mark.id}'::uuid"
        else:
            ts = f"'{mark.updated_at.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'"
            ident = f"'{mark.id.replace('-', '')}'"
        # keyset form, served by the (updated_at, id) indexes
        return f"updated_at > {ts} OR (updated_at = {ts} AND id > {ident})"

    def safe_until(self) -> datetime:
        """The latest watermark this snapshot may record (see CLOCK_MARGIN)."""
        return self._horizon - CLOCK_MARGIN


def _alias(name: str) -> str:
    return "n_" + name.replace(".", "_")


@contextmanager
def open_source(database_url: str) -> Iterator[Source]:
    """One consistent read-only transaction for the whole extraction."""
    dialect, uri = adbc_uri(database_url)
    if dialect == "postgresql":
        with _postgres_source(uri) as source:
            yield source
    else:
        with _sqlite_source(uri) as source:
            yield source


@contextmanager
def _postgres_source(uri: str) -> Iterator[Source]:
    import adbc_driver_postgresql.dbapi as driver

    conn = driver.connect(uri)  # autocommit off: the driver opens a transaction
    try:
        source = Source(lambda sql: run_query(conn, sql), "postgresql")
        source.scalar("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")  # first statement of the txn
        source._horizon = _postgres_horizon(source)
        yield source
    finally:
        try:
            conn.rollback()
        finally:
            conn.close()


class ExtractionError(RuntimeError):
    """A query failed in the SQLite reader process."""


class SqliteReader:
    """The client side of warehouse/sqlite_reader.py."""

    def __init__(self, path: str) -> None:
        # our own interpreter and module; the path is the configured database file
        self.proc = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "warehouse.sqlite_reader", path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def query(self, sql: str) -> pa.Table:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(sql).encode() + b"\n")
        self.proc.stdin.flush()
        header = self.proc.stdout.read(HEADER.size)
        if len(header) < HEADER.size:
            raise ExtractionError(f"the SQLite reader process exited ({self.proc.poll()})")
        status, size = HEADER.unpack(header)
        payload = self.proc.stdout.read(size)
        if status != b"O":
            raise ExtractionError(payload.decode(errors="replace"))
        return pa.ipc.open_stream(pa.py_buffer(payload)).read_all()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()  # EOF: the reader ends its transaction and exits
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


@contextmanager
def _sqlite_source(path: str) -> Iterator[Source]:
    reader = SqliteReader(path)
    try:
        source = Source(reader.query, "sqlite")
        source.scalar("SELECT 1 FROM sqlite_master LIMIT 1")  # takes the read snapshot
        source._horizon = _sqlite_horizon(path)
        yield source
    finally:
        reader.close()


def _postgres_horizon(source: Source) -> datetime:
    """The snapshot's time, or the start of the oldest write transaction then open if earlier (it may commit rows
    stamped before our snapshot after it). Sessions of other users may hide their xact_start: best effort."""
    sql = (
        "SELECT least(now(), (SELECT min(xact_start) FROM pg_stat_activity "
        "WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()))"
    )
    value = source.scalar(sql)
    return value if isinstance(value, datetime) else datetime.now(UTC)


def _sqlite_horizon(path: str) -> datetime:
    """Now, or SQLITE_WRITER_AGE ago when a write transaction holds the database (it may commit older stamps)."""
    now = datetime.now(UTC)
    probe = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
    except sqlite3.OperationalError:
        return now - SQLITE_WRITER_AGE
    finally:
        probe.close()
    return now


def advance(mark: Mark | None, frame: pl.DataFrame) -> Mark | None:
    """The watermark after reading `frame`: the greatest (updated_at, id) of the old mark and the rows read."""
    if frame.height == 0:
        return mark
    latest = frame["updated_at"].max()
    candidate = Mark(latest, frame.filter(pl.col("updated_at") == latest)["id"].max())  # type: ignore[arg-type]
    if mark is None or (candidate.updated_at, candidate.id) > (mark.updated_at, mark.id):
        return candidate
    return mark


def capped(mark: Mark | None, until: datetime) -> Mark | None:
    """`mark`, but never later than `until` (then every row stamped at or after `until` is read again)."""
    if mark is None or mark.updated_at < until:
        return mark
    return Mark(until, NIL_ID)
