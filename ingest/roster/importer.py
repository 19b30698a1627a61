"""Roster import (SPEC §6), shared by `POST /admin/roster/import` and `crm roster import`: validate the rows of a
roster file, merge duplicates, and upsert by `student_external_id` with bulk statements.

Rules: the file wins over the database and the last row of a student id wins within the file, but a blank cell
never wipes a stored value (blank means "not supplied"); rows without an id are skipped and counted; an unknown
program, a bad course year or date is an error of that row (the row is left out, the others are imported). Roster
rows are updated in place (same id), so students and survey responses stay attached, and survey history is never
rewritten: a response keeps the program and year it was given with.
"""

from __future__ import annotations

import uuid
from typing import Any

import anyio
import polars as pl
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
    literal,
    literal_column,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.audit.rows import record_audit
from ingest.catalog.program_refs import PROGRAM_TYPES
from ingest.core.schema import CatalogItem, RosterEntry, utcnow
from ingest.core.upsert import dialect_insert
from ingest.roster.file import ID, RosterTable
from ingest.roster.result import ImportResult, RowIssue
from ingest.roster.rows import ProgramLookup, validate

_roster = RosterEntry.__table__
MAX_ERRORS_LISTED = 1000
# Fields a file may set on a roster row (`metadata` stays as the dashboard left it).
UPDATABLE = ("program_id", "course_year", "roster_campaign", "is_active", "first_name", "last_name", "birth_date")


async def load_programs(session: AsyncSession) -> ProgramLookup:
    """Every program and direction, to resolve the file's program cells without a query per row."""
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


# --- writing: a staging table and set-based statements ----------------------------------------------------------

_stage_meta = MetaData()
# What the file says per student, NULL meaning "not supplied".
_stage = Table(
    "roster_import_stage",
    _stage_meta,
    Column("student_external_id", String(100), primary_key=True),
    Column("row_number", Integer, nullable=False),
    *(Column(c, _roster.c[c].type) for c in UPDATABLE),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
# A random version-4 uuid as SQLAlchemy stores it on SQLite (32 hex digits), drawn by the database per new row.
_SQLITE_UUID4 = literal_column(
    "lower(hex(randomblob(4)) || hex(randomblob(2)) || '4' || substr(hex(randomblob(2)), 2) || "
    "substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2) || hex(randomblob(6)))",
    type_=Uuid,
)
_DEFAULTS: dict[str, Any] = {"roster_campaign": "default", "is_active": True, "first_name": "", "last_name": ""}
_r = _roster
_s = _stage


def _sqlite_rows(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """Stage rows as SQLite stores them (uuid as 32 hex digits, ISO dates, 0/1), for the driver's executemany."""
    return frame.select(
        ID,
        "row_number",
        pl.col("program_id").str.replace_all("-", ""),
        "course_year",
        "roster_campaign",
        pl.col("is_active").cast(pl.Int8),
        "first_name",
        "last_name",
        pl.col("birth_date").dt.strftime("%Y-%m-%d"),
    ).rows()


async def _load_stage(session: AsyncSession, frame: pl.DataFrame) -> None:
    """Create the staging table and fill it: one COPY of CSV text on Postgres, one executemany on SQLite."""
    connection = await session.connection()
    await connection.run_sync(lambda c: _stage.drop(c, checkfirst=True))
    await connection.run_sync(_stage.create)
    if frame.is_empty():
        return
    if _is_postgres(session):
        columns = [ID, "row_number", *UPDATABLE]
        text = frame.select(columns).write_csv(include_header=False).encode()
        driver = (await connection.get_raw_connection()).driver_connection
        sql = f"COPY {_stage.name} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
        async with driver.cursor() as cur, cur.copy(sql) as copy:
            await copy.write(text)
        return
    # The driver's own executemany: SQLAlchemy's per-value conversions would cost more than SQLite's insert.
    driver = (await connection.get_raw_connection()).driver_connection
    columns = [ID, "row_number", *UPDATABLE]
    sql = f"INSERT INTO {_stage.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    await driver.executemany(sql, await anyio.to_thread.run_sync(_sqlite_rows, frame))


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"  # type: ignore[union-attr]


def _same_student() -> Any:
    """A file's id matches a stored one in any case; the stored spelling is kept."""
    return func.lower(_r.c.student_external_id) == func.lower(_s.c.student_external_id)


def _changed() -> Any:
    """A stored row differs from what the file supplies (a blank in the file supplies nothing)."""
    return or_(*(and_(_s.c[c].is_not(None), _s.c[c].is_distinct_from(_r.c[c])) for c in UPDATABLE))


def _is_new_and_complete() -> Any:
    return and_(_r.c.id.is_(None), _s.c.program_id.is_not(None), _s.c.course_year.is_not(None))


async def _count(session: AsyncSession) -> tuple[int, int, int]:
    """(created, updated, unchanged) in one statement over the stage joined to the roster."""
    joined = _s.outerjoin(_r, _same_student())
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
    joined = _s.outerjoin(_r, _same_student())
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
        .where(_same_student(), _changed())
        .values({c: func.coalesce(_s.c[c], _r.c[c]) for c in UPDATABLE} | {"updated_at": now})
    )
    new = (
        select(
            func.gen_random_uuid() if _is_postgres(session) else _SQLITE_UUID4,
            _s.c.student_external_id,
            *(func.coalesce(_s.c[c], _DEFAULTS[c]) if c in _DEFAULTS else _s.c[c] for c in UPDATABLE),
            literal({}, _r.c.metadata.type),
            literal(now, _r.c.created_at.type),
            literal(now, _r.c.updated_at.type),
        )
        .select_from(_s.outerjoin(_r, _same_student()))
        .where(_is_new_and_complete())
    )
    columns = ["id", "student_external_id", *UPDATABLE, "metadata", "created_at", "updated_at"]
    stmt = dialect_insert(session, _r).from_select(columns, new)
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[func.lower(_r.c.student_external_id)]))


async def import_rows(session: AsyncSession, table: RosterTable, *, dry_run: bool = False) -> ImportResult:
    """Validate and merge the rows, stage them, count, and (unless `dry_run`) upsert, in the session's transaction;
    a handful of statements whatever the number of rows."""
    programs = await load_programs(session)
    checked = await anyio.to_thread.run_sync(validate, table, programs)
    await _load_stage(session, checked.frame)
    created, updated, unchanged = await _count(session)
    incomplete = await _incomplete_new(session)
    if not dry_run:
        await _apply(session)
    connection = await session.connection()
    await connection.run_sync(_stage.drop)
    errors = [RowIssue(row=r, field=f, message=m) for r, f, m in checked.issues] + incomplete
    errors.sort(key=lambda e: e.row)
    return ImportResult(
        created=created,
        updated=updated,
        unchanged=unchanged,
        skipped=checked.skipped,
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
