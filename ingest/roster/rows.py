"""Validating and merging the rows of a roster file (SPEC §6), column by column with polars: each distinct cell
value is parsed once (a roster repeats few programs, years and dates), so 100,000 rows take a fraction of a second.

A row with a problem is left out and each problem reported as (row, field, message); rows without a student id are
skipped and counted; rows of the same student are merged, later non-blank values winning (blank = not supplied).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from ingest.contracts.fields import STUDENT_ID_MAX, normalise_student_id
from ingest.roster.file import FIELDS, ID, RosterTable

# The roster fields a file may set, and their types once parsed (program ids as text until staged).
VALUES: dict[str, pl.DataType] = {
    "program_id": pl.Utf8(),
    "course_year": pl.Int16(),
    "roster_campaign": pl.Utf8(),
    "is_active": pl.Boolean(),
    "first_name": pl.Utf8(),
    "last_name": pl.Utf8(),
    "birth_date": pl.Date(),
}
FIELD_ORDER = (ID, "program_id", "program_code", "program", "course_year", "roster_campaign", "is_active")
FIELD_ORDER += ("first_name", "last_name", "full_name", "birth_date")
MIN_BIRTH_DATE = date(1900, 1, 1)
_LIMITS = {ID: 100, "roster_campaign": 64, "first_name": 150, "last_name": 150, "full_name": 301}
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
_YMD = re.compile(r"^(\d{4})[./-](\d{1,2})[./-](\d{1,2})$")
_COURSE = re.compile(r"^\s*([1-5])(?:\.0+)?\s*(?:-?\s*(?:kurs|курс|course|year|bosqich))?\s*$", re.IGNORECASE)
_ID_SHAPE = r"^[A-Za-z0-9]+(?:[-/.][A-Za-z0-9]+)*$"  # contracts.fields.STUDENT_ID_PATTERN but its digit lookahead
_TRUE = frozenset({"true", "1", "yes", "y", "ha", "да", "active", "faol"})
_FALSE = frozenset({"false", "0", "no", "n", "yoq", "нет", "inactive", "nofaol"})


@dataclass(frozen=True, slots=True)
class ProgramLookup:
    """Programs and directions by code (exact, then any case), name (any language, any case, when unique) or id."""

    ids: frozenset[uuid.UUID]
    codes: dict[str, uuid.UUID]
    folded: dict[str, uuid.UUID]

    def find(self, value: str) -> uuid.UUID | None:
        found = self.codes.get(value) or self.folded.get(value.casefold())
        if found is not None:
            return found
        try:
            as_id = uuid.UUID(value)
        except ValueError:
            return None
        return as_id if as_id in self.ids else None


@dataclass(slots=True)
class Validated:
    """One row per student (`student_external_id`, `row_number` = its last row, then the VALUES, null = not
    supplied), the count of rows without an id, and the problems as (row, field, message)."""

    frame: pl.DataFrame
    skipped: int
    issues: list[tuple[int, str, str]]


class _Bad(Exception):
    pass


# --- one cell value ----------------------------------------------------------------------------------------------


def course_year_of(value: str) -> int:
    match = _COURSE.match(value)
    if match is None:
        raise _Bad(f"course_year must be 1..5 (5 = graduated), not {value}.")
    return int(match.group(1))


def is_active_of(value: str) -> bool:
    text = value.strip().casefold().replace("'", "").replace("’", "")
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Bad(f"is_active must be true or false, not {value}.")


def birth_date_of(value: str) -> date:
    """DD.MM.YYYY, DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD; a time part is ignored."""
    text = value.strip().split(" ", 1)[0].split("T", 1)[0]
    day = None
    if match := _DMY.match(text):
        d, m, y = match.groups()
    elif match := _YMD.match(text):
        y, m, d = match.groups()
    else:
        raise _Bad(f"birth_date {value} is not a date such as 31.12.2004.")
    try:
        day = date(int(y), int(m), int(d))
    except ValueError:
        raise _Bad(f"birth_date {value} is not a date such as 31.12.2004.") from None
    if not MIN_BIRTH_DATE <= day <= date.today():
        raise _Bad(f"birth_date {day.isoformat()} is not a plausible birth date.")
    return day


# --- columns -----------------------------------------------------------------------------------------------------


def _parse_column(column: pl.Series, parse: Callable[[str], Any], dtype: pl.DataType) -> tuple[pl.Series, pl.Series]:
    """(parsed values, error messages) of a text column, parsing each distinct value once."""
    distinct = column.drop_nulls().unique().to_list()
    values: list[Any] = []
    errors: list[str | None] = []
    for raw in distinct:
        try:
            values.append(parse(raw))
            errors.append(None)
        except _Bad as bad:
            values.append(None)
            errors.append(str(bad))
    parsed = column.replace_strict(distinct, values, default=None, return_dtype=dtype)
    messages = column.replace_strict(distinct, errors, default=None, return_dtype=pl.Utf8)
    return parsed, messages


def _program_columns(frame: pl.DataFrame, programs: ProgramLookup) -> pl.DataFrame:
    """`program_id` (text) from the first given of program_id, program_code, program; errors under that name."""

    def find(value: str) -> str:
        found = programs.find(value)
        if found is None:
            raise _Bad(f"Unknown program {value}: give the code, id or name of a program or direction.")
        return str(found)

    given = pl.lit(False)
    value: Any = pl.lit(None, dtype=pl.Utf8)
    out: dict[str, Any] = {}
    for name in ("program_id", "program_code", "program"):
        parsed, errors = _parse_column(frame[name], find, pl.Utf8())
        this = frame[name].is_not_null() & ~given
        value = pl.when(this).then(parsed).otherwise(value)
        out[f"e_{name}"] = pl.when(this).then(errors).otherwise(None)
        given = given | frame[name].is_not_null()
    return frame.with_columns(program_id_value=value, **out)


def _name_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """First and last name; a merged full name ("Familiya Ism Otasining ismi") is split at its first space."""
    parts = pl.col("full_name").str.splitn(" ", 2)
    use_full = pl.col("first_name").is_null() & pl.col("last_name").is_null() & pl.col("full_name").is_not_null()
    rest = parts.struct.field("field_1").str.strip_chars()
    return frame.with_columns(
        last_name=pl.when(use_full).then(parts.struct.field("field_0")).otherwise(pl.col("last_name")),
        first_name=pl.when(use_full).then(pl.when(rest != "").then(rest)).otherwise(pl.col("first_name")),
    )


def student_id_of(value: str) -> str:
    """The id by the one rule the bots and the server share (`contracts.fields.normalise_student_id`)."""
    found = normalise_student_id(value)
    if found is None:
        raise _Bad(f"student_external_id {value} is not a student id such as SE54321 or S1-000001.")
    return found


def _student_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """The ids by the rule; an id spelled in another case than its first row in the file is an error (ids match in
    any case: two spellings would be one student with two names)."""
    raw = frame[ID]
    # Ids already in their normal form (nearly all) are checked in one pass; the rest one by one, as the bots do.
    clean = raw.str.contains(_ID_SHAPE) & raw.str.contains("[0-9]") & (raw.str.len_chars() <= STUDENT_ID_MAX)
    ids, errors = _parse_column(
        raw.zip_with(~clean, pl.Series([None] * len(raw), dtype=pl.Utf8)), student_id_of, pl.Utf8()
    )
    frame = frame.with_columns(raw.zip_with(clean, ids).alias(f"{ID}_value"), errors.alias(f"e_{ID}"))
    value = pl.col(f"{ID}_value")
    key = value.str.to_lowercase()
    first, first_row = value.first().over(key), pl.col("row_number").first().over(key)
    message = pl.format(
        "student_external_id {} is {} of row {} in another case; spell it one way.", value, first, first_row
    )
    return frame.with_columns(pl.when(value.is_not_null() & (value != first)).then(message).alias(f"e_{ID}_case"))


def _length_errors(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        **{
            f"e_{name}_len": pl.when(pl.col(name).str.len_chars() > limit).then(
                pl.lit(f"{name} is longer than {limit} characters.")
            )
            for name, limit in _LIMITS.items()
        }
    )


def _frame(table: RosterTable) -> pl.DataFrame:
    data = {f: table.columns.get(f) or [None] * len(table) for f in FIELDS}
    schema: dict[str, Any] = {f: pl.Utf8 for f in FIELDS} | {"row_number": pl.Int64}
    return pl.DataFrame({**data, "row_number": table.numbers}, schema=schema)


def _issues(frame: pl.DataFrame, error_columns: list[str]) -> list[tuple[int, str, str]]:
    """Every problem as (row, field, message), ordered by row and then by column."""
    order = {name: i for i, name in enumerate(FIELD_ORDER)}
    found: list[tuple[int, int, str, str]] = []
    for column in error_columns:
        field = column.removeprefix("e_").removesuffix("_len").removesuffix("_case")
        bad = frame.filter(pl.col(column).is_not_null()).select("row_number", column)
        found += [(row, order.get(field, 99), field, message) for row, message in bad.iter_rows()]
    found.sort()
    return [(row, field, message) for row, _, field, message in found]


def validate(table: RosterTable, programs: ProgramLookup) -> Validated:
    """Check every row and merge rows of the same student."""
    frame = _frame(table)
    skipped = frame[ID].null_count()
    frame = _student_ids(_name_columns(_length_errors(frame.filter(pl.col(ID).is_not_null()))))
    frame = _program_columns(frame, programs)
    parsers = {"course_year": course_year_of, "is_active": is_active_of, "birth_date": birth_date_of}
    for name, parse in parsers.items():
        parsed, errors = _parse_column(frame[name], parse, VALUES[name])
        frame = frame.with_columns(parsed.alias(f"{name}_value"), errors.alias(f"e_{name}"))
    errors = [c for c in frame.columns if c.startswith("e_")]
    issues = _issues(frame, errors) + [(r, f, m) for r, f, m in table.issues]
    bad_rows = {row for row, _, _ in issues}
    good = frame.filter(~pl.col("row_number").is_in(list(bad_rows)))
    good = good.with_columns(
        pl.col(f"{ID}_value").alias(ID),
        program_id=pl.col("program_id_value"),
        course_year=pl.col("course_year_value"),
        is_active=pl.col("is_active_value"),
        birth_date=pl.col("birth_date_value"),
    )
    merged = good.group_by(ID, maintain_order=True).agg(
        pl.col("row_number").max(), *(pl.col(c).drop_nulls().last() for c in VALUES)
    )
    issues.sort(key=lambda issue: (issue[0], FIELD_ORDER.index(issue[1]) if issue[1] in FIELD_ORDER else 99))
    return Validated(merged, skipped, issues)
