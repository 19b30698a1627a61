"""Rows of either database as polars frames in one canonical form, so reference rows and our stored rows compare
equal exactly when they hold the same values: uuids as lower-case dashed text, timestamps as UTC microseconds, dates,
JSON as its text (canonicalised only for comparison), booleans and integers as themselves."""

from __future__ import annotations

from typing import Literal

import msgspec
import polars as pl

from ingest.contracts.fields import student_id_key

Kind = Literal["uuid", "ts", "date", "json", "bool", "int", "str", "inet"]
_OFFSET = r"(Z|[+-]\d\d:?\d\d)$"
_JSON = msgspec.json.Decoder()


def canonical_uuid(col: pl.Expr) -> pl.Expr:
    """Django on SQLite stores 32 hex digits, Postgres the dashed form: both become the dashed lower-case text."""
    hexes = col.str.replace_all("-", "", literal=True).str.to_lowercase()
    return pl.concat_str(
        [
            hexes.str.slice(0, 8),
            hexes.str.slice(8, 4),
            hexes.str.slice(12, 4),
            hexes.str.slice(16, 4),
            hexes.str.slice(20),
        ],
        separator="-",
    )


def _timestamp(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    if isinstance(dtype, pl.Datetime):
        return col.dt.convert_time_zone("UTC") if dtype.time_zone else col.dt.replace_time_zone("UTC")
    # SQLite text: Django and SQLAlchemy both store naive UTC ("2026-01-01 10:00:00.123456"); an offset, when one
    # was written by hand, is UTC too (Django converts before storing).
    text = col.cast(pl.String).str.replace(_OFFSET, "").str.replace("T", " ", literal=True)
    return text.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_zone="UTC", time_unit="us", strict=False)


def _date(col: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    return col if dtype == pl.Date else col.cast(pl.String).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


def normalise(df: pl.DataFrame, kinds: dict[str, Kind]) -> pl.DataFrame:
    """`df` (as read from either database) with every column of `kinds` in the canonical type."""
    exprs = []
    for name, kind in kinds.items():
        col, dtype = pl.col(name), df.schema[name]
        if kind == "uuid":
            col = canonical_uuid(col.cast(pl.String))
        elif kind == "ts":
            col = _timestamp(col, dtype).dt.cast_time_unit("us")
        elif kind == "date":
            col = _date(col, dtype)
        elif kind == "bool":
            col = col.cast(pl.Boolean)
        elif kind == "int":
            col = col.cast(pl.Int64)
        else:  # str, json, inet
            col = col.cast(pl.String)
        exprs.append(col.alias(name))
    return df.select(exprs)


def canonical_json(text: str | None) -> str | None:
    """One spelling per JSON value (keys sorted, no spaces): Postgres' jsonb reorders keys and adds spaces."""
    if text is None:
        return None
    return msgspec.json.encode(_JSON.decode(text), order="sorted").decode()


def json_canonical(col: pl.Expr) -> pl.Expr:
    return col.map_elements(canonical_json, return_dtype=pl.String, skip_nulls=True)


def json_field(col: pl.Expr, key: str) -> pl.Expr:
    """A top-level string field of a JSON text column (null when absent or not a string)."""
    return col.str.json_path_match(f"$.{key}")


def student_keys(col: pl.Expr) -> pl.Expr:
    """`contracts.fields.student_id_key` of each id (what the server matches ids by), vectorised: ASCII ids, all
    the ids the server's rule allows, lower-cased in Rust; any other id through the function itself."""
    ascii_only = col.str.contains(r"^[\x00-\x7f]*$")
    return pl.when(ascii_only).then(col.str.to_lowercase()).otherwise(_python_keys(col))


def _python_keys(col: pl.Expr) -> pl.Expr:
    other = col.str.contains(r"[^\x00-\x7f]")
    return (
        pl.when(other)
        .then(col)
        .map_batches(
            lambda s: s.map_elements(student_id_key, return_dtype=pl.String, skip_nulls=True), return_dtype=pl.String
        )
    )
