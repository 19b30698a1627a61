"""How big a roster file may be, checked before it is parsed, so that no upload can exhaust the server's memory.

A spreadsheet is the dangerous kind: a 1.5 KB XLSX with one cell at A1 and one at XFD1048576 makes a dense reader
allocate 512 GiB and abort the process, and a small ZIP can inflate to gigabytes. So an XLSX is unpacked here first,
member by member with Python's own bounded reader (a member's declared size caps what is read, and its CRC is
checked), its worksheets' declared dimension and real cell positions are measured, and only then is it handed to
the reader, repacked from exactly the bytes that were measured (so a ZIP whose headers lie cannot grow later).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

from ingest.core.problems import ProblemError

MAX_FILE_BYTES = 20 * 1024 * 1024  # the file as sent; CSV and JSON are read as they are
MAX_XLSX_BYTES = 100 * 1024 * 1024  # an XLSX once unpacked: its XML takes 5-8 times the CSV (100,000 rows: 36 MB)
MAX_ROWS = 200_000  # data rows; twice what SPEC §6 asks to import in seconds
MAX_CELLS = 4_000_000  # rows × columns of a sheet from A1, as a spreadsheet reader lays it out (200,000 × 20)
HEADER_ROWS = 20  # how far down the header row may be (rows above it are titles)
MAX_SHEET_ROWS = MAX_ROWS + HEADER_ROWS
MAX_EXCEL_ROWS, MAX_EXCEL_COLUMNS = 1_048_576, 16_384
MB = 1024 * 1024

# the members of an XLSX a reader needs; anything else (images, VBA, printer settings) is dropped
_XLSX_PARTS = re.compile(r"^(\[Content_Types\]\.xml|_rels/.*\.rels|docProps/.*\.xml|xl/.*\.(xml|rels))$")
_PREFIX = rb"<(?:[A-Za-z_][\w.-]*:)?"
_ROW_OR_CELL = re.compile(_PREFIX + rb"(row|c)(?=[\s/>])([^>]*)>")
_R_ATTR = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([A-Za-z]*)(\d*)[\"']")
_IRREGULAR_CELL = re.compile(rb'<c(?:[>/\t\n\r]| (?!r="))')  # a cell tag that does not start `<c r="`
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
_CELL_ROW = re.compile(rb'<c r="[A-Za-z]+(\d+)"')
_CELL_COLUMN = re.compile(rb'<c r="([A-Za-z]+)\d')
_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s[^>]*ref\s*=\s*[\"']([^\"']*)[\"']")
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


def invalid_file(detail: str) -> ProblemError:
    return ProblemError(400, "INVALID_FILE", detail, field="file")


def check_bytes(size: int, what: str = "The file", limit: int = MAX_FILE_BYTES) -> None:
    if size > limit:
        raise invalid_file(
            f"{what} is {size / MB:.1f} MB; at most {limit // MB} MB are read. Split the roster into several files."
        )


def check_rows(rows: int) -> None:
    if rows > MAX_ROWS:
        raise invalid_file(f"The file has more than {MAX_ROWS:,} rows; import at most {MAX_ROWS:,} rows per file.")


def read_bounded(path: Path) -> bytes:
    """A roster file from disk (the CLI), refused by its size before it is read."""
    check_bytes(path.stat().st_size)
    return path.read_bytes()


def _column(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _check_extent(rows: int, columns: int, what: str) -> None:
    if rows > MAX_SHEET_ROWS:
        raise invalid_file(
            f"The sheet {what} {rows:,} rows; at most {MAX_ROWS:,} rows are read. Delete the rows below the "
            "roster (or far-away cells), or split the file."
        )
    if rows * columns > MAX_CELLS:
        raise invalid_file(
            f"The sheet {what} {rows:,} rows × {columns:,} columns from A1; at most {MAX_CELLS:,} cells are read. "
            "Delete the far-away cells and empty columns, or save the roster as CSV."
        )


def _check_dimension(xml: bytes) -> None:
    """The `<dimension ref="A1:XFD1048576">` a sheet declares (a reader may size its grid by it)."""
    found = _DIMENSION.search(xml)
    if not found:
        return
    last = found.group(1).decode("ascii", "replace").split(":")[-1]
    ref = _REF.match(last)
    if ref:
        _check_extent(int(ref.group(2)), _column(ref.group(1)), "declares")


def _extent_of_named_cells(xml: bytes) -> tuple[int, int] | None:
    """The largest row and column when every cell starts `<c r="B7"` (as spreadsheet programs write them), read
    with a few scans that build no object per cell; None for any other shape."""
    if _IRREGULAR_CELL.search(xml) or _PREFIXED.search(xml):
        return None
    rows = _CELL_ROW.findall(xml)
    if len(rows) != xml.count(b'<c r="'):
        return None
    columns = set(_CELL_COLUMN.findall(xml))
    return max(map(int, set(rows)), default=0), max((_column(c.decode()) for c in columns), default=0)


def _walked_extent(xml: bytes) -> tuple[int, int]:
    """The largest row and column, walking rows and cells in order: a row or cell without `r` is the next one."""
    row = max_row = max_col = col = 0
    for match in _ROW_OR_CELL.finditer(xml):
        tag, attrs = match.groups()
        ref = _R_ATTR.search(attrs)
        if tag == b"row":
            row = int(ref.group(2)) if ref and ref.group(2) else row + 1
            col = 0
            continue
        letters, digits = (ref.group(1), ref.group(2)) if ref else (b"", b"")
        col = _column(letters.decode()) if letters else col + 1
        max_row, max_col = max(max_row, int(digits) if digits else row), max(max_col, col)
    return max_row, max_col


def _check_cells(xml: bytes) -> None:
    """Where the sheet's cells really are (a reader lays them out densely from A1)."""
    max_row, max_col = _extent_of_named_cells(xml) or _walked_extent(xml)
    if max_row > MAX_EXCEL_ROWS or max_col > MAX_EXCEL_COLUMNS:
        raise invalid_file("The sheet has a cell outside Excel's grid; save it again from a spreadsheet program.")
    _check_extent(max_row, max_col, "spans")


def safe_xlsx(data: bytes) -> bytes:
    """The XLSX repacked from its measured parts, or 400 INVALID_FILE naming the limit it breaks. One member is
    unpacked at a time, measured and stored (not compressed again: the reader would only unpack it once more)."""
    out = io.BytesIO()
    unpacked = "The spreadsheet unpacked"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [i for i in archive.infolist() if _XLSX_PARTS.match(i.filename) and not i.is_dir()]
        if not any(i.filename == "xl/workbook.xml" for i in members):
            raise invalid_file("This is not an .xlsx workbook; save it as .xlsx or CSV.")
        check_bytes(sum(i.file_size for i in members), unpacked, MAX_XLSX_BYTES)
        total = 0
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as repacked:
            for info in members:
                with archive.open(info) as member:
                    content = member.read(MAX_XLSX_BYTES - total + 1)
                total += len(content)
                check_bytes(total, unpacked, MAX_XLSX_BYTES)
                if b"sheetData" in content:
                    _check_dimension(content)
                    _check_cells(content)
                repacked.writestr(info.filename, content)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError, RuntimeError,
            ValueError, zlib.error) as exc:  # fmt: skip
        raise invalid_file(f"The spreadsheet cannot be read ({exc}); save it as .xlsx or CSV.") from None
    return out.getvalue()
