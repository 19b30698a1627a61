"""Read-only dashboard lists of bot1 data (SPEC §5, RS §3.5): applicants and the four application kinds, with
nested catalog labels in uz/ru/en fetched in the same statement as the rows (no query per row)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

import msgspec
from litestar import Request, Router, get
from litestar.di import NamedDependency
from sqlalchemy import Select, Table, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause

from ingest.auth.guards import requires_viewer
from ingest.catalog.labels import CatalogNested, label_joins, label_of
from ingest.core.problems import ProblemError
from ingest.core.schema import APPLICATION_MODELS, Applicant
from ingest.dashboard.crud import matching, one_or_404
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
from ingest.http.windows import FromParam, ToParam, Window, parse_window, window_clauses

Status = Literal["new", "submitted", "in_progress", "approved", "rejected"]
_applicants = Applicant.__table__
_APPLICANT_FIELDS = (
    "id",
    "telegram_user_id",
    "telegram_chat_id",
    "username",
    "first_name",
    "last_name",
    "phone",
    "email",
    "gender",
    "birth_date",
    "language",
    "region_id",
    "created_at",
    "updated_at",
)
_APPLICANT_SEARCH = ("username", "first_name", "last_name", "email", "phone")
_SEARCH_COLUMNS = [_applicants.c[f] for f in _APPLICANT_SEARCH]
# Catalog references of each application table: (column, nested field name).
_REFS = {"direction_id": "direction", "track_id": "track", "subject_id": "subject"}


class ApplicantRow(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    telegram_user_id: int
    telegram_chat_id: int | None
    username: str
    first_name: str
    last_name: str
    phone: str
    email: str
    gender: str
    birth_date: date | None
    language: str
    region_id: uuid.UUID | None
    region: CatalogNested | None
    created_at: datetime
    updated_at: datetime


class ApplicationRow(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One application; the catalog fields present depend on the kind."""

    id: uuid.UUID
    kind: str
    status: str
    answers: dict[str, Any]
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    applicant_id: uuid.UUID
    applicant: ApplicantRow
    direction_id: uuid.UUID | None = None
    direction: CatalogNested | None = None
    track_id: uuid.UUID | None = None
    track: CatalogNested | None = None
    subject_id: uuid.UUID | None = None
    subject: CatalogNested | None = None
    preferred_date: date | None = None


# --- applicants --------------------------------------------------------------------------------------------------


def applicant_columns(prefix: str = "") -> list[Any]:
    return [_applicants.c[f].label(f"{prefix}{f}") for f in _APPLICANT_FIELDS]


def applicant_of(row: Any, prefix: str = "") -> ApplicantRow:
    m = row._mapping
    values = {f: m[f"{prefix}{f}"] for f in _APPLICANT_FIELDS}
    return ApplicantRow(**values, region=label_of(row, f"{prefix}region"))


def _applicants_query() -> Select[Any]:
    source, labels = label_joins(_applicants, [(_applicants.c.region_id, "region")])
    return select(*applicant_columns(), *labels).select_from(source)


_APPLICANT_ORDERING = {
    "created_at": _applicants.c.created_at,
    "updated_at": _applicants.c.updated_at,
    "telegram_user_id": _applicants.c.telegram_user_id,
    "last_name": _applicants.c.last_name,
}


@get("/applicants/", guards=[requires_viewer], summary="List bot1 applicants")
async def list_applicants(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    region: uuid.UUID | None = None,
    search: SearchParam = None,
    ordering: OrderingParam = None,
    page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE,
) -> Page[ApplicantRow]:
    """Filter `region`; `search` over username, names, e-mail and phone; `ordering`: created_at, updated_at,
    telegram_user_id, last_name (default -created_at)."""
    query = matching(_applicants_query(), [(_applicants.c.region_id, region)], search, _SEARCH_COLUMNS)
    query = query.order_by(*order_by(ordering, _APPLICANT_ORDERING, ["-created_at"], _applicants.c.id))
    return await paginate(db_session, request, query, page=page, page_size=page_size, build=applicant_of)


@get("/applicants/{applicant_id:uuid}", guards=[requires_viewer], summary="One bot1 applicant")
async def retrieve_applicant(db_session: NamedDependency[AsyncSession], applicant_id: uuid.UUID) -> ApplicantRow:
    query = _applicants_query().where(_applicants.c.id == applicant_id)
    return await one_or_404(db_session, query, applicant_of, f"No applicant with id {applicant_id}.")


# --- applications ------------------------------------------------------------------------------------------------


def table_of(kind: str) -> Table:
    model = APPLICATION_MODELS.get(kind)
    if model is None:
        raise ProblemError(
            404, "NOT_FOUND", f"Unknown application kind {kind!r}: use {', '.join(APPLICATION_MODELS)}.", field="kind"
        )
    return model.__table__  # type: ignore[return-value]


def applications_query(kind: str) -> Select[Any]:
    """Every column of the kind's table, its applicant (with region) and its catalog labels, in one SELECT."""
    table = table_of(kind)
    source: FromClause = table.join(_applicants, _applicants.c.id == table.c.applicant_id)
    refs = [(_applicants.c.region_id, "applicant__region")]
    refs += [(table.c[column], name) for column, name in _REFS.items() if column in table.c]
    source, labels = label_joins(source, refs)
    return select(table, *applicant_columns("applicant__"), *labels).select_from(source)


def application_of(kind: str, row: Any) -> ApplicationRow:
    m = row._mapping
    extra: dict[str, Any] = {}
    for column, name in _REFS.items():
        if column in m:
            extra[column] = m[column]
            extra[name] = label_of(row, name)
    if "preferred_date" in m:
        extra["preferred_date"] = m["preferred_date"]
    return ApplicationRow(
        id=m["id"],
        kind=kind,
        status=m["status"],
        answers=m["answers"] or {},
        submitted_at=m["submitted_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        applicant_id=m["applicant_id"],
        applicant=applicant_of(row, "applicant__"),
        **extra,
    )


def _filter_applications(
    query: Select[Any], table: Table, filters: dict[str, Any], window: Window, search: str | None
) -> Select[Any]:
    for column, value in filters.items():
        if value is None:
            continue
        if column not in table.c and column != "region_id":
            raise ProblemError(
                400, "INVALID_FILTER", f"This kind of application has no {column[:-3]}.", field=column[:-3]
            )
        target = _applicants.c.region_id if column == "region_id" else table.c[column]
        query = query.where(target == value)
    query = query.where(*window_clauses(table.c.submitted_at, window))
    return matching(query, [], search, _SEARCH_COLUMNS)


@get("/applications/{kind:str}/", guards=[requires_viewer], summary="List applications of one kind")
async def list_applications(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    kind: str,
    status: Status | None = None,
    applicant: uuid.UUID | None = None,
    region: uuid.UUID | None = None,
    direction: uuid.UUID | None = None,
    track: uuid.UUID | None = None,
    subject: uuid.UUID | None = None,
    from_: FromParam = None,
    to: ToParam = None,
    search: SearchParam = None,
    ordering: OrderingParam = None,
    page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE,
) -> Page[ApplicationRow]:
    """`kind`: admissions-2026, campus-tour, foundation, polito-academy. Filters: `status`, `applicant`, `region`
    (the applicant's), `direction` and `track` (admissions), `subject` (polito), `from`/`to` on submitted_at
    (half-open). `search` over the applicant's username, names, e-mail, phone. `ordering`: submitted_at, created_at,
    updated_at, status (default -submitted_at, -created_at; unsubmitted rows last)."""
    table = table_of(kind)
    filters = {
        "status": status,
        "applicant_id": applicant,
        "region_id": region,
        "direction_id": direction,
        "track_id": track,
        "subject_id": subject,
    }
    window = parse_window(from_, to, request.app.state.settings.tz)
    query = _filter_applications(applications_query(kind), table, filters, window, search)
    allowed = {c: table.c[c] for c in ("submitted_at", "created_at", "updated_at", "status")}
    query = query.order_by(*order_by(ordering, allowed, ["-submitted_at", "-created_at"], table.c.id))
    return await paginate(
        db_session, request, query, page=page, page_size=page_size, build=lambda row: application_of(kind, row)
    )


async def load_application(session: AsyncSession, kind: str, application_id: uuid.UUID) -> ApplicationRow:
    query = applications_query(kind).where(table_of(kind).c.id == application_id)
    missing = f"No {kind} application with id {application_id}."
    return await one_or_404(session, query, lambda row: application_of(kind, row), missing)


@get("/applications/{kind:str}/{application_id:uuid}", guards=[requires_viewer], summary="One application")
async def retrieve_application(
    db_session: NamedDependency[AsyncSession], kind: str, application_id: uuid.UUID
) -> ApplicationRow:
    return await load_application(db_session, kind, application_id)


def bot1_lists_router() -> Router:
    return Router(
        path="/bot1",
        route_handlers=[list_applicants, retrieve_applicant, list_applications, retrieve_application],
        tags=["bot1 (dashboard)"],
    )
