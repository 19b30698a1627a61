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
from datetime import date, datetime
from typing import Any

import anyio
import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.audit import record_audit
from ingest.program_refs import PROGRAM_TYPES
from ingest.roster_file import ID, RawRow
from ingest.schema import CatalogItem, RosterEntry, utcnow
from ingest.upsert import dialect_insert

_roster = RosterEntry.__table__
WRITE_CHUNK = 5000
FETCH_CHUNK = 5000
MAX_ERRORS_LISTED = 1000
MIN_BIRTH_DATE = date(1900, 1, 1)
# Fields a file may set on a roster row (`metadata` stays as the dashboard left it).
UPDATABLE = ("program_id", "course_year", "roster_campaign", "is_active", "first_name", "last_name", "birth_date")
_DATE_FORMATS = ("%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d")
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
        try:
            as_id = uuid.UUID(value)
        except ValueError:
            as_id = None
        if as_id is not None:
            return as_id if as_id in self.ids else None
        return self.codes.get(value) or self.folded.get(value.casefold())


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


def _program(cells: dict[str, Any], programs: ProgramLookup) -> uuid.UUID | None:
    for name in ("program_id", "program_code", "program"):
        value = cells.get(name)
        if value is None:
            continue
        found = programs.find(str(value)) if isinstance(value, str | int) else None
        if found is None:
            raise _Bad(name, f"Unknown program {value!s}: give the code, id or name of a program or direction.")
        return found
    return None


def _course_year(value: Any) -> int | None:
    if value is None:
        return None
    match = _COURSE.match(str(value))
    if match is None:
        raise _Bad("course_year", f"course_year must be 1..5 (5 = graduated), not {value!s}.")
    return int(match.group(1))


def _is_active(value: Any) -> bool | None:
    if value is None:
        return None
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _Bad("is_active", f"is_active must be true or false, not {value!s}.")


def parse_date(value: Any) -> date | None:
    """DD.MM.YYYY, DD-MM-YYYY, DD/MM/YYYY or ISO (a time part is ignored); dates from XLSX as they are."""
    if value is None:
        return None
    if isinstance(value, date):
        day = value
    else:
        text = str(value).strip().split(" ", 1)[0].split("T", 1)[0]
        day = None
        for fmt in _DATE_FORMATS:
            try:
                day = datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
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


def row_values(cells: dict[str, Any], programs: ProgramLookup) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The supplied values of one row (blanks left out) and its problems as (field, message)."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    steps = (
        ("program_id", lambda: _program(cells, programs)),
        ("course_year", lambda: _course_year(cells.get("course_year"))),
        ("roster_campaign", lambda: _text(cells, "roster_campaign", 64)),
        ("is_active", lambda: _is_active(cells.get("is_active"))),
        ("birth_date", lambda: parse_date(cells.get("birth_date"))),
        ("names", lambda: _names(cells)),
    )
    for name, step in steps:
        try:
            value = step()
        except _Bad as bad:
            problems.append((bad.field, bad.message))
            continue
        if name == "names":
            values.update(value)
        elif value is not None:
            values[name] = value
    return values, problems


def parse_rows(rows: Sequence[RawRow], programs: ProgramLookup) -> Parsed:
    """Validate every row and merge rows of the same student (later non-blank values win)."""
    parsed = Parsed({}, 0, [])
    for raw in rows:
        external_id = raw.cells.get(ID)
        if external_id is None:
            parsed.skipped += 1
            continue
        external_id = str(external_id).strip()
        if len(external_id) > 100:
            parsed.errors.append(RowIssue(row=raw.number, field=ID, message="The student id is over 100 characters."))
            continue
        values, problems = row_values(raw.cells, programs)
        if problems:
            parsed.errors += [RowIssue(row=raw.number, field=f, message=m) for f, m in problems]
            continue
        entry = parsed.pending.setdefault(external_id, Pending())
        entry.values.update(values)
        entry.last_row = raw.number
    return parsed


# --- writing -----------------------------------------------------------------------------------------------------


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def fetch_existing(session: AsyncSession, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored roster rows of these student ids, a few thousand per statement."""
    columns = [_roster.c.id, _roster.c.student_external_id, *(_roster.c[c] for c in UPDATABLE)]
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(ids, FETCH_CHUNK):
        result = await session.execute(select(*columns).where(_roster.c.student_external_id.in_(chunk)))
        for row in result.mappings():
            found[row["student_external_id"]] = dict(row)
    return found


@dataclass(slots=True)
class Plan:
    rows: list[dict[str, Any]] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowIssue] = field(default_factory=list)


def plan_writes(pending: dict[str, Pending], existing: dict[str, dict[str, Any]]) -> Plan:
    """Rows to upsert (new students, and stored ones whose values the file changes) and the counts."""
    plan = Plan()
    now = utcnow()
    for external_id, entry in pending.items():
        stored = existing.get(external_id)
        if stored is None:
            missing = [f for f in ("program_id", "course_year") if f not in entry.values]
            if missing:
                for name in missing:
                    label = "program" if name == "program_id" else name
                    plan.errors.append(
                        RowIssue(row=entry.last_row, field=label, message=f"{label} is required for a new student.")
                    )
                continue
            values = {"roster_campaign": "default", "is_active": True, "first_name": "", "last_name": ""}
            values |= {"birth_date": None} | entry.values
            plan.rows.append(
                {"id": uuid.uuid4(), "student_external_id": external_id, "metadata": {}, "created_at": now}
                | values
                | {"updated_at": now}
            )
            plan.created += 1
            continue
        merged = {c: stored[c] for c in UPDATABLE} | entry.values
        if all(merged[c] == stored[c] for c in UPDATABLE):
            plan.unchanged += 1
            continue
        plan.rows.append(
            {"id": stored["id"], "student_external_id": external_id, "metadata": {}, "created_at": now}
            | merged
            | {"updated_at": now}
        )
        plan.updated += 1
    return plan


async def write_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """One INSERT ... ON CONFLICT (student_external_id) DO UPDATE per few thousand rows; ids and created_at of
    existing rows are kept, so their students and survey responses stay attached."""
    if not rows:
        return
    stmt = dialect_insert(session, _roster)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_roster.c.student_external_id],
        set_={c: stmt.excluded[c] for c in (*UPDATABLE, "updated_at")},
    )
    for chunk in _chunks(rows, WRITE_CHUNK):
        await session.execute(stmt, list(chunk))


async def import_rows(session: AsyncSession, rows: Sequence[RawRow], *, dry_run: bool = False) -> ImportResult:
    """Validate, merge and (unless `dry_run`) upsert the rows in the session's transaction."""
    programs = await load_programs(session)
    parsed = await anyio.to_thread.run_sync(parse_rows, rows, programs)
    existing = await fetch_existing(session, list(parsed.pending))
    plan = await anyio.to_thread.run_sync(plan_writes, parsed.pending, existing)
    if not dry_run:
        await write_rows(session, plan.rows)
    errors = sorted(parsed.errors + plan.errors, key=lambda e: e.row)
    return ImportResult(
        created=plan.created,
        updated=plan.updated,
        unchanged=plan.unchanged,
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
