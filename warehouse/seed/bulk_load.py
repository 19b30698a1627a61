"""Bulk loading of generated frames into the operational store in ONE transaction: `COPY ... FROM STDIN` (binary,
warehouse/seed/pg_binary.py; CSV for other column types) on Postgres through psycopg, `executemany` on SQLite, with each
value in the form the SQLAlchemy types store it."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
import psycopg
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy import Table, UniqueConstraint
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from ingest.core.db import SQLITE_BUSY_TIMEOUT_MS, sqlite_path
from ingest.core.schema import metadata
from warehouse.seed import pg_binary

COPY_CHUNK_ROWS = 200_000  # bounds the encoded buffer's memory
# Above this many rows, Postgres loads run with the loaded tables' foreign keys, unique constraints (not the primary
# keys: rows are loaded in key order) and secondary indexes dropped and rebuilt afterwards (PostgreSQL manual,
# "Populating a Database"): per-row FK triggers cost ~4x the COPY itself, and one sort per index beats a million
# random index inserts. Re-adding a constraint checks every row, so a violation fails the load; CHECKs stay in force.
DEFER_CONSTRAINTS_ROWS = 200_000
Progress = Callable[[str, int], None]


def is_uuid_column(name: str, dtype: pl.DataType) -> bool:
    return dtype == pl.String and (name == "id" or name.endswith("_id")) and name != "student_external_id"


class Loader:
    """An open write transaction on either database; `load` appends a frame to a table."""

    dialect: str
    conn: Any

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        raise NotImplementedError

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def load(self, table: str, df: pl.DataFrame, progress: Progress | None = None) -> None:
        raise NotImplementedError

    def insert_ignore(self, table: str, df: pl.DataFrame, conflict: tuple[str, ...]) -> None:
        """Small inserts that skip rows whose `conflict` key exists."""
        raise NotImplementedError

    @contextmanager
    def deferred_constraints(self, tables: list[str], progress: Progress | None = None) -> Iterator[None]:
        """Where the database allows it, check foreign keys and build indexes once after the load."""
        yield

    def analyze(self, tables: list[str]) -> None:
        """Refresh the planner's statistics of the loaded tables (so the warehouse's change queries use the
        (updated_at, id) indexes)."""
        for table in tables:
            self.conn.execute(f"ANALYZE {table}")


class PostgresLoader(Loader):
    dialect = "postgresql"

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self.conn.execute(sql.replace("?", "%s"), params).fetchone()
        return row[0] if row else None

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.conn.execute(sql).fetchall()]

    def load(self, table: str, df: pl.DataFrame, progress: Progress | None = None) -> None:
        """COPY in binary format (half the server's parsing work of CSV), or CSV for a column type pg_binary lacks."""
        cols = ", ".join(df.columns)
        types = pg_binary.column_types(table, df.columns)
        options = "FORMAT binary" if types else "FORMAT csv, NULL '\\N'"
        # Sorted by primary key, rows append to the right edge of the key's index instead of landing at random.
        df = df.sort("id")
        # The queued writer sends from a thread, so formatting the next chunk overlaps with the server's work.
        with (
            self.conn.cursor() as cur,
            cur.copy(f"COPY {table} ({cols}) FROM STDIN ({options})", writer=QueuedLibpqWriter(cur)) as copy,
        ):
            if types:
                copy.write(pg_binary.SIGNATURE)
            for offset in range(0, df.height, COPY_CHUNK_ROWS):
                chunk = df.slice(offset, COPY_CHUNK_ROWS)
                if types:
                    copy.write(pg_binary.rows(chunk, types))
                else:
                    buf = io.BytesIO()
                    chunk.write_csv(
                        buf, include_header=False, null_value="\\N", datetime_format="%Y-%m-%d %H:%M:%S%.6f%:z"
                    )
                    copy.write(buf.getbuffer())
                if progress:
                    progress(table, chunk.height)
            if types:
                copy.write(pg_binary.TRAILER)

    @contextmanager
    def deferred_constraints(self, tables: list[str], progress: Progress | None = None) -> Iterator[None]:
        """Drop the tables' FKs, unique constraints and non-unique indexes, yield, then rebuild them (all inside the
        transaction, so a failure anywhere restores them by rolling back). Re-adding a FK validates every row with one
        join, a unique constraint with one sort."""
        dialect = postgresql.dialect()
        owned: list[Table] = [metadata.tables[t] for t in tables]
        fks = [fk for t in owned for fk in t.foreign_key_constraints]
        fks += [uq for t in owned for uq in t.constraints if isinstance(uq, UniqueConstraint)]
        indexes = [ix for t in owned for ix in t.indexes if not ix.unique]
        for fk in fks:
            self.conn.execute(str(DropConstraint(fk).compile(dialect=dialect)))
        for ix in indexes:
            self.conn.execute(str(DropIndex(ix).compile(dialect=dialect)))
        yield
        if progress:
            progress("rebuilding indexes and foreign keys", 0)
        self.conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for ix in indexes:
            self.conn.execute(str(CreateIndex(ix).compile(dialect=dialect)))
        for fk in fks:
            self.conn.execute(str(AddConstraint(fk).compile(dialect=dialect)))

    def insert_ignore(self, table: str, df: pl.DataFrame, conflict: tuple[str, ...]) -> None:
        cols = ", ".join(df.columns)
        marks = ", ".join(["%s"] * df.width)
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
        with self.conn.cursor() as cur:
            cur.executemany(sql, df.rows())


def sqlite_values(df: pl.DataFrame) -> pl.DataFrame:
    """What SQLAlchemy stores on SQLite: hex UUIDs without dashes, naive UTC datetime text, ISO dates, 0/1."""
    exprs = []
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if is_uuid_column(name, dtype):
            col = col.str.replace_all("-", "", literal=True)
        elif isinstance(dtype, pl.Datetime):
            col = col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
        elif dtype == pl.Date:
            col = col.dt.strftime("%Y-%m-%d")
        elif dtype == pl.Boolean:
            col = col.cast(pl.Int8)
        exprs.append(col.alias(name))
    return df.select(exprs)


class SqliteLoader(Loader):
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return row[0] if row else None

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql).fetchall())

    def load(self, table: str, df: pl.DataFrame, progress: Progress | None = None) -> None:
        sql = f"INSERT INTO {table} ({', '.join(df.columns)}) VALUES ({', '.join(['?'] * df.width)})"
        values = sqlite_values(df)
        for offset in range(0, values.height, COPY_CHUNK_ROWS):
            chunk = values.slice(offset, COPY_CHUNK_ROWS)
            self.conn.executemany(sql, chunk.iter_rows())
            if progress:
                progress(table, chunk.height)

    def insert_ignore(self, table: str, df: pl.DataFrame, conflict: tuple[str, ...]) -> None:
        sql = f"INSERT INTO {table} ({', '.join(df.columns)}) VALUES ({', '.join(['?'] * df.width)}) "
        sql += f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
        self.conn.executemany(sql, sqlite_values(df).iter_rows())


@contextmanager
def open_loader(database_url: str) -> Iterator[Loader]:
    """One write transaction: committed when the block ends, rolled back (nothing loaded) on any error."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn) as conn:  # commits on success, rolls back on exception
            yield PostgresLoader(conn)
        return
    path = sqlite_path(database_url)
    if path is None:
        raise ValueError("mock data needs a file-backed SQLite database")
    conn = sqlite3.connect(path, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield SqliteLoader(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()
