"""Reading a roster file (SPEC §6): CSV (UTF-8 with or without BOM, cp1251 fallback; comma, semicolon or tab), XLSX
(python-calamine) or JSON (a list of objects, or `{"rows": [...]}`), into rows keyed by canonical field names.

Headers are matched tolerantly: case, spaces, dashes and apostrophes do not matter, and Uzbek, Russian and English
aliases are known (`kurs`, `year`, `fio`, `tug'ilgan sana`, ...). Unknown columns are ignored. Cells are returned as
stripped strings (dates from XLSX stay dates), with Excel error cells (`#REF!`, `#N/A`) and blanks as None.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ingest.roster.limits import HEADER_ROWS, MAX_ROWS, check_bytes, check_rows, invalid_file, safe_xlsx

ID = "student_external_id"
FIELDS = (
    ID,
    "program",
    "program_id",
    "program_code",
    "course_year",
    "roster_campaign",
    "is_active",
    "first_name",
    "last_name",
    "full_name",
    "birth_date",
)
_ALIASES: dict[str, tuple[str, ...]] = {
    ID: (
        "student_external_id", "external_id", "student_id", "studentid", "student_no", "student_number", "id",
        "talaba_id", "talaba_id_raqami", "id_raqam", "id_raqami", "hemis_id", "id_студента", "студент_id",
        "номер_студента",
    ),
    "program": (
        "program", "programme", "program_name", "direction", "direction_name", "yonalish", "yonalish_nomi",
        "dastur", "mutaxassislik", "specialty", "speciality", "направление", "программа", "специальность",
    ),
    "program_id": ("program_id", "direction_id"),
    "program_code": ("program_code", "direction_code"),
    "course_year": (
        "course_year", "course", "year", "kurs", "bosqich", "курс", "study_year", "year_of_study", "oquv_yili_kurs",
    ),
    "roster_campaign": ("roster_campaign", "campaign", "kampaniya"),
    "is_active": ("is_active", "active", "faol"),
    "first_name": ("first_name", "firstname", "given_name", "name", "ism", "имя"),
    "last_name": ("last_name", "lastname", "surname", "family_name", "familiya", "фамилия"),
    "full_name": (
        "full_name", "fullname", "fio", "f_i_o", "ф_и_о", "фио", "name_surname", "ism_familiya", "familiya_ism",
        "talaba", "student_name", "talaba_fio", "talabaning_fio",
    ),
    "birth_date": (
        "birth_date", "birthdate", "date_of_birth", "dob", "birthday", "tugilgan_sana", "tugilgan_kun",
        "tugilgan_sanasi", "дата_рождения",
    ),
}  # fmt: skip
_HEADER_MAP = {alias: field for field, aliases in _ALIASES.items() for alias in aliases}
_APOSTROPHES = re.compile(r"['’‘ʻʼ`´]")
_NON_WORD = re.compile(r"[^\w]+")
_EXCEL_ERRORS = frozenset({"#REF!", "#N/A", "#VALUE!", "#DIV/0!", "#NAME?", "#NULL!", "#NUM!", "#GETTING_DATA"})
XLSX_TYPES = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-excel.sheet.macroenabled.12",
    }
)


@dataclass(slots=True)
class RosterTable:
    """The file's rows column by column: `columns[field][i]` is a cell (text, or None when blank) of the row the user
    sees as number `numbers[i]` (spreadsheet row, or 1-based position in a JSON list). `issues` are cells that
    cannot be a value at all (a JSON list or object), as (row, field, message)."""

    columns: dict[str, list[str | None]] = field(default_factory=dict)
    numbers: list[int] = field(default_factory=list)
    issues: list[tuple[int, str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.numbers)


def header_key(header: object) -> str:
    """A header as compared: NFKC, lower case, apostrophes dropped, runs of other non-word characters as `_`."""
    text = unicodedata.normalize("NFKC", str(header or "")).strip().lower()
    return _NON_WORD.sub("_", _APOSTROPHES.sub("", text)).strip("_")


def map_columns(headers: list[Any]) -> list[str | None]:
    """The field of each column; when two columns mean one field, a column named exactly like the field wins,
    else the first (an export with both `id` and `student_external_id` keys on the latter)."""
    keys = [header_key(h) for h in headers]
    mapped = [_HEADER_MAP.get(k) for k in keys]
    chosen: dict[str, int] = {}
    for i, name in enumerate(mapped):
        if name is not None and (name not in chosen or keys[i] == name):
            chosen[name] = i
    return [f if f is not None and chosen[f] == i else None for i, f in enumerate(mapped)]


def clean_text(value: str) -> str | None:
    """A stripped string, or None for blanks and Excel error cells (the fast path for CSV, where all is text)."""
    text = value.strip()
    if not text or (text[0] == "#" and text in _EXCEL_ERRORS):
        return None
    return text


def clean_cell(value: Any) -> Any:
    """A stripped string (integral floats lose their `.0`, dates are ISO), or None for blanks and Excel errors."""
    if isinstance(value, str):
        return clean_text(value)
    if value is None or isinstance(value, bool):
        return None if value is None else ("true" if value else "false")
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    text = str(value).strip()
    return None if not text or text in _EXCEL_ERRORS else text


def _table(rows: Iterable[list[Any]], number_from: int = 1, *, text: bool = False) -> RosterTable:
    """Find the header (the first row naming a student id column), then collect each later row by it; rows with
    no value at all are left out."""
    clean = clean_text if text else clean_cell
    wanted: list[tuple[int, str]] | None = None
    table = RosterTable()
    for number, values in enumerate(rows, start=number_from):
        if wanted is None:
            mapped = map_columns(values)
            if ID in mapped:
                wanted = [(i, c) for i, c in enumerate(mapped) if c is not None]
                table.columns = {c: [] for _, c in wanted}
            elif number - number_from >= HEADER_ROWS:
                break
            continue
        width = len(values)
        cells = [(c, clean(values[i]) if i < width else None) for i, c in wanted]
        if any(v is not None for _, v in cells):
            if len(table.numbers) == MAX_ROWS:
                check_rows(MAX_ROWS + 1)  # refused as soon as it is known, before the rest is read
            table.numbers.append(number)
            for c, v in cells:
                table.columns[c].append(v)
    if wanted is None:
        raise invalid_file(
            "No student id column found in the first rows: name one student_external_id (or student_id, id, talaba_id)."
        )
    return table


def _decode(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise invalid_file("This is not a text (CSV) file; send CSV, XLSX or JSON.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251")
    except UnicodeDecodeError:
        raise invalid_file("The file is neither UTF-8 nor Windows-1251 text; save it as CSV UTF-8.") from None


def _delimiter(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: first.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def read_csv(data: bytes) -> RosterTable:
    text = _decode(data)
    try:
        return _table(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)), text=True)
    except csv.Error as exc:
        raise invalid_file(f"The CSV file cannot be read: {exc}.") from None


def read_xlsx(data: bytes) -> RosterTable:
    from python_calamine import CalamineError, CalamineWorkbook

    data = safe_xlsx(data)  # its size and extent measured first: the reader lays a sheet out densely from A1
    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
        table = sheet.to_python(skip_empty_area=False)
    except (CalamineError, ValueError, IndexError, OSError) as exc:
        raise invalid_file(f"The spreadsheet cannot be read ({exc}); save it as .xlsx or CSV.") from None
    return _table(table)


def read_json(data: bytes) -> RosterTable:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise invalid_file("The JSON cannot be parsed.") from None
    rows = doc.get("rows") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        raise invalid_file('Send a JSON list of rows, or {"rows": [...]}.')
    check_rows(len(rows))
    table = RosterTable(columns={f: [] for f in FIELDS})
    for number, item in enumerate(rows, start=1):
        if not isinstance(item, dict):
            raise invalid_file(f"Row {number} of the JSON list is not an object.")
        cells: dict[str, str | None] = {}
        keys = list(item)
        for key, name in zip(keys, map_columns(keys), strict=True):
            if name is None:
                continue
            value = item[key]
            if isinstance(value, dict | list):
                table.issues.append((number, name, f"{name} must be a single value, not a list or object."))
                value = None
            cells[name] = clean_cell(value)
        table.numbers.append(number)
        for name in FIELDS:
            table.columns[name].append(cells.get(name))
    return table


def sniff_format(data: bytes, filename: str | None, content_type: str | None) -> str:
    """`csv`, `xlsx` or `json`, from the content type, then the file name, then the first bytes."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    name = (filename or "").lower()
    if data[:4] == b"PK\x03\x04" or media in XLSX_TYPES or name.endswith((".xlsx", ".xlsm")):
        return "xlsx"
    if media == "application/json" or name.endswith(".json"):
        return "json"
    if media in ("text/csv", "application/csv") or name.endswith((".csv", ".txt")):
        return "csv"
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    return "json" if head in (b"[", b"{") else "csv"


def read_roster_file(data: bytes, filename: str | None = None, content_type: str | None = None) -> RosterTable:
    """Every data row of the file; 400 INVALID_FILE when it cannot be read at all or is over a limit
    (`ingest.roster.limits`)."""
    check_bytes(len(data))
    if not data.strip():
        raise invalid_file("The file is empty.")
    kind = sniff_format(data, filename, content_type)
    return {"xlsx": read_xlsx, "json": read_json, "csv": read_csv}[kind](data)
