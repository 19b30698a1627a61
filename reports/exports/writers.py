"""Streaming writers for exports, with memory that stays flat whatever the row count:

- CSV and Parquet: DuckDB runs `COPY (query) TO <a named pipe>` with its own native writers in a worker thread, and
  the bytes are streamed out of the pipe as they come (no temporary file, no Python per row);
- XLSX: DuckDB → Arrow record batches (a streaming relation) → xlsxwriter in constant-memory mode, into a
  temporary file (a ZIP needs its directory at the end), then streamed and removed.

Both spreadsheet formats go through `inert_query`: text that a spreadsheet would run as a formula (a leading `=`,
`+`, `-`, `@`, tab or carriage return, OWASP "CSV Injection") gets a leading `'`, in the DuckDB query itself so the
CSV still streams; numbers stay numbers. The XLSX writer also never turns a string into a formula or a link.
"""

from __future__ import annotations

import os
import select
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warehouse.snapshot import Snapshot

if TYPE_CHECKING:  # loaded by the first XLSX export, not at start-up (~0.2 s of every server start)
    import duckdb
    import pyarrow as pa

BATCH_ROWS = 65_536
CHUNK_BYTES = 1 << 20
XLSX_MAX_ROWS = 1_048_576  # Excel's sheet limit, header included
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# What a spreadsheet reads as the start of a formula (OWASP "CSV Injection"), as a DuckDB (RE2) pattern.
FORMULA_LEAD = r"^[=+\-@\t\r]"
SPREADSHEETS = ("csv", "xlsx")
COPY_OPTIONS = {
    "csv": "(FORMAT csv, HEADER true)",
    "parquet": "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 65536)",
}


def export_connection(snapshot: Snapshot) -> duckdb.DuckDBPyConnection:
    """A private connection for one export: bounded memory, instants written in UTC, rows in file order (marts are
    stored sorted). One thread: with two, keeping the file order makes DuckDB hold out-of-order batches, and
    exporting fct_applications or applications at xlarge ran out of its 128 MB (a 500); with one the COPY streams
    (measured: CSV of fct_applications 3.0 s, 212 MB peak RSS; Parquet 3.5 s instead of 9.5 s)."""
    conn = snapshot.duckdb()
    conn.execute("SET threads = 1")
    conn.execute("SET memory_limit = '128MB'")
    conn.execute("SET preserve_insertion_order = true")
    conn.execute("SET TimeZone = 'UTC'")
    return conn


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def inert_query(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> str:
    """`sql` with every text column made inert for a spreadsheet: a value that starts like a formula gets a leading
    `'`, so Excel, LibreOffice and Sheets show it as text and never evaluate it. Other columns pass as they are (a
    negative number stays a number); the query is only bound here, not run."""
    relation = conn.sql(sql, params=params)
    columns = []
    for name, type_ in zip(relation.columns, relation.dtypes, strict=True):
        col = _quoted(name)
        if type_.id == "varchar":
            col = f"CASE WHEN regexp_matches({col}, '{FORMULA_LEAD}') THEN '''' || {col} ELSE {col} END AS {col}"
        columns.append(col)
    return f"SELECT {', '.join(columns)} FROM ({sql}) inert"


def copy_chunks(snapshot: Snapshot, sql: str, params: list[Any], fmt: str) -> Iterator[bytes]:
    """DuckDB's COPY of the query as CSV or Parquet, streamed through a named pipe.

    The pipe is opened read-write and non-blocking, so opening never waits for the writer and reads never see a
    false end of file; a second pipe tells when the COPY has finished (then the rest is drained). If the consumer
    stops early (a client hangs up), closing our end makes DuckDB's next write fail, which ends the COPY."""
    conn = export_connection(snapshot)
    folder = tempfile.mkdtemp(prefix="crm-export-")
    fifo = os.path.join(folder, f"export.{fmt}")
    os.mkfifo(fifo, 0o600)
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    done_r, done_w = os.pipe()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            query = inert_query(conn, sql, params) if fmt in SPREADSHEETS else sql
            conn.execute(f"COPY ({query}) TO '{fifo}' {COPY_OPTIONS[fmt]}", params)
        except BaseException as exc:  # reported to the consumer below
            errors.append(exc)
        finally:
            os.write(done_w, b"x")

    worker = threading.Thread(target=run, name="crm-export-copy", daemon=True)
    worker.start()
    finished = False
    try:
        while not finished:
            readable, _, _ = select.select([fd, done_r], [], [])
            if fd in readable and (chunk := _read(fd)):
                yield chunk
                continue
            if done_r in readable:
                while chunk := _read(fd):
                    yield chunk
                finished = True
        worker.join()
        if errors:
            raise errors[0]
    finally:
        if not finished:
            conn.interrupt()
        os.close(fd)
        worker.join(timeout=30)
        os.close(done_r)
        os.close(done_w)
        conn.close()
        shutil.rmtree(folder, ignore_errors=True)


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, CHUNK_BYTES)
    except BlockingIOError:
        return b""


def _cell_columns(batch: pa.RecordBatch) -> list[list[Any]]:
    """Columns as Python values xlsxwriter writes as is: temporals become ISO text (Excel has no time zones)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for column in batch.columns:
        if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
            column = pc.cast(column, pa.string())
        elif pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        columns.append(column.to_pylist())
    return columns


def write_xlsx(snapshot: Snapshot, sql: str, params: list[Any], path: Path, sheet: str) -> None:
    """An XLSX workbook in constant-memory mode; past Excel's row limit the rows continue on a new sheet."""
    import xlsxwriter

    conn = export_connection(snapshot)
    # every string is written as a string: never a formula (the attack), a number or a link
    options = {"constant_memory": True, "strings_to_numbers": False, "strings_to_formulas": False}
    workbook = xlsxwriter.Workbook(str(path), {**options, "strings_to_urls": False})
    try:
        reader = conn.sql(inert_query(conn, sql, params), params=params).to_arrow_reader(BATCH_ROWS)
        bold = workbook.add_format({"bold": True})
        sheet_no, row, worksheet = 0, XLSX_MAX_ROWS, None

        def new_sheet() -> Any:
            nonlocal sheet_no
            sheet_no += 1
            ws = workbook.add_worksheet(sheet[:28] if sheet_no == 1 else f"{sheet[:24]} ({sheet_no})")
            ws.write_row(0, 0, reader.schema.names, bold)
            ws.freeze_panes(1, 0)
            return ws

        for batch in reader:
            for values in zip(*_cell_columns(batch), strict=True):
                if row >= XLSX_MAX_ROWS:
                    worksheet, row = new_sheet(), 1
                worksheet.write_row(row, 0, values)
                row += 1
        if worksheet is None:
            new_sheet()
    finally:
        workbook.close()
        conn.close()


def xlsx_chunks(snapshot: Snapshot, sql: str, params: list[Any], sheet: str) -> Iterator[bytes]:
    """The workbook written to a temporary file, then streamed and removed."""
    fd, name = tempfile.mkstemp(prefix="crm-export-", suffix=".xlsx")
    os.close(fd)
    path = Path(name)
    try:
        write_xlsx(snapshot, sql, params, path, sheet)
        yield from file_chunks(path)
    finally:
        path.unlink(missing_ok=True)


def chunks(snapshot: Snapshot, sql: str, params: list[Any], fmt: str, sheet: str) -> Iterator[bytes]:
    if fmt == "xlsx":
        return xlsx_chunks(snapshot, sql, params, sheet)
    return copy_chunks(snapshot, sql, params, fmt)


def file_chunks(path: Path, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(size):
            yield chunk


__all__ = ["FORMATS", "chunks", "file_chunks"]
