"""Extraction: ADBC straight into Arrow, every read of one build inside ONE read-only transaction (Postgres:
REPEATABLE READ READ ONLY; SQLite: one read transaction over the WAL), so all tables are one consistent snapshot.
Incremental reads take rows whose (updated_at, id) is past the previous build's watermark."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pyarrow as pa
from sqlalchemy.engine import make_url

from ingest.db import sqlite_path
from warehouse.staging import SOURCES, SourceTable, normalize, select_sql

# Rows are stamped with updated_at before their transaction commits, so a row can become visible after a build
# whose watermark is already past its stamp. Re-reading this much before the watermark catches such late commits
# (merging by id makes re-reads harmless); the periodic full rebuild catches anything slower.
WATERMARK_OVERLAP = timedelta(seconds=120)

# Extra source counts the checks compare the marts with (same transaction as the data).
EXTRA_COUNTS = {
    "bot1_admissions_2026.submitted": "SELECT count(*) FROM bot1_admissions_2026 WHERE submitted_at IS NOT NULL",
    "bot1_polito_academy.submitted": "SELECT count(*) FROM bot1_polito_academy WHERE submitted_at IS NOT NULL",
    "bot2_roster.active": "SELECT count(*) FROM bot2_roster WHERE is_active",
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
    """An open read transaction on the operational store."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self._conn = conn
        self.dialect = dialect

    def arrow(self, sql: str) -> pa.Table:
        cur = self._conn.cursor()
        try:
            cur.execute(sql)
            return cur.fetch_arrow_table()
        finally:
            cur.close()

    def scalar(self, sql: str) -> Any:
        cur = self._conn.cursor()
        try:
            cur.execute(sql)
            row = cur.fetchone()
            return row[0] if row else None
        finally:
            cur.close()

    def counts(self) -> dict[str, int]:
        """Row counts of every staged table plus EXTRA_COUNTS, in one statement."""
        parts = [f"(SELECT count(*) FROM {t}) AS {_alias(t)}" for t in SOURCES]
        parts += [f"({sql}) AS {_alias(name)}" for name, sql in EXTRA_COUNTS.items()]
        table = self.arrow("SELECT " + ", ".join(parts))
        names = [*SOURCES, *EXTRA_COUNTS]
        return {name: int(table.column(_alias(name))[0].as_py()) for name in names}

    def read(self, table: SourceTable, since: Mark | None = None) -> pl.DataFrame:
        """The whole table, or only rows past `since` (minus WATERMARK_OVERLAP)."""
        where = self._changed_since(since) if since else ""
        return normalize(table, self.arrow(select_sql(table, self.dialect, where)), self.dialect)

    def _changed_since(self, mark: Mark) -> str:
        since = mark.updated_at - WATERMARK_OVERLAP
        if self.dialect == "postgresql":
            ts, ident = f"'{since.isoformat()}'::timestamptz", f"'{mark.id}'::uuid"
        else:
            ts, ident = f"'{since.strftime('%Y-%m-%d %H:%M:%S.%f')}'", f"'{mark.id.replace('-', '')}'"
        # Keyset form so the index on (updated_at, id) serves it; with the overlap the id only breaks exact ties.
        return f"updated_at > {ts} OR (updated_at = {ts} AND id > {ident})"


def _alias(name: str) -> str:
    return "n_" + name.replace(".", "_")


@contextmanager
def open_source(database_url: str) -> Iterator[Source]:
    """One consistent read-only transaction for the whole extraction."""
    dialect, uri = adbc_uri(database_url)
    if dialect == "postgresql":
        import adbc_driver_postgresql.dbapi as driver
    else:
        import adbc_driver_sqlite.dbapi as driver  # type: ignore[no-redef]
    conn = driver.connect(uri)  # autocommit off: the driver opens a transaction
    try:
        source = Source(conn, dialect)
        if dialect == "postgresql":
            # must be the first statement of the transaction
            source.scalar("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        else:
            # a deferred transaction takes its WAL snapshot at the first read and keeps it until it ends
            source.scalar("SELECT 1 FROM sqlite_master LIMIT 1")
        yield source
    finally:
        try:
            conn.rollback()
        finally:
            conn.close()


def advance(mark: Mark | None, frame: pl.DataFrame) -> Mark | None:
    """The watermark after reading `frame`: the greatest (updated_at, id) of the old mark and the rows read."""
    if frame.height == 0:
        return mark
    latest = frame["updated_at"].max()
    candidate = Mark(latest, frame.filter(pl.col("updated_at") == latest)["id"].max())  # type: ignore[arg-type]
    if mark is None or (candidate.updated_at, candidate.id) > (mark.updated_at, mark.id):
        return candidate
    return mark
