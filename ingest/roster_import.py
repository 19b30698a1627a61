"""Roster import (SPEC §6), shared by `POST /admin/roster/import` and `crm roster import`: validate the rows of a
roster file, merge duplicates, and upsert by `student_external_id` with bulk statements.

Rules: the file wins over the database and the last row of a student id wins within the file, but a blank cell
never wipes a stored value (blank means "not supplied"); rows without an id are skipped and counted; an unknown
program, a bad course year or date is an error of that row (the row is left out, the others are imported). Roster
rows are updated in place (same id), so students and survey responses stay attached, and survey history is never
rewritten: a response keeps the program and year it was given with.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import anyio
import msgspec
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    and_,
    case,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.audit import record_audit
from ingest.program_refs import PROGRAM_TYPES
from ingest.roster_file import ID, RawRow
from ingest.schema import CatalogItem, RosterEntry, utcnow
from ingest.upsert import dialect_insert

_roster = RosterEntry.__table__
WRITE_CHUNK = 5000
MAX_ERRORS_LISTED = 1000
MIN_BIRTH_DATE = date(1900, 1, 1)
# Fields a file may set on a roster row (`metadata` stays as the dashboard left it).
UPDATABLE = ("program_id", "course_year", "roster_campaign", "is_active", "first_name", "last_name", "birth_date")
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
_YMD = re.compile(r"^(\d{4})[./-](\d{1,2})[./-](\d{1,2})$")
_COURSE = re.compile(r"^\s*([1-5])(?:\.0+)?\s*(?:-?\s*(?:kurs|курс|course|year|bosqich))?\s*$", re.IGNORECASE)
_TRUE = frozenset({"true", "1", "yes", "y", "ha", "да", "active", "faol"})
_FALSE = frozenset({"false", "0", "no", "n", "yoq", "yo'q", "нет", "inactive", "nofaol"})


class RowIssue(msgspec.Struct, kw_only=True):
    row: int
    field: str
    message: str


class ImportResult(msgspec.Struct, kw_only=True):
    """Counts are per student id; `errors` lists at most 1,000 problems, `error_count` says how many there were."""

    created: int
    updated: int
    unchanged: int
    skipped: int
    errors: list[RowIssue]
    error_count: int
    dry_run: bool


@dataclass(slots=True)
class Pending:
    """What the file says about one student: the non-blank values of all its rows, later rows winning."""

    values: dict[str, Any] = field(default_factory=dict)
    last_row: int = 0


@dataclass(slots=True)
class Parsed:
    pending: dict[str, Pending]
    skipped: int
    errors: list[RowIssue]


# --- programs ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProgramLookup:
    """Programs and directions by id, code (exact, then any case) and name (any language, any case, if unique)."""

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


async def load_programs(session: AsyncSession) -> ProgramLookup:
    rows = (
        await session.execute(
            select(
                CatalogItem.id,
                CatalogItem.type,
                CatalogItem.code,
                CatalogItem.name,
                CatalogItem.name_uz,
                CatalogItem.name_ru,
                CatalogItem.name_en,
            ).where(CatalogItem.type.in_(PROGRAM_TYPES))
        )
    ).all()
    # Directions first and programs after, so a code or name shared by both means the program.
    rows.sort(key=lambda r: r.type == "program")
    codes = {r.code: r.id for r in rows}
    folded = {r.code.casefold(): r.id for r in rows}
    names: dict[str, set[uuid.UUID]] = {}
    for r in rows:
        for name in (r.name, r.name_uz, r.name_ru, r.name_en):
            if name and name.strip():
                names.setdefault(name.strip().casefold(), set()).add(r.id)
    for name, ids in names.items():
        if len(ids) == 1 and name not in folded:  # a name two items share identifies neither
            folded[name] = next(iter(ids))
    return ProgramLookup(frozenset(r.id for r in rows), codes, folded)


# --- validating rows (pure, CPU only) ----------------------------------------------------------------------------


class _Bad(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message


def _text(cells: dict[str, Any], name: str, limit: int) -> str | None:
    value = cells.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(name, f"{name} must be text.")
    if len(value) > limit:
        raise _Bad(name, f"{name} is longer than {limit} characters.")
    return value


def _course_year(value: Any) -> int:
    match = _COURSE.match(str(value))
    if match is None:
        raise _Bad("course_year", f"course_year must be 1..5 (5 = graduated), not {value!s}.")
    return int(match.group(1))


def _is_active(value: Any) -> bool:
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Bad("is_active", f"is_active must be true or false, not {value!s}.")


def _day_of(text: str) -> date | None:
    if match := _DMY.match(text):
        day, month, year = match.groups()
    elif match := _YMD.match(text):
        year, month, day = match.groups()
    else:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def parse_date(value: Any) -> date:
    """DD.MM.YYYY, DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD (a time part is ignored); dates from XLSX as they are."""
    day = value if isinstance(value, date) else _day_of(str(value).strip().split(" ", 1)[0].split("T", 1)[0])
    if day is None:
        raise _Bad("birth_date", f"birth_date {value!s} is not a date such as 31.12.2004.")
    if not MIN_BIRTH_DATE <= day <= date.today():
        raise _Bad("birth_date", f"birth_date {day.isoformat()} is not a plausible birth date.")
    return day


def _names(cells: dict[str, Any]) -> dict[str, str]:
    """First and last name; a merged full name ("Familiya Ism Otasining ismi") is split at its first space."""
    first, last = _text(cells, "first_name", 150), _text(cells, "last_name", 150)
    full = _text(cells, "full_name", 301)
    if full and not (first or last):
        last, _, rest = full.partition(" ")
        first = rest.strip() or None
        if len(last) > 150 or (first and len(first) > 150):
            raise _Bad("full_name", "full_name parts are longer than 150 characters.")
    return {k: v for k, v in (("first_name", first), ("last_name", last)) if v}


class RowParser:
    """Validates rows; a roster repeats few distinct programs, years and dates, so each distinct cell value is
    parsed once (100,000 rows in well under a second)."""

    def __init__(self, programs: ProgramLookup) -> None:
        self.programs = programs
        self._cache: dict[tuple[str, Any], Any] = {}

    def _cached(self, field: str, value: Any, parse: Any) -> Any:
        if isinstance(value, dict | list):
            raise _Bad(field, f"{field} must be a single value, not a list or object.")
        key = (field, value)
        try:
            found = self._cache[key]
        except KeyError:
            try:
                found = parse(value)
            except _Bad as bad:
                found = bad
            self._cache[key] = found
        if isinstance(found, _Bad):
            raise found
        return found

    def _find_program(self, value: Any) -> uuid.UUID:
        found = self.programs.find(str(value)) if isinstance(value, str | int) else None
        if found is None:
            raise _Bad("", f"Unknown program {value!s}: give the code, id or name of a program or direction.")
        return found

    def _program(self, cells: dict[str, Any]) -> uuid.UUID | None:
        for name in ("program_id", "program_code", "program"):
            value = cells.get(name)
            if value is None:
                continue
            try:
                return self._cached("program", value, self._find_program)
            except _Bad as bad:
                raise _Bad(name, bad.message) from None
        return None

    def values(self, cells: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The supplied values of one row (blanks left out) and its problems as (field, message)."""
        values: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        try:
            if (program := self._program(cells)) is not None:
                values["program_id"] = program
        except _Bad as bad:
            problems.append((bad.field, bad.message))
        for name, parse in (("course_year", _course_year), ("is_active", _is_active), ("birth_date", parse_date)):
            raw = cells.get(name)
            if raw is None:
                continue
            try:
                values[name] = self._cached(name, raw, parse)
            except _Bad as bad:
                problems.append((bad.field, bad.message))
        try:
            if (campaign := _text(cells, "roster_campaign", 64)) is not None:
                values["roster_campaign"] = campaign
            values.update(_names(cells))
        except _Bad as bad:
            problems.append((bad.field, bad.message))
        return values, problems


def parse_rows(rows: Sequence[RawRow], programs: ProgramLookup) -> Parsed:
    """Validate every row and merge rows of the same student (later non-blank values win)."""
    parsed = Parsed({}, 0, [])
    parser = RowParser(programs)
    for raw in rows:
        external_id = raw.cells.get(ID)
        if external_id is None:
            parsed.skipped += 1
            continue
        external_id = str(external_id).strip()
        if len(external_id) > 100:
            parsed.errors.append(RowIssue(row=raw.number, field=ID, message="The student id is over 100 characters."))
            continue
        values, problems = parser.values(raw.cells)
        if problems:
            parsed.errors += [RowIssue(row=raw.number, field=f, message=m) for f, m in problems]
            continue
        entry = parsed.pending.get(external_id)
        if entry is None:
            parsed.pending[external_id] = Pending(values, raw.number)
        else:
            entry.values.update(values)
            entry.last_row = raw.number
    return parsed


# --- writing: a staging table and set-based statements ----------------------------------------------------------

_stage_meta = MetaData()
# What the file says per student, NULL meaning "not supplied"; `id` is the id a new roster row will get.
_stage = Table(
    "roster_import_stage",
    _stage_meta,
    Column("student_external_id", String(100), primary_key=True),
    Column("row_number", Integer, nullable=False),
    Column("id", Uuid, nullable=False),
    *(Column(c, _roster.c[c].type) for c in UPDATABLE),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
_STAGE_COLUMNS = ("student_external_id", "row_number", "id", *UPDATABLE)
_DEFAULTS: dict[str, Any] = {"roster_campaign": "default", "is_active": True, "first_name": "", "last_name": ""}
_r = _roster
_s = _stage


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stage_rows(pending: dict[str, Pending]) -> list[tuple[Any, ...]]:
    return [
        (external_id, entry.last_row, uuid.uuid4(), *(entry.values.get(c) for c in UPDATABLE))
        for external_id, entry in pending.items()
    ]


async def _load_stage(session: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
    """Create the staging table and fill it: COPY on Postgres, one executemany on SQLite."""
    connection = await session.connection()
    await connection.run_sync(lambda c: _stage.drop(c, checkfirst=True))
    await connection.run_sync(_stage.create)
    if not rows:
        return
    if _is_postgres(session):
        driver = (await connection.get_raw_connection()).driver_connection
        async with (
            driver.cursor() as cur,
            cur.copy(f"COPY {_stage.name} ({', '.join(_STAGE_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                await copy.write_row(row)
        return
    for chunk in _chunks(rows, WRITE_CHUNK):
        await session.execute(insert(_stage), [dict(zip(_STAGE_COLUMNS, row, strict=True)) for row in chunk])


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"  # type: ignore[union-attr]


def _changed() -> Any:
    """A stored row differs from what the file supplies (a blank in the file supplies nothing)."""
    return or_(*(and_(_s.c[c].is_not(None), _s.c[c].is_distinct_from(_r.c[c])) for c in UPDATABLE))


def _is_new_and_complete() -> Any:
    return and_(_r.c.id.is_(None), _s.c.program_id.is_not(None), _s.c.course_year.is_not(None))


async def _count(session: AsyncSession) -> tuple[int, int, int]:
    """(created, updated, unchanged) in one statement over the stage joined to the roster."""
    joined = _s.outerjoin(_r, _r.c.student_external_id == _s.c.student_external_id)
    exists_ = _r.c.id.is_not(None)
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(case((_is_new_and_complete(), 1), else_=0)), 0),
                func.coalesce(func.sum(case((and_(exists_, _changed()), 1), else_=0)), 0),
                func.coalesce(func.sum(case((and_(exists_, not_(_changed())), 1), else_=0)), 0),
            ).select_from(joined)
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def _incomplete_new(session: AsyncSession) -> list[RowIssue]:
    """New students the file gives no program or no course year for."""
    joined = _s.outerjoin(_r, _r.c.student_external_id == _s.c.student_external_id)
    query = (
        select(_s.c.row_number, _s.c.program_id, _s.c.course_year)
        .select_from(joined)
        .where(_r.c.id.is_(None), or_(_s.c.program_id.is_(None), _s.c.course_year.is_(None)))
    )
    issues = []
    for row in await session.execute(query):
        for name, value in (("program", row.program_id), ("course_year", row.course_year)):
            if value is None:
                issues.append(
                    RowIssue(row=row.row_number, field=name, message=f"{name} is required for a new student.")
                )
    return issues


async def _apply(session: AsyncSession) -> None:
    """UPDATE the changed stored rows in place (ids kept, so students and survey responses stay attached), then
    INSERT the new complete ones."""
    now = utcnow()
    await session.execute(
        update(_r)
        .where(_r.c.student_external_id == _s.c.student_external_id, _changed())
        .values({c: func.coalesce(_s.c[c], _r.c[c]) for c in UPDATABLE} | {"updated_at": now})
    )
    new = (
        select(
            _s.c.id,
            _s.c.student_external_id,
            *(func.coalesce(_s.c[c], _DEFAULTS[c]) if c in _DEFAULTS else _s.c[c] for c in UPDATABLE),
            literal({}, _r.c.metadata.type),
            literal(now, _r.c.created_at.type),
            literal(now, _r.c.updated_at.type),
        )
        .select_from(_s.outerjoin(_r, _r.c.student_external_id == _s.c.student_external_id))
        .where(_is_new_and_complete())
    )
    columns = ["id", "student_external_id", *UPDATABLE, "metadata", "created_at", "updated_at"]
    stmt = dialect_insert(session, _r).from_select(columns, new)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[_r.c.student_external_id]))


async def import_rows(session: AsyncSession, rows: Sequence[RawRow], *, dry_run: bool = False) -> ImportResult:
    """Validate and merge the rows, stage them, count, and (unless `dry_run`) upsert, in the session's transaction;
    a handful of statements whatever the number of rows."""
    programs = await load_programs(session)
    parsed = await anyio.to_thread.run_sync(parse_rows, rows, programs)
    await _load_stage(session, await anyio.to_thread.run_sync(_stage_rows, parsed.pending))
    created, updated, unchanged = await _count(session)
    incomplete = await _incomplete_new(session)
    if not dry_run:
        await _apply(session)
    connection = await session.connection()
    await connection.run_sync(_stage.drop)
    errors = sorted(parsed.errors + incomplete, key=lambda e: e.row)
    return ImportResult(
        created=created,
        updated=updated,
        unchanged=unchanged,
        skipped=parsed.skipped,
        errors=errors[:MAX_ERRORS_LISTED],
        error_count=len(errors),
        dry_run=dry_run,
    )


async def audit_import(
    session: AsyncSession,
    result: ImportResult,
    *,
    source: str,
    actor_type: str,
    actor_user_id: uuid.UUID | None = None,
    context: dict[str, Any] | None = None,
) -> None:
    """One audit row per import that wrote something (dry runs write nothing, so they leave no trace)."""
    if result.dry_run:
        return
    await record_audit(
        session,
        actor_type=actor_type,
        action="update",
        entity_table="bot2_roster",
        actor_user_id=actor_user_id,
        after={
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "skipped": result.skipped,
            "errors": result.error_count,
        },
        meta={"type": "roster_import", "source": source},
        **(context or {}),
    )
