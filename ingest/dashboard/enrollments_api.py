"""Planned enrollment headcounts for the dashboard (SPEC §5, RS §3.7): viewers read, admins write (audited); one
row per program, course year, academic year and campaign. Each row shows how many students of its campaign, program
and course year have answered (`responded_count`, all time, from the published marts, never the operational tables)
and that count against the headcount (`coverage_percent`), with the snapshot the count comes from."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.guards import requires_admin, requires_viewer
from ingest.catalog.labels import CatalogNested, label_joins, label_of
from ingest.catalog.program_refs import program_of
from ingest.contracts.fields import Campaign, CourseYear, PlainCode
from ingest.core.problems import ProblemError
from ingest.core.schema import EnrollmentHeadcount, utcnow
from ingest.dashboard.crud import Audited, CourseYearParam, Listing, ListQuery, columns_of, flag, get_or_404, set_given
from ingest.http.list_filters import BoolParam
from ingest.http.pagination import DEFAULT_PAGE_SIZE, OrderingParam, Page, PageParam, PageSizeParam, SearchParam

_enrollments = EnrollmentHeadcount.__table__
AcademicYear = Annotated[str, Meta(min_length=1, max_length=20)]
Count = Annotated[int, Meta(ge=0, le=1_000_000)]
Notes = Annotated[str, Meta(max_length=10_000)]
# The app state key of the callable that reads the responded counts of the published snapshot (`RespondedCounts`,
# None before the first build); the app factory sets it (reports/ reads the marts, ingest/ does not import it).
RESPONDED_SOURCE = "enrollment_responded"


@dataclass(frozen=True)
class RespondedCounts:
    """Students whose latest response (per campaign) has this program and course year, all time, active roster rows
    only (the `agg_coverage` mart's `responded`), keyed by (campaign, program id, course year), and their snapshot."""

    snapshot_id: str
    built_at: datetime
    responded: Mapping[tuple[str, str, int], int]


class EnrollmentRow(msgspec.Struct, kw_only=True):
    """A planned headcount in RS §3.7's shape (`program` the uuid, also as `program_id`; `program_details` its
    labels). `responded_count` and `coverage_percent` (round(100 × responded / student_count, 2), 0 for no
    headcount) come from the published snapshot `coverage_snapshot_id` built at `coverage_built_at`; all four are
    null before the first build."""

    id: uuid.UUID
    program: uuid.UUID
    program_id: uuid.UUID
    program_details: CatalogNested | None
    course_year: int
    student_count: int
    responded_count: int | None
    coverage_percent: float | None
    coverage_snapshot_id: str | None
    coverage_built_at: datetime | None
    academic_year: str
    campaign: str
    is_active: bool
    notes: str
    created_at: datetime
    updated_at: datetime


class EnrollmentCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`program` (as the reference dashboard sends it), `program_id` or `program_code`: a program or a direction."""

    course_year: CourseYear
    program: uuid.UUID | None = None
    program_id: uuid.UUID | None = None
    program_code: PlainCode | None = None
    student_count: Count = 0
    academic_year: AcademicYear = "2025-2026"
    campaign: Campaign = "default"
    is_active: bool = True
    notes: Notes = ""


class EnrollmentUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    course_year: CourseYear | UnsetType = UNSET
    program: uuid.UUID | UnsetType = UNSET
    program_id: uuid.UUID | UnsetType = UNSET
    program_code: PlainCode | UnsetType = UNSET
    student_count: Count | UnsetType = UNSET
    academic_year: AcademicYear | UnsetType = UNSET
    campaign: Campaign | UnsetType = UNSET
    is_active: bool | UnsetType = UNSET
    notes: Notes | UnsetType = UNSET


def _enrollments_query() -> Select[Any]:
    source, labels = label_joins(_enrollments, [(_enrollments.c.program_id, "program")])
    return select(_enrollments, *labels).select_from(source)


_QUERY = _enrollments_query()


_COLUMNS = tuple(c.name for c in _enrollments.columns)


def enrollment_of(row: Any) -> EnrollmentRow:
    m = row._mapping
    fields = {f: m[f] for f in _COLUMNS}
    return EnrollmentRow(
        **fields,
        program=m["program_id"],
        program_details=label_of(row, "program"),
        **dict.fromkeys(("responded_count", "coverage_percent", "coverage_snapshot_id", "coverage_built_at")),
    )


async def responded_counts(request: Request[Any, Any, Any]) -> RespondedCounts | None:
    """The published snapshot's responded counts (None before the first build or without a source); read in a
    worker thread, as the first read of a snapshot opens its marts."""
    source: Callable[[Any], RespondedCounts | None] | None = request.app.state.get(RESPONDED_SOURCE)
    if source is None:
        return None
    return await anyio.to_thread.run_sync(source, request.app.state)


def with_coverage(row: EnrollmentRow, counts: RespondedCounts | None) -> EnrollmentRow:
    """The row with its responded count and coverage from `counts` (unchanged when there is no snapshot)."""
    if counts is None:
        return row
    responded = counts.responded.get((row.campaign, str(row.program_id), row.course_year), 0)
    return msgspec.structs.replace(
        row,
        responded_count=responded,
        coverage_percent=round(responded * 100 / row.student_count, 2) if row.student_count else 0.0,
        coverage_snapshot_id=counts.snapshot_id,
        coverage_built_at=counts.built_at,
    )


_program_name = _QUERY.selected_columns["program__name"].element
ENROLLMENTS_LIST = Listing(
    query=_QUERY,
    build=enrollment_of,
    search=[_program_name, _enrollments.c.notes],
    ordering={
        "program": _program_name,
        **columns_of(_enrollments, "course_year", "student_count", "academic_year", "created_at", "updated_at"),
    },
    default=["program", "course_year"],
    id_column=_enrollments.c.id,
)


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
    and notes; `ordering`: program, course_year, student_count, academic_year, created_at, updated_at."""
    equal = [
        (_enrollments.c.program_id, program),
        (_enrollments.c.course_year, course_year),
        (_enrollments.c.academic_year, academic_year),
        (_enrollments.c.campaign, campaign),
    ]
    active = flag(_enrollments.c.is_active, is_active, "is_active")
    asked = ListQuery(search, ordering, page, page_size)
    page_ = await ENROLLMENTS_LIST.page(db_session, request, asked, where=active, equal=equal)
    counts = await responded_counts(request)
    page_.results = [with_coverage(row, counts) for row in page_.results]
    return page_


async def load_enrollment(session: AsyncSession, enrollment_id: uuid.UUID) -> EnrollmentRow:
    return await ENROLLMENTS_LIST.one(session, enrollment_id, f"No enrollment headcount with id {enrollment_id}.")


@get("/enrollments/{enrollment_id:uuid}", guards=[requires_viewer], summary="One enrollment headcount")
async def retrieve_enrollment(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], enrollment_id: uuid.UUID
) -> EnrollmentRow:
    return with_coverage(await load_enrollment(db_session, enrollment_id), await responded_counts(request))


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
    program_id = await program_of(db_session, data, required=True)
    now = utcnow()
    fields = msgspec.structs.asdict(data)
    del fields["program"], fields["program_id"], fields["program_code"]
    entry = EnrollmentHeadcount(id=uuid.uuid4(), program_id=program_id, created_at=now, updated_at=now, **fields)
    await _ensure_unique(db_session, entry)
    db_session.add(entry)
    row = await ENROLLMENTS.written(db_session, request, "create", entry.id)
    return with_coverage(row, await responded_counts(request))


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
    if (program_id := await program_of(db_session, data, required=False)) is not None:
        entry.program_id = program_id
    set_given(entry, data, ("course_year", "student_count", "academic_year", "campaign", "is_active", "notes"))
    await _ensure_unique(db_session, entry)
    entry.updated_at = utcnow()
    row = await ENROLLMENTS.written(db_session, request, "update", enrollment_id, before)
    return with_coverage(row, await responded_counts(request))


@delete("/enrollments/{enrollment_id:uuid}", guards=[requires_admin], summary="Delete an enrollment headcount")
async def delete_enrollment(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], enrollment_id: uuid.UUID
) -> None:
    entry = await _get_entry(db_session, enrollment_id)
    await ENROLLMENTS.deleted(db_session, request, entry, await ENROLLMENTS.snapshot(db_session, enrollment_id))


ENROLLMENT_HANDLERS = [
    list_enrollments,
    retrieve_enrollment,
    create_enrollment,
    patch_enrollment,
    delete_enrollment,
]
