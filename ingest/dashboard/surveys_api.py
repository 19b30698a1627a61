"""Bot2 survey responses for the dashboard (SPEC §5, RS §3.7): a read-only list (responses are append-only), each
with the program and course year it was given with and that program's labels in the same statement."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from litestar import Request, get
from litestar.di import NamedDependency
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.guards import requires_viewer
from ingest.catalog.labels import CatalogNested, label_joins, label_of
from ingest.core.schema import Student, SurveyResponse
from ingest.dashboard.crud import CourseYearParam, Listing, ListQuery, columns_of, within
from ingest.http.pagination import DEFAULT_PAGE_SIZE, OrderingParam, Page, PageParam, PageSizeParam, SearchParam
from ingest.http.windows import FromParam, ToParam

_students = Student.__table__
_surveys = SurveyResponse.__table__


class SurveyRow(msgspec.Struct, kw_only=True):
    """One survey response with the program and course year it was given with. References in RS §3.7's shape (the
    uuid under the plain name, also as `<name>_id`; labels under `program_details`). `is_complete`: the survey's
    question was answered (employment status employed or unemployed, and for employed both company and role)."""

    id: uuid.UUID
    student: uuid.UUID
    student_id: uuid.UUID
    student_external_id: str
    roster: uuid.UUID
    roster_id: uuid.UUID
    program: uuid.UUID
    program_id: uuid.UUID
    program_details: CatalogNested | None
    is_complete: bool
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


_DERIVED = frozenset({"student", "roster", "program", "program_details", "is_complete"})
_EMPLOYMENT = frozenset({"employed", "unemployed"})


def is_complete(status: str, company: str, role: str) -> bool:
    """Whether a response answers the survey: an employment status, and where employed the company and the role."""
    if status not in _EMPLOYMENT:
        return False
    return status == "unemployed" or bool(company.strip() and role.strip())


def survey_of(row: Any) -> SurveyRow:
    m = row._mapping
    fields = {f: m[f] for f in SurveyRow.__struct_fields__ if f not in _DERIVED}
    fields["consents"] = fields["consents"] or {}
    fields["answers"] = fields["answers"] or {}
    return SurveyRow(
        **fields,
        student=m["student_id"],
        roster=m["roster_id"],
        program=m["program_id"],
        program_details=label_of(row, "program"),
        is_complete=is_complete(m["employment_status"], m["employment_company"], m["employment_role"]),
    )


SURVEYS_LIST = Listing(
    query=_surveys_query(),
    build=survey_of,
    search=[_students.c.student_external_id, _students.c.username],
    ordering=columns_of(_surveys, "submitted_at", "created_at"),
    default=["-submitted_at", "-created_at"],
    id_column=_surveys.c.id,
)


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
    equal = [
        (_surveys.c.program_id, program),
        (_surveys.c.course_year, course_year),
        (_surveys.c.survey_campaign, survey_campaign),
        (_surveys.c.employment_status, employment_status),
        (_surveys.c.student_id, student),
        (_surveys.c.roster_id, roster),
    ]
    window = within(request, _surveys.c.submitted_at, from_, to)
    asked = ListQuery(search, ordering, page, page_size)
    return await SURVEYS_LIST.page(db_session, request, asked, where=window, equal=equal)


@get("/surveys/{survey_id:uuid}", guards=[requires_viewer], summary="One survey response")
async def retrieve_survey(db_session: NamedDependency[AsyncSession], survey_id: uuid.UUID) -> SurveyRow:
    return await SURVEYS_LIST.one(db_session, survey_id, f"No survey response with id {survey_id}.")


SURVEY_HANDLERS = [list_surveys, retrieve_survey]
