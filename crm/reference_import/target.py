"""Our operational store as the import sees it (SPEC §3): its rows read back in the canonical form, new rows bulk
loaded (COPY on Postgres, executemany on SQLite, through warehouse.seed.bulk_load) and changed rows updated, one commit
per chunk so that an interrupted import keeps everything committed so far and the next run completes it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import adbc_driver_postgresql.dbapi as adbc_pg
import polars as pl
import pyarrow as pa
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import JSON, BigInteger, Boolean, Date, Integer, SmallInteger, Uuid
from sqlalchemy.engine import make_url

from crm.reference_import.frames import Kind, normalise
from ingest.core.schema import metadata
from warehouse.seed.bulk_load import Loader, open_loader, sqlite_values


def column_kinds(table: str) -> dict[str, Kind]:
    """Each column of one of our tables with its canonical kind, from the SQLAlchemy types."""
    kinds: dict[str, Kind] = {}
    for col in metadata.tables[table].columns:
        t = col.type
        kinds[col.name] = (
            "uuid"
            if isinstance(t, Uuid)
            else "ts"
            if isinstance(t, DateTimeUTC)
            else "date"
            if isinstance(t, Date)
            else "json"
            if isinstance(t, JSON)
            else "bool"
            if isinstance(t, Boolean)
            else "int"
            if isinstance(t, Integer | SmallInteger | BigInteger)
            else "str"
        )
    return kinds


class Target:
    """A write connection to the operational store; `commit` ends one chunk."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.dialect = make_url(database_url).get_backend_name()
        self.loader: Loader
        self._adbc: Any = None

    @contextmanager
    def open(self) -> Iterator[Target]:
        """One write connection (warehouse.seed.bulk_load's), plus an ADBC reader on Postgres; `commit` ends chunks."""
        with open_loader(self.url) as loader:
            self.loader = loader
            if self.dialect != "postgresql":
                # Reads go through the stdlib driver: ADBC's bundled SQLite misses WAL commits of this process.
                yield self
                return
            dsn = make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)
            with adbc_pg.connect(dsn) as adbc:
                self._adbc = adbc
                yield self

    def commit(self) -> None:
        if self.dialect == "postgresql":
            self.loader.conn.commit()
        else:
            self.loader.conn.execute("COMMIT")
            self.loader.conn.execute("BEGIN IMMEDIATE")

    def read(self, table: str, columns: list[str] | None = None) -> pl.DataFrame:
        """Rows of one of our tables (all columns, or `columns`), normalised."""
        return self._select(table, columns)

    def read_where(self, table: str, column: str, values: pl.Series, columns: list[str] | None = None) -> pl.DataFrame:
        """The rows of one of our tables whose `column` (a column of the table, or `lower(student_external_id)`) is
        one of `values`, normalised: one statement, the values bound as one array (Postgres, through ADBC) or one
        JSON text (SQLite), so a chunk of ids costs one round trip and memory for that chunk only."""
        values = values.drop_nulls().unique()
        if not values.len():
            kinds = _kinds(table, columns)
            return normalise(_empty(kinds), kinds)  # type: ignore[arg-type]
        return self._select(table, columns, (column, values))

    def _select(
        self, table: str, columns: list[str] | None, where: tuple[str, pl.Series] | None = None
    ) -> pl.DataFrame:
        kinds = _kinds(table, columns)
        if self.dialect == "postgresql":
            sql, param = f'SELECT {_pg_text(kinds)} FROM "{table}"', None
            if where is not None:
                column, values = where
                pg_type = {"uuid": "uuid", "int": "bigint"}.get(column_kinds(table).get(column, "str"), "text")
                sql += f" WHERE {_sql_column(column)} = ANY($1::{pg_type}[])"
                param = pa.record_batch([pa.array([values.to_list()])], names=["values"])
            with self._adbc.cursor() as cur:
                cur.execute(sql, parameters=param)
                df = pl.from_arrow(cur.fetch_arrow_table())
            # End the read's transaction so that the next read sees what this run has committed since.
            self._adbc.rollback()
        else:
            sql, params = f'SELECT {", ".join(kinds)} FROM "{table}"', ()
            if where is not None:
                column, values = where
                if column_kinds(table).get(column) == "uuid":
                    values = values.str.replace_all("-", "", literal=True)  # SQLAlchemy's Uuid: 32 hex digits
                sql += f" WHERE {_sql_column(column)} IN (SELECT value FROM json_each(?))"
                params = (json.dumps(values.to_list()),)
            cur = self.loader.conn.execute(sql, params)
            df = pl.DataFrame(cur.fetchall(), schema=list(kinds), orient="row", infer_schema_length=None)
        return normalise(df if df.height else _empty(kinds), kinds)  # type: ignore[arg-type]

    def is_empty(self, table: str) -> bool:
        return self.loader.scalar(f'SELECT NOT EXISTS (SELECT 1 FROM "{table}")') in (True, 1)

    def insert(self, table: str, df: pl.DataFrame, progress: Callable[[str, int], None] | None = None) -> None:
        self.loader.load(table, df, progress)

    def update(self, table: str, df: pl.DataFrame) -> None:
        """Rows of `df` written over the stored rows with the same id (every column of `df`)."""
        cols = [c for c in df.columns if c != "id"]
        mark = "%s" if self.dialect == "postgresql" else "?"
        sets = ", ".join(f'"{c}" = {mark}' for c in cols)
        sql = f'UPDATE "{table}" SET {sets} WHERE id = {mark}'
        ordered = df.select([*cols, "id"])
        if self.dialect == "sqlite":
            self.loader.conn.executemany(sql, sqlite_values(ordered).iter_rows())
            return
        with self.loader.conn.cursor() as cur:
            cur.executemany(sql, ordered.iter_rows())

    def execute(self, sql: str, params: list[tuple[Any, ...]]) -> None:
        """A small statement run for each parameter tuple (`?` marks on both databases)."""
        if self.dialect == "postgresql":
            with self.loader.conn.cursor() as cur:
                cur.executemany(sql.replace("?", "%s"), params)
        else:
            self.loader.conn.executemany(sql, [tuple(_sqlite_param(v) for v in p) for p in params])


def _sqlite_param(value: Any) -> Any:
    # SQLAlchemy stores a Uuid as 32 hex digits on SQLite, a timestamp as naive UTC text.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value.replace("-", "") if isinstance(value, str) and len(value) == 36 and value.count("-") == 4 else value


def _kinds(table: str, columns: list[str] | None) -> dict[str, Kind]:
    kinds = column_kinds(table)
    return kinds if columns is None else {c: kinds[c] for c in columns}


def _sql_column(column: str) -> str:
    return column if column.startswith("lower(") else f'"{column}"'


def _pg_text(kinds: dict[str, Kind]) -> str:
    return ", ".join(f'"{c}"::text AS "{c}"' if k in ("uuid", "json") else f'"{c}"' for c, k in kinds.items())


_EMPTY_TYPES: dict[str, pl.DataType] = {
    "int": pl.Int64(),
    "bool": pl.Boolean(),
    "ts": pl.Datetime("us", "UTC"),
    "date": pl.Date(),
}


def _empty(kinds: dict[str, Kind]) -> pl.DataFrame:
    return pl.DataFrame(schema={c: _EMPTY_TYPES.get(k, pl.String()) for c, k in kinds.items()})
