"""The roster for the dashboard (SPEC §5, RS §3.7): list and read for viewers, create/change/delete for admins.

The roster is the source of truth for a student's program and course year. Survey responses keep the program and
year they were given with (history is never rewritten), and a roster row that has students or responses cannot be
deleted (409): `is_active=false` retires it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Request, Router, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import UNSET, UnsetType
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.guards import requires_admin, requires_viewer
from ingest.catalog.labels import label_joins, label_of
from ingest.catalog.program_refs import program_of
from ingest.contracts.api import CatalogNested
from ingest.contracts.fields import (
    Campaign,
    CourseYear,
    PlainCode,
    PlainExternalId,
    Short,
    normalise_student_id,
    student_id_key,
)
from ingest.core.problems import ProblemError
from ingest.core.schema import RosterEntry, Student, SurveyResponse, utcnow
from ingest.dashboard.crud import (
    LIST_QUERY,
    Audited,
    CourseYearParam,
    Listing,
    ListQuery,
    columns_of,
    flag,
    get_or_404,
    set_given,
)
from ingest.http.list_filters import BoolParam, bool_of
from ingest.http.pagination import Page

_roster = RosterEntry.__table__


class RosterRow(msgspec.Struct, kw_only=True):
    """RS §3.7's roster row: `program` is the uuid (also as `program_id`), `program_details` its labels."""

    id: uuid.UUID
    student_external_id: str
    roster_campaign: str
    program: uuid.UUID
    program_id: uuid.UUID
    program_details: CatalogNested | None
    course_year: int
    is_active: bool
    first_name: str
    last_name: str
    birth_date: date | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class RosterCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`program` (as the reference dashboard sends it), `program_id` or `program_code`: a program or a direction."""

    student_external_id: PlainExternalId
    course_year: CourseYear
    program: uuid.UUID | None = None
    program_id: uuid.UUID | None = None
    program_code: PlainCode | None = None
    roster_campaign: Campaign = "default"
    is_active: bool = True
    first_name: Short = ""
    last_name: Short = ""
    birth_date: date | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class RosterUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    student_external_id: PlainExternalId | UnsetType = UNSET
    course_year: CourseYear | UnsetType = UNSET
    program: uuid.UUID | UnsetType = UNSET
    program_id: uuid.UUID | UnsetType = UNSET
    program_code: PlainCode | UnsetType = UNSET
    roster_campaign: Campaign | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    first_name: Short | UnsetType = UNSET
    last_name: Short | UnsetType = UNSET
    birth_date: date | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType = UNSET


def roster_of(row: Any) -> RosterRow:
    m = row._mapping
    return RosterRow(
        id=m["id"],
        student_external_id=m["student_external_id"],
        roster_campaign=m["roster_campaign"],
        program=m["program_id"],
        program_id=m["program_id"],
        program_details=label_of(row, "program"),
        course_year=m["course_year"],
        is_active=m["is_active"],
        first_name=m["first_name"],
        last_name=m["last_name"],
        birth_date=m["birth_date"],
        metadata=m["metadata"] or {},
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def _roster_query() -> Select[Any]:
    source, labels = label_joins(_roster, [(_roster.c.program_id, "program")])
    return select(_roster, *labels).select_from(source)


ROSTER_LIST = Listing(
    query=_roster_query(),
    build=roster_of,
    search=[_roster.c.student_external_id, _roster.c.first_name, _roster.c.last_name],
    ordering=columns_of(_roster, "student_external_id", "course_year", "last_name", "created_at", "updated_at"),
    default=["student_external_id"],
    id_column=_roster.c.id,
)


@get("/roster/", guards=[requires_viewer], dependencies=LIST_QUERY, summary="List the roster")
async def list_roster(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    program: uuid.UUID | None = None,
    course_year: CourseYearParam = None,
    is_active: BoolParam = None,
    roster_campaign: str | None = None,
    missing_birth_date: BoolParam = None,
    *,
    asked: ListQuery,
) -> Page[RosterRow]:
    """Filters: `program`, `course_year`, `is_active`, `roster_campaign`, `missing_birth_date`; `search` over the
    student id and names; `ordering`: student_external_id, course_year, last_name, created_at, updated_at."""
    where = flag(_roster.c.is_active, is_active, "is_active")
    if (missing := bool_of(missing_birth_date, "missing_birth_date")) is not None:
        where.append(_roster.c.birth_date.is_(None) if missing else _roster.c.birth_date.is_not(None))
    equal = [
        (_roster.c.program_id, program),
        (_roster.c.course_year, course_year),
        (_roster.c.roster_campaign, roster_campaign),
    ]
    return await ROSTER_LIST.page(db_session, request, asked, where=where, equal=equal)


async def load_roster(session: AsyncSession, roster_id: uuid.UUID) -> RosterRow:
    return await ROSTER_LIST.one(session, roster_id, f"No roster row with id {roster_id}.")


@get("/roster/{roster_id:uuid}", guards=[requires_viewer], summary="One roster row")
async def retrieve_roster(db_session: NamedDependency[AsyncSession], roster_id: uuid.UUID) -> RosterRow:
    return await load_roster(db_session, roster_id)


def _student_id(value: str) -> str:
    """The id by the one rule the bots and the server share (`contracts.fields`); 400 naming the field if broken."""
    external_id = normalise_student_id(value)
    if external_id is None:
        raise ProblemError(
            400,
            "VALIDATION_ERROR",
            "student_external_id must be letters and digits, parts joined by - / or . (SE54321, S1-000001).",
            field="$.student_external_id",
        )
    return external_id


async def _ensure_id_free(session: AsyncSession, external_id: str, roster_id: uuid.UUID | None = None) -> None:
    """409 when another row holds the id in any case (`SE54321` and `se54321` are one student)."""
    key = student_id_key(external_id)
    query = select(func.count()).select_from(RosterEntry).where(func.lower(RosterEntry.student_external_id) == key)
    if roster_id is not None:
        query = query.where(RosterEntry.id != roster_id)
    if await session.scalar(query):
        raise ProblemError(
            409,
            "STUDENT_ID_TAKEN",
            f"The roster already has student {external_id}.",
            field="$.student_external_id",
        )


def _audit_view(row: RosterRow) -> dict[str, Any]:
    return {
        "student_external_id": row.student_external_id,
        "program_id": str(row.program_id),
        "course_year": row.course_year,
        "roster_campaign": row.roster_campaign,
        "is_active": row.is_active,
    }


ROSTER = Audited("bot2_roster", load_roster, _audit_view)


@post("/roster/", guards=[requires_admin], summary="Add a student to the roster")
async def create_roster(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], data: JSONBody[RosterCreate]
) -> RosterRow:
    """201; 409 STUDENT_ID_TAKEN for an id already on the roster; 400 INVALID_CATALOG_REF for an unknown program."""
    external_id = _student_id(data.student_external_id)
    program_id = await program_of(db_session, data, required=True)
    await _ensure_id_free(db_session, external_id)
    now = utcnow()
    entry = RosterEntry(
        id=uuid.uuid4(),
        student_external_id=external_id,
        roster_campaign=data.roster_campaign.strip(),
        program_id=program_id,
        course_year=data.course_year,
        is_active=data.is_active,
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        birth_date=data.birth_date,
        meta=data.metadata,
        created_at=now,
        updated_at=now,
    )
    db_session.add(entry)
    return await ROSTER.written(db_session, request, "create", entry.id)


async def _students_of(session: AsyncSession, roster_id: uuid.UUID) -> tuple[int, int]:
    students = select(func.count()).select_from(Student).where(Student.roster_id == roster_id).scalar_subquery()
    responses = (
        select(func.count()).select_from(SurveyResponse).where(SurveyResponse.roster_id == roster_id).scalar_subquery()
    )
    row = (await session.execute(select(students, responses))).one()
    return row[0], row[1]


async def _apply_update(session: AsyncSession, entry: RosterEntry, data: RosterUpdate) -> None:
    new_id = None if isinstance(data.student_external_id, UnsetType) else _student_id(data.student_external_id)
    if new_id is not None and new_id != entry.student_external_id:
        students, _ = await _students_of(session, entry.id)
        if students:
            raise ProblemError(
                409,
                "ROSTER_IN_USE",
                "This student has already used the bot under this id; the id cannot change.",
                field="$.student_external_id",
            )
        await _ensure_id_free(session, new_id, entry.id)
        entry.student_external_id = new_id
    if (program_id := await program_of(session, data, required=False)) is not None:
        entry.program_id = program_id
    fields = ("course_year", "roster_campaign", "is_active", "first_name", "last_name", "birth_date")
    set_given(entry, data, fields, lambda value: value.strip() if isinstance(value, str) else value)
    if not isinstance(data.metadata, UnsetType):
        entry.meta = data.metadata
    entry.updated_at = utcnow()


async def _get_entry(session: AsyncSession, roster_id: uuid.UUID) -> RosterEntry:
    return await get_or_404(session, RosterEntry, roster_id, f"No roster row with id {roster_id}.")


@patch("/roster/{roster_id:uuid}", guards=[requires_admin], summary="Change a roster row")
async def patch_roster(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    roster_id: uuid.UUID,
    data: JSONBody[RosterUpdate],
) -> RosterRow:
    """Partial update. Past survey responses keep the program and year they were given with."""
    entry = await _get_entry(db_session, roster_id)
    before = await ROSTER.snapshot(db_session, roster_id)
    await _apply_update(db_session, entry, data)
    return await ROSTER.written(db_session, request, "update", roster_id, before)


@delete("/roster/{roster_id:uuid}", guards=[requires_admin], summary="Delete a roster row")
async def delete_roster(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], roster_id: uuid.UUID
) -> None:
    """204; 409 ROSTER_IN_USE when students or survey responses belong to it (set is_active=false instead)."""
    entry = await _get_entry(db_session, roster_id)
    students, responses = await _students_of(db_session, roster_id)
    if students or responses:
        raise ProblemError(
            409,
            "ROSTER_IN_USE",
            f"Student {entry.student_external_id} has {responses} survey responses and {students} bot accounts; "
            "set is_active=false to retire the row instead.",
        )
    await ROSTER.deleted(db_session, request, entry, await ROSTER.snapshot(db_session, roster_id))


def roster_router() -> Router:
    return Router(
        path="/bot2",
        route_handlers=[list_roster, retrieve_roster, create_roster, patch_roster, delete_roster],
        tags=["bot2 (dashboard)"],
    )
