"""Bot2 students for the dashboard (SPEC §5, RS §3.7): a read-only list of the bot's users with the roster's program
and course year (the source of truth), catalog labels in the same statement as the rows."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

import msgspec
from litestar import Request, get
from litestar.di import NamedDependency
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.guards import requires_viewer
from ingest.catalog.labels import CatalogNested, label_joins, label_of
from ingest.core.schema import RosterEntry, Student
from ingest.dashboard.crud import CourseYearParam, Listing, ListQuery, columns_of
from ingest.http.pagination import DEFAULT_PAGE_SIZE, OrderingParam, Page, PageParam, PageSizeParam, SearchParam

_students = Student.__table__
_roster = RosterEntry.__table__
Gender = Literal["male", "female", "other", "unspecified"]


class StudentRow(msgspec.Struct, kw_only=True):
    """A bot2 user, with the roster's program, course year (the source of truth) and birth date. References in RS
    §3.7's shape: the uuid under the plain name (also as `<name>_id`), the labels under `<name>_details`."""

    id: uuid.UUID
    student_external_id: str
    telegram_user_id: int | None
    username: str
    first_name: str
    last_name: str
    gender: str
    phone: str
    birth_date: date | None
    region: uuid.UUID | None
    region_id: uuid.UUID | None
    region_details: CatalogNested | None
    roster: uuid.UUID
    roster_id: uuid.UUID
    program: uuid.UUID
    program_id: uuid.UUID
    program_details: CatalogNested | None
    course_year: int
    roster_campaign: str
    created_at: datetime
    updated_at: datetime


_STUDENT_FIELDS = (
    "id",
    "student_external_id",
    "telegram_user_id",
    "username",
    "first_name",
    "last_name",
    "gender",
    "phone",
    "region_id",
    "roster_id",
    "created_at",
    "updated_at",
)


def _students_query() -> Select[Any]:
    source = _students.join(_roster, _roster.c.id == _students.c.roster_id)
    source, labels = label_joins(source, [(_students.c.region_id, "region"), (_roster.c.program_id, "program")])
    roster_columns = [_roster.c.program_id, _roster.c.course_year, _roster.c.roster_campaign, _roster.c.birth_date]
    return select(*(_students.c[f] for f in _STUDENT_FIELDS), *roster_columns, *labels).select_from(source)


def student_of(row: Any) -> StudentRow:
    m = row._mapping
    return StudentRow(
        **{f: m[f] for f in _STUDENT_FIELDS},
        birth_date=m["birth_date"],
        region=m["region_id"],
        region_details=label_of(row, "region"),
        roster=m["roster_id"],
        program=m["program_id"],
        program_id=m["program_id"],
        program_details=label_of(row, "program"),
        course_year=m["course_year"],
        roster_campaign=m["roster_campaign"],
    )


STUDENTS_LIST = Listing(
    query=_students_query(),
    build=student_of,
    search=[_students.c[c] for c in ("student_external_id", "username", "first_name", "last_name")],
    ordering=columns_of(_students, "student_external_id", "created_at", "updated_at", "last_name"),
    default=["student_external_id"],
    id_column=_students.c.id,
)


@get("/students/", guards=[requires_viewer], summary="List bot2 students")
async def list_students(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    gender: Gender | None = None,
    region: uuid.UUID | None = None,
    roster: uuid.UUID | None = None,
    program: uuid.UUID | None = None,
    course_year: CourseYearParam = None,
    search: SearchParam = None,
    ordering: OrderingParam = None,
    page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE,
) -> Page[StudentRow]:
    """Filters: `gender`, `region`, `roster`, `program` and `course_year` (the roster's); `search` over the student
    id, username and names; `ordering`: student_external_id, created_at, updated_at, last_name."""
    equal = [
        (_students.c.gender, gender),
        (_students.c.region_id, region),
        (_students.c.roster_id, roster),
        (_roster.c.program_id, program),
        (_roster.c.course_year, course_year),
    ]
    asked = ListQuery(search, ordering, page, page_size)
    return await STUDENTS_LIST.page(db_session, request, asked, equal=equal)


@get("/students/{student_id:uuid}", guards=[requires_viewer], summary="One bot2 student")
async def retrieve_student(db_session: NamedDependency[AsyncSession], student_id: uuid.UUID) -> StudentRow:
    return await STUDENTS_LIST.one(db_session, student_id, f"No student with id {student_id}.")


STUDENT_HANDLERS = [list_students, retrieve_student]
