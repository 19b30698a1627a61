"""Frames as PostgreSQL `COPY ... FROM STDIN (FORMAT binary)` data, built column by column with numpy and Arrow
compute (no per-row Python). The server parses binary fields at about twice the rate of CSV text (no number, date,
timestamp or UUID parsing).

Each field is its type's binary send format behind a 4-byte big-endian length (-1 for NULL); a row is a 2-byte field
count and its fields. Every column becomes an Arrow binary array of whole fields; Arrow's element-wise binary join
then lays the rows out back to back, so the joined array's data buffer is the COPY data itself."""

from __future__ import annotations

import struct

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.dialects import postgresql

from ingest.core.schema import metadata

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # flags, header extension length
TRAILER = struct.pack(">h", -1)
NULL_FIELD = pa.scalar(struct.pack(">i", -1), pa.binary())
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01T00:00:00Z in Unix microseconds
PG_EPOCH_DAYS = 10_957  # 2000-01-01 in Unix days
NIL_UUID = "00000000-0000-0000-0000-000000000000"
HEX_DIGITS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])  # where a canonical UUID has digits
HEX_VALUE = np.full(256, 255, np.uint8)  # ASCII → nibble (255: not a hex digit)
HEX_VALUE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16)
HEX_VALUE[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16)
FIXED = {"BOOLEAN": ">u1", "SMALLINT": ">i2", "INTEGER": ">i4", "BIGINT": ">i8"}


def column_types(table: str, columns: list[str]) -> list[str] | None:
    """The PostgreSQL type of each column (as DDL spells it), or None when one of them has no encoder here."""
    dialect = postgresql.dialect()
    types = [metadata.tables[table].c[name].type.compile(dialect=dialect) for name in columns]
    known = {"UUID", "TIMESTAMP WITH TIME ZONE", "DATE", "JSONB", "TEXT", *FIXED}
    return types if all(t in known or t.startswith("VARCHAR") for t in types) else None


def _raw(payload: np.ndarray) -> pa.Array:
    """An (n, width) uint8 matrix as n binary values of `width` bytes."""
    n, width = payload.shape
    buffer = pa.py_buffer(np.ascontiguousarray(payload))
    return pa.Array.from_buffers(pa.binary(width), n, [None, buffer]).cast(pa.binary())


def _length(widths: np.ndarray) -> pa.Array:
    return _raw(widths.astype(">i4").view(np.uint8).reshape(-1, 4))


def _fixed(payload: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """Fixed-width fields: the length, then the payload (rows where `valid` is False are NULL)."""
    n, width = payload.shape
    out = np.empty((n, 4 + width), np.uint8)
    out[:, :4] = np.frombuffer(struct.pack(">i", width), np.uint8)
    out[:, 4:] = payload
    field = _raw(out)
    return field if valid is None else pc.if_else(pa.array(valid), field, NULL_FIELD)


def _numbers(values: np.ndarray, dtype: str) -> np.ndarray:
    return values.astype(dtype).view(np.uint8).reshape(len(values), -1)


def _text(s: pl.Series, prefix: bytes = b"") -> pa.Array:
    """Variable-width fields (text; jsonb is a version byte then the JSON text)."""
    body = s.to_arrow().cast(pa.large_binary()).cast(pa.binary())
    widths = pc.binary_length(body).fill_null(0).to_numpy(zero_copy_only=False) + len(prefix)
    parts = [_length(widths), *([pa.scalar(prefix, pa.binary())] if prefix else []), body]
    return pc.fill_null(pc.binary_join_element_wise(*parts, b""), NULL_FIELD)


def _uuids(s: pl.Series) -> np.ndarray:
    """Canonical UUID strings (8-4-4-4-12 hex digits) as an (n, 16) matrix of their bytes (nulls as the nil UUID):
    the 36 characters of every value side by side, the 32 digits picked out and mapped to nibbles by table."""
    text = s.fill_null(NIL_UUID).to_arrow().cast(pa.large_string())
    n = len(text)
    offsets = np.frombuffer(text.buffers()[1], np.int64)[text.offset : text.offset + n + 1]
    if (np.diff(offsets) != 36).any():
        raise ValueError(f"{s.name}: not every value is a canonical UUID")
    chars = np.frombuffer(text.buffers()[2], np.uint8)[offsets[0] : offsets[-1]].reshape(n, 36)
    nibbles = HEX_VALUE[chars[:, HEX_DIGITS]]
    if (nibbles > 15).any():
        raise ValueError(f"{s.name}: not every value is a canonical UUID")
    return (nibbles[:, 0::2] << 4) | nibbles[:, 1::2]


def field(s: pl.Series, pg_type: str) -> pa.Array:
    """One column as binary COPY fields."""
    valid = s.is_not_null().to_numpy() if s.null_count() else None
    if pg_type == "UUID":
        return _fixed(_uuids(s), valid)
    if pg_type == "TIMESTAMP WITH TIME ZONE":
        micros = (s.dt.epoch("us") - PG_EPOCH_US).fill_null(0).to_numpy()
        return _fixed(_numbers(micros, ">i8"), valid)
    if pg_type == "DATE":
        days = (s.cast(pl.Int32) - PG_EPOCH_DAYS).fill_null(0).to_numpy()
        return _fixed(_numbers(days, ">i4"), valid)
    if pg_type in FIXED:
        values = s.cast(pl.UInt8) if pg_type == "BOOLEAN" else s
        return _fixed(_numbers(values.fill_null(0).to_numpy(), FIXED[pg_type]), valid)
    return _text(s, b"\x01" if pg_type == "JSONB" else b"")


def rows(df: pl.DataFrame, pg_types: list[str]) -> memoryview:
    """The frame's rows in COPY binary format (without the signature and trailer)."""
    count = pa.scalar(struct.pack(">h", df.width), pa.binary())
    joined = pc.binary_join_element_wise(
        count, *(field(df[c], t) for c, t in zip(df.columns, pg_types, strict=True)), b""
    )
    end = int(np.frombuffer(joined.buffers()[1], np.int32)[len(joined)])
    return memoryview(joined.buffers()[2])[:end]
