"""Staging (`stg_*`): which columns the warehouse reads from each operational table, the SQL that reads them on each
dialect, and the normalisation that makes SQLite and Postgres rows identical (dashed UUID strings, UTC timestamps,
dates, booleans, int16 course years). No personal data (names, phones, emails) is ever staged."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import polars as pl
import pyarrow as pa
import sqlalchemy as sa

from ingest.contracts.kinds import APPLICATION_KINDS, ApplicationKind
from ingest.core.schema import Base

Kind = Literal["id", "nid", "ts", "nts", "ndate", "str", "bool", "int", "year"]

POLARS_TYPES: dict[str, pl.DataType] = {
    "id": pl.String(),
    "nid": pl.String(),
    "ts": pl.Datetime("us", "UTC"),
    "nts": pl.Datetime("us", "UTC"),
    "ndate": pl.Date(),
    "str": pl.String(),
    "bool": pl.Boolean(),
    "int": pl.Int64(),
    "year": pl.Int16(),
}
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.f"


@dataclass(frozen=True)
class SourceTable:
    """One operational table as staged: its columns, whether it is extracted incrementally by watermark, and whether
    its staged copy is kept as a file in the snapshot (otherwise its rows live on inside a fact mart)."""

    name: str
    columns: tuple[tuple[str, Kind], ...]
    incremental: bool = True
    kept: bool = True

    @property
    def schema(self) -> dict[str, pl.DataType]:
        return {col: POLARS_TYPES[kind] for col, kind in self.columns}


def _t(name: str, *cols: tuple[str, Kind], incremental: bool = True, kept: bool = True) -> SourceTable:
    return SourceTable(name, (("id", "id"), *cols, ("updated_at", "ts")), incremental, kept)


_APP = (("applicant_id", "id"), ("status", "str"), ("submitted_at", "nts"), ("created_at", "ts"))


def _kind_column(table: sa.Table, name: str) -> tuple[str, Kind]:
    """A kind's own column as staged, typed from the operational schema: catalog references are ids, the rest dates
    (the only own field type so far: campus tours' `preferred_date`) or text."""
    column = table.c[name]
    if name.endswith("_id"):
        return name, "nid" if column.nullable else "id"
    return name, "ndate" if isinstance(column.type, sa.Date) else "str"


def _application_table(kind: ApplicationKind) -> SourceTable:
    """Every application kind of the registry is staged the same way; its rows live on in fct_applications."""
    table = Base.metadata.tables[kind.table]
    return _t(kind.table, *_APP, *(_kind_column(table, c) for c in kind.columns), kept=False)


SOURCES: dict[str, SourceTable] = {
    t.name: t
    for t in (
        # small tables: always read whole (a full read is as cheap as a watermark query and sees deletes)
        _t(
            "catalog_item",
            ("type", "str"),
            ("code", "str"),
            ("name", "str"),
            ("name_uz", "str"),
            ("name_ru", "str"),
            ("name_en", "str"),
            ("parent_id", "nid"),
            ("is_active", "bool"),
            ("sort_order", "int"),
            incremental=False,
        ),
        _t(
            "bot2_enrollment",
            ("program_id", "id"),
            ("course_year", "year"),
            ("student_count", "int"),
            ("academic_year", "str"),
            ("campaign", "str"),
            ("is_active", "bool"),
            incremental=False,
        ),
        _t("bot1_applicant", ("region_id", "nid")),
        *(_application_table(kind) for kind in APPLICATION_KINDS),
        _t(
            "bot2_roster",
            ("roster_campaign", "str"),
            ("program_id", "id"),
            ("course_year", "year"),
            ("is_active", "bool"),
        ),
        _t("bot2_student", ("student_external_id", "str"), ("roster_id", "id"), ("region_id", "nid")),
        _t(
            "bot2_survey_response",
            ("student_id", "id"),
            ("roster_id", "id"),
            ("program_id", "id"),
            ("course_year", "year"),
            ("survey_campaign", "str"),
            ("employment_status", "str"),
            ("employment_company", "str"),
            ("employment_role", "str"),
            ("submitted_at", "ts"),
            ("created_at", "ts"),
            kept=False,
        ),
    )
}

APPLICATION_TABLES = {k.slug: k.table for k in APPLICATION_KINDS}


def select_sql(table: SourceTable, dialect: str, where: str = "") -> str:
    """The SELECT that reads `table` on `dialect`, shaped for ADBC's Arrow type inference."""
    exprs = []
    for col, kind in table.columns:
        if dialect == "postgresql":
            exprs.append(f"{col}::text AS {col}" if kind in ("id", "nid") else col)
        elif kind in ("nid", "nts", "ndate"):
            # ADBC SQLite infers a column's type from its first batch: an all-NULL batch becomes int64 and a later
            # text value then fails, so nullable text-like columns are read as '' and turned back into NULL here.
            exprs.append(f"COALESCE({col}, '') AS {col}")
        else:
            exprs.append(col)
    # identifiers come from SOURCES, never from input
    sql = f"SELECT {', '.join(exprs)} FROM {table.name}"
    return f"{sql} WHERE {where}" if where else sql


def _dashed(expr: pl.Expr) -> pl.Expr:
    """32-char hex (SQLite storage of UUIDs) → canonical dashed lowercase form."""
    e = expr.str.to_lowercase()
    return pl.concat_str(
        [e.str.slice(0, 8), e.str.slice(8, 4), e.str.slice(12, 4), e.str.slice(16, 4), e.str.slice(20, 12)],
        separator="-",
    )


def _normalize(col: str, kind: Kind, dialect: str, dtype: pl.DataType) -> pl.Expr:
    c = pl.col(col)
    if dialect == "postgresql":
        if kind in ("ts", "nts"):
            return c.cast(pl.Datetime("us", "UTC"))
        return c.cast(POLARS_TYPES[kind])
    if kind in ("nid", "nts", "ndate"):
        c = pl.when(c.cast(pl.String) == "").then(None).otherwise(c.cast(pl.String))
    if kind in ("id", "nid"):
        return _dashed(c.cast(pl.String))
    if kind in ("ts", "nts"):
        if dtype == pl.Null or dtype.is_integer():
            return c.cast(pl.Datetime("us", "UTC"))
        return c.str.to_datetime(SQLITE_DATETIME, time_zone="UTC", time_unit="us")
    if kind == "ndate":
        return c.str.to_date("%Y-%m-%d")
    return c.cast(POLARS_TYPES[kind])


def normalize(table: SourceTable, arrow: pa.Table, dialect: str) -> pl.DataFrame:
    """Arrow from either dialect → the staged polars frame with the table's exact schema."""
    df = pl.from_arrow(arrow, rechunk=False)
    assert isinstance(df, pl.DataFrame)
    if df.height == 0:
        return pl.DataFrame(schema=table.schema)
    return df.select(_normalize(col, kind, dialect, df.schema[col]).alias(col) for col, kind in table.columns)


def empty(table: SourceTable) -> pl.DataFrame:
    return pl.DataFrame(schema=table.schema)
