"""Bot2 data for the dashboard (SPEC §5, RS §3.7): students and survey responses (read-only lists) and the planned
enrollment headcounts (viewers read, admins write). Catalog labels come in the same statement as the rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Router, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.guards import requires_admin, requires_viewer
from ingest.catalog.labels import CatalogNested, label_joins, label_of
from ingest.catalog.program_refs import resolve_program
from ingest.core.problems import ProblemError
from ingest.core.schema import EnrollmentHeadcount, RosterEntry, Student, SurveyResponse, utcnow
from ingest.dashboard.crud import Audited, get_or_404, matching, one_or_404, set_given
from ingest.http.list_filters import BoolParam, bool_of
from ingest.http.pagination import (
    DEFAULT_PAGE_SIZE,
    OrderingParam,
    Page,
    PageParam,
    PageSizeParam,
    SearchParam,
    order_by,
    paginate,
)
from ingest.http.windows import FromParam, ToParam, parse_window, window_clauses
from ingest.roster.api import CourseYear, CourseYearParam

_students = Student.__table__
_roster = RosterEntry.__table__
_surveys = SurveyResponse.__table__
_enrollments = EnrollmentHeadcount.__table__
Gender = Literal["male", "female", "other", "unspecified"]


# --- students ----------------------------------------------------------------------------------------------------


class StudentRow(msgspec.Struct, kw_only=True):
    """A bot2 user, with the roster's program and course year (the source of truth)."""

    id: uuid.UUID
    student_external_id: str
    telegram_user_id: int | None
    username: str
    first_name: str
    last_name: str
    gender: str
    phone: str
    region_id: uuid.UUID | None
    region: CatalogNested | None
    roster_id: uuid.UUID
    program_id: uuid.UUID
    program: CatalogNested | None
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
    roster_columns = [_roster.c.program_id, _roster.c.course_year, _roster.c.roster_campaign]
    return select(*(_students.c[f] for f in _STUDENT_FIELDS), *roster_columns, *labels).select_from(source)


def student_of(row: Any) -> StudentRow:
    m = row._mapping
    return StudentRow(
        **{f: m[f] for f in _STUDENT_FIELDS},
        region=label_of(row, "region"),
        program_id=m["program_id"],
        program=label_of(row, "program"),
        course_year=m["course_year"],
        roster_campaign=m["roster_campaign"],
    )


_STUDENT_ORDERING = {
    "student_external_id": _students.c.student_external_id,
    "created_at": _students.c.created_at,
    "updated_at": _students.c.updated_at,
    "last_name": _students.c.last_name,
}


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
    query = _students_query()
    filters = [
        (_students.c.gender, gender),
        (_students.c.region_id, region),
        (_students.c.roster_id, roster),
        (_roster.c.program_id, program),
        (_roster.c.course_year, course_year),
    ]
    columns = [_students.c[c] for c in ("student_external_id", "username", "first_name", "last_name")]
    query = matching(query, filters, search, columns)
    query = query.order_by(*order_by(ordering, _STUDENT_ORDERING, ["student_external_id"], _students.c.id))
    return await paginate(db_session, request, query, page=page, page_size=page_size, build=student_of)


@get("/students/{student_id:uuid}", guards=[requires_viewer], summary="One bot2 student")
async def retrieve_student(db_session: NamedDependency[AsyncSession], student_id: uuid.UUID) -> StudentRow:
    query = _students_query().where(_students.c.id == student_id)
    return await one_or_404(db_session, query, student_of, f"No student with id {student_id}.")


# --- survey responses --------------------------------------------------------------------------------------------


class SurveyRow(msgspec.Struct, kw_only=True):
    """One survey response with the program and course year it was given with."""

    id: uuid.UUID
    student_id: uuid.UUID
    student_external_id: str
    roster_id: uuid.UUID
    program_id: uuid.UUID
    program: CatalogNested | None
    course_year: int
    survey_campaign: str
    employment_status: str
    employment_company: str
    employment_role: str
    suggestions: str
    consents: dict[str, Any]
    answers: dict[str, Any]
    submitted_at: datetime
    created_at: datetime
    updated_at: datetime


def _surveys_query() -> Select[Any]:
    source = _surveys.join(_students, _students.c.id == _surveys.c.student_id)
    source, labels = label_joins(source, [(_surveys.c.program_id, "program")])
    return select(_surveys, _students.c.student_external_id, *labels).select_from(source)


def survey_of(row: Any) -> SurveyRow:
    m = row._mapping
    fields = {f: m[f] for f in SurveyRow.__struct_fields__ if f != "program"}
    fields["consents"] = fields["consents"] or {}
    fields["answers"] = fields["answers"] or {}
    return SurveyRow(**fields, program=label_of(row, "program"))


_SURVEY_ORDERING = {"submitted_at": _surveys.c.submitted_at, "created_at": _surveys.c.created_at}


@get("/surveys/", guards=[requires_viewer], summary="List survey responses")
async def list_surveys(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    program: uuid.UUID | None = None,
    course_year: CourseYearParam = None,
    survey_campaign: str | None = None,
    employment_status: str | None = None,
    student: uuid.UUID | None = None,
    roster: uuid.UUID | None = None,
    from_: FromParam = None,
    to: ToParam = None,
    search: SearchParam = None,
    ordering: OrderingParam = None,
    page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE,
) -> Page[SurveyRow]:
    """Every response (append-only). Filters: `program`, `course_year`, `survey_campaign`, `employment_status`,
    `student`, `roster`, `from`/`to` on submitted_at (half-open); `search` over the student id and username;
    `ordering`: submitted_at, created_at (default newest first)."""
    query = _surveys_query()
    filters = [
        (_surveys.c.program_id, program),
        (_surveys.c.course_year, course_year),
        (_surveys.c.survey_campaign, survey_campaign),
        (_surveys.c.employment_status, employment_status),
        (_surveys.c.student_id, student),
        (_surveys.c.roster_id, roster),
    ]
    window = parse_window(from_, to, request.app.state.settings.tz)
    query = query.where(*window_clauses(_surveys.c.submitted_at, window))
    query = matching(query, filters, search, [_students.c.student_external_id, _students.c.username])
    query = query.order_by(*order_by(ordering, _SURVEY_ORDERING, ["-submitted_at", "-created_at"], _surveys.c.id))
    return await paginate(db_session, request, query, page=page, page_size=page_size, build=survey_of)


@get("/surveys/{survey_id:uuid}", guards=[requires_viewer], summary="One survey response")
async def retrieve_survey(db_session: NamedDependency[AsyncSession], survey_id: uuid.UUID) -> SurveyRow:
    query = _surveys_query().where(_surveys.c.id == survey_id)
    return await one_or_404(db_session, query, survey_of, f"No survey response with id {survey_id}.")


# --- enrollment headcounts ---------------------------------------------------------------------------------------

AcademicYear = Annotated[str, Meta(min_length=1, max_length=20)]
Campaign = Annotated[str, Meta(min_length=1, max_length=64)]
Count = Annotated[int, Meta(ge=0, le=1_000_000)]


class EnrollmentRow(msgspec.Struct, kw_only=True):
    """A planned headcount; coverage is computed by the analytics endpoints, beside the roster totals."""

    id: uuid.UUID
    program_id: uuid.UUID
    program: CatalogNested | None
    course_year: int
    student_count: int
    academic_year: str
    campaign: str
    is_active: bool
    notes: str
    created_at: datetime
    updated_at: datetime


class EnrollmentCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    course_year: CourseYear
    program_id: uuid.UUID | None = None
    program_code: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    student_count: Count = 0
    academic_year: AcademicYear = "2025-2026"
    campaign: Campaign = "default"
    is_active: bool = True
    notes: Annotated[str, Meta(max_length=10_000)] = ""


class EnrollmentUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    course_year: CourseYear | UnsetType = UNSET
    program_id: uuid.UUID | UnsetType = UNSET
    program_code: Annotated[str, Meta(min_length=1, max_length=100)] | UnsetType = UNSET
    student_count: Count | UnsetType = UNSET
    academic_year: AcademicYear | UnsetType = UNSET
    campaign: Campaign | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    notes: Annotated[str, Meta(max_length=10_000)] | UnsetType = UNSET


def _enrollments_query() -> Select[Any]:
    source, labels = label_joins(_enrollments, [(_enrollments.c.program_id, "program")])
    return select(_enrollments, *labels).select_from(source)


def enrollment_of(row: Any) -> EnrollmentRow:
    m = row._mapping
    fields = {f: m[f] for f in EnrollmentRow.__struct_fields__ if f != "program"}
    return EnrollmentRow(**fields, program=label_of(row, "program"))


@get("/enrollments/", guards=[requires_viewer], summary="List planned enrollment headcounts")
async def list_enrollments(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    program: uuid.UUID | None = None,
    course_year: CourseYearParam = None,
    academic_year: str | None = None,
    campaign: str | None = None,
    is_active: BoolParam = None,
    search: SearchParam = None,
    ordering: OrderingParam = None,
    page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE,
) -> Page[EnrollmentRow]:
    """Filters: `program`, `course_year`, `academic_year`, `campaign`, `is_active`; `search` over the program name
    and notes; `ordering`: program, course_year, student_count, academic_year, created_at."""
    query = _enrollments_query()
    filters = [
        (_enrollments.c.program_id, program),
        (_enrollments.c.course_year, course_year),
        (_enrollments.c.academic_year, academic_year),
        (_enrollments.c.campaign, campaign),
    ]
    if (active := bool_of(is_active, "is_active")) is not None:
        query = query.where(_enrollments.c.is_active.is_(active))
    program_name = query.selected_columns["program__name"].element
    query = matching(query, filters, search, [program_name, _enrollments.c.notes])
    allowed = {
        "program": program_name,
        "course_year": _enrollments.c.course_year,
        "student_count": _enrollments.c.student_count,
        "academic_year": _enrollments.c.academic_year,
        "created_at": _enrollments.c.created_at,
    }
    query = query.order_by(*order_by(ordering, allowed, ["program", "course_year"], _enrollments.c.id))
    return await paginate(db_session, request, query, page=page, page_size=page_size, build=enrollment_of)


async def load_enrollment(session: AsyncSession, enrollment_id: uuid.UUID) -> EnrollmentRow:
    query = _enrollments_query().where(_enrollments.c.id == enrollment_id)
    return await one_or_404(session, query, enrollment_of, f"No enrollment headcount with id {enrollment_id}.")


@get("/enrollments/{enrollment_id:uuid}", guards=[requires_viewer], summary="One enrollment headcount")
async def retrieve_enrollment(db_session: NamedDependency[AsyncSession], enrollment_id: uuid.UUID) -> EnrollmentRow:
    return await load_enrollment(db_session, enrollment_id)


async def _ensure_unique(session: AsyncSession, e: EnrollmentHeadcount) -> None:
    clash = await session.scalar(
        select(func.count())
        .select_from(EnrollmentHeadcount)
        .where(
            EnrollmentHeadcount.program_id == e.program_id,
            EnrollmentHeadcount.course_year == e.course_year,
            EnrollmentHeadcount.academic_year == e.academic_year,
            EnrollmentHeadcount.campaign == e.campaign,
            EnrollmentHeadcount.id != e.id,
        )
    )
    if clash:
        raise ProblemError(
            409,
            "ENROLLMENT_EXISTS",
            f"A headcount for this program, course year {e.course_year}, academic year {e.academic_year} and "
            f"campaign {e.campaign} already exists; change that one.",
        )


def _audit_view(row: EnrollmentRow) -> dict[str, Any]:
    return {
        "program_id": str(row.program_id),
        "course_year": row.course_year,
        "student_count": row.student_count,
        "academic_year": row.academic_year,
        "campaign": row.campaign,
    }


ENROLLMENTS = Audited("bot2_enrollment", load_enrollment, _audit_view)


@post("/enrollments/", guards=[requires_admin], summary="Add a planned enrollment headcount")
async def create_enrollment(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], data: JSONBody[EnrollmentCreate]
) -> EnrollmentRow:
    """201; 409 ENROLLMENT_EXISTS for a second row with the same program, year, academic year and campaign."""
    program_id = await resolve_program(db_session, data.program_id, data.program_code, required=True)
    now = utcnow()
    fields = msgspec.structs.asdict(data)
    del fields["program_id"], fields["program_code"]
    entry = EnrollmentHeadcount(id=uuid.uuid4(), program_id=program_id, created_at=now, updated_at=now, **fields)
    await _ensure_unique(db_session, entry)
    db_session.add(entry)
    return await ENROLLMENTS.written(db_session, request, "create", entry.id)


async def _get_entry(session: AsyncSession, enrollment_id: uuid.UUID) -> EnrollmentHeadcount:
    missing = f"No enrollment headcount with id {enrollment_id}."
    return await get_or_404(session, EnrollmentHeadcount, enrollment_id, missing)


@patch("/enrollments/{enrollment_id:uuid}", guards=[requires_admin], summary="Change an enrollment headcount")
async def patch_enrollment(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    enrollment_id: uuid.UUID,
    data: JSONBody[EnrollmentUpdate],
) -> EnrollmentRow:
    entry = await _get_entry(db_session, enrollment_id)
    before = await ENROLLMENTS.snapshot(db_session, enrollment_id)
    program_id = None if isinstance(data.program_id, UnsetType) else data.program_id
    program_code = None if isinstance(data.program_code, UnsetType) else data.program_code
    if program_id is not None or program_code is not None:
        entry.program_id = await resolve_program(db_session, program_id, program_code, required=True)  # type: ignore[assignment]
    set_given(entry, data, ("course_year", "student_count", "academic_year", "campaign", "is_active", "notes"))
    await _ensure_unique(db_session, entry)
    entry.updated_at = utcnow()
    return await ENROLLMENTS.written(db_session, request, "update", enrollment_id, before)


@delete("/enrollments/{enrollment_id:uuid}", guards=[requires_admin], summary="Delete an enrollment headcount")
async def delete_enrollment(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], enrollment_id: uuid.UUID
) -> None:
    entry = await _get_entry(db_session, enrollment_id)
    await ENROLLMENTS.deleted(db_session, request, entry, await ENROLLMENTS.snapshot(db_session, enrollment_id))


def bot2_dashboard_router() -> Router:
    return Router(
        path="/bot2",
        route_handlers=[
            list_students,
            retrieve_student,
            list_surveys,
            retrieve_survey,
            list_enrollments,
            retrieve_enrollment,
            create_enrollment,
            patch_enrollment,
            delete_enrollment,
        ],
        tags=["bot2 (dashboard)"],
    )
