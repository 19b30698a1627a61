"""Streaming writers for exports: DuckDB → Arrow record batches → CSV / Parquet bytes as they are produced, and XLSX
through xlsxwriter's constant-memory mode into a temporary file. Memory stays flat whatever the row count."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import xlsxwriter

from warehouse.snapshot import Snapshot

BATCH_ROWS = 65_536
XLSX_MAX_ROWS = 1_048_576  # Excel's sheet limit, header included
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class QueryBatches:
    """A query's rows as Arrow record batches from a private DuckDB connection (bounded threads and memory); the
    schema is known before the first row. Iterating closes the connection at the end; so does `close()`."""

    def __init__(self, snapshot: Snapshot, sql: str, params: list[Any]) -> None:
        self._conn = snapshot.duckdb()
        self._conn.execute("SET threads = 2")
        self._conn.execute("SET memory_limit = '256MB'")
        self._conn.execute("SET preserve_insertion_order = true")
        result = self._conn.execute(sql, params)
        # DuckDB 2 renamed fetch_record_batch to to_arrow_reader; the dependency range allows both
        reader = getattr(result, "to_arrow_reader", None) or result.fetch_record_batch
        self._reader = reader(BATCH_ROWS)
        self.schema: pa.Schema = self._reader.schema

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._reader
        finally:
            self.close()

    def close(self) -> None:
        self._conn.close()


def csv_chunks(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[bytes]:
    """RFC 4180 CSV, header first, one chunk per batch (timestamps as `YYYY-MM-DD HH:MM:SS.ffffffZ`)."""
    header = io.BytesIO()
    pacsv.write_csv(pa.Table.from_batches([], schema=schema), header)
    yield header.getvalue()
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    for batch in batches:
        if batch.num_rows:
            out = io.BytesIO()
            pacsv.write_csv(batch, out, write_options=options)
            yield out.getvalue()


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out as they arrive, so a Parquet file streams row group by group."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._chunks.append(chunk)
        self._size += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._size

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def parquet_chunks(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[bytes]:
    """A Parquet file (zstd), one row group per batch, streamed as each row group is written."""
    sink = _Drain()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        for batch in batches:
            if batch.num_rows:
                writer.write_batch(batch)
                chunk = sink.take()
                if chunk:
                    yield chunk
    finally:
        writer.close()
    yield sink.take()


def _cell_columns(batch: pa.RecordBatch) -> list[list[Any]]:
    """Columns as Python values xlsxwriter writes as is: temporals become ISO text (Excel has no time zones)."""
    columns = []
    for column in batch.columns:
        if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
            column = pc.cast(column, pa.string())
        columns.append(column.to_pylist())
    return columns


def write_xlsx(batches: Iterable[pa.RecordBatch], schema: pa.Schema, path: Path, sheet: str) -> None:
    """An XLSX workbook in constant-memory mode; past Excel's row limit the rows continue on a new sheet."""
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    bold = workbook.add_format({"bold": True})
    sheet_no, row = 0, XLSX_MAX_ROWS

    def new_sheet() -> Any:
        nonlocal sheet_no
        sheet_no += 1
        ws = workbook.add_worksheet(sheet[:28] if sheet_no == 1 else f"{sheet[:24]} ({sheet_no})")
        ws.write_row(0, 0, schema.names, bold)
        ws.freeze_panes(1, 0)
        return ws

    worksheet = None
    try:
        for batch in batches:
            columns = _cell_columns(batch)
            for values in zip(*columns, strict=True):
                if row >= XLSX_MAX_ROWS:
                    worksheet, row = new_sheet(), 1
                worksheet.write_row(row, 0, values)
                row += 1
        if worksheet is None:
            new_sheet()
    finally:
        workbook.close()


def xlsx_chunks(
    batches: Iterable[pa.RecordBatch], schema: pa.Schema, sheet: str, tmp_dir: Path | None = None
) -> Iterator[bytes]:
    """The workbook written to a temporary file (a ZIP needs its directory at the end), then streamed and removed."""
    fd, name = tempfile.mkstemp(suffix=".xlsx", dir=tmp_dir)
    os.close(fd)
    path = Path(name)
    try:
        write_xlsx(batches, schema, path, sheet)
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


def chunks(fmt: str, batches: Iterable[pa.RecordBatch], schema: pa.Schema, sheet: str) -> Iterator[bytes]:
    if fmt == "csv":
        return csv_chunks(batches, schema)
    if fmt == "parquet":
        return parquet_chunks(batches, schema)
    return xlsx_chunks(batches, schema, sheet)


def file_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(size):
            yield chunk


__all__ = ["FORMATS", "QueryBatches", "chunks", "file_chunks"]
