"""Read-only dashboard lists of bot1 data (SPEC §5, RS §3.5): applicants and the applications of each kind in the
registry (`ingest.contracts.kinds`), with nested catalog labels in uz/ru/en fetched in the same statement as the rows
(no query per row)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from functools import partial
from typing import Any

import msgspec
from litestar import Request, Router, get
from litestar.di import NamedDependency
from msgspec import UNSET, UnsetType
from sqlalchemy import Select, Table, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import FromClause

from ingest.auth.guards import requires_viewer
from ingest.catalog.labels import CatalogNested, label_joins, label_of
from ingest.contracts.fields import Status
from ingest.contracts.kinds import APPLICATION_KINDS, BY_SLUG, ApplicationKind
from ingest.core.problems import ProblemError
from ingest.core.schema import Applicant, Base
from ingest.dashboard.crud import LIST_QUERY, Listing, ListQuery, columns_of, within
from ingest.http.pagination import Page
from ingest.http.windows import FromParam, ToParam

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


class ApplicantRow(msgspec.Struct, kw_only=True):
    """RS §3.5's applicant: `region` is the uuid (also as `region_id`), `region_details` its labels."""

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
    region: uuid.UUID | None
    region_id: uuid.UUID | None
    region_details: CatalogNested | None
    created_at: datetime
    updated_at: datetime


class ApplicationRow(msgspec.Struct, kw_only=True):
    """One application in RS §3.5's shape: each reference is its uuid under the plain name (also as `<name>_id`) and
    its labels under `<name>_details`. Only the catalog fields of the kind are present."""

    id: uuid.UUID
    kind: str
    status: str
    answers: dict[str, Any]
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    applicant: uuid.UUID
    applicant_id: uuid.UUID
    applicant_details: ApplicantRow
    direction: uuid.UUID | UnsetType | None = UNSET
    direction_id: uuid.UUID | UnsetType | None = UNSET
    direction_details: CatalogNested | UnsetType | None = UNSET
    track: uuid.UUID | UnsetType | None = UNSET
    track_id: uuid.UUID | UnsetType | None = UNSET
    track_details: CatalogNested | UnsetType | None = UNSET
    subject: uuid.UUID | UnsetType | None = UNSET
    subject_id: uuid.UUID | UnsetType | None = UNSET
    subject_details: CatalogNested | UnsetType | None = UNSET
    preferred_date: date | UnsetType | None = UNSET
    # the region the application was made from (null: not asked, the applicant's region stands)
    application_region: uuid.UUID | UnsetType | None = UNSET
    application_region_id: uuid.UUID | UnsetType | None = UNSET
    application_region_details: CatalogNested | UnsetType | None = UNSET


# --- applicants --------------------------------------------------------------------------------------------------


def applicant_columns(prefix: str = "") -> list[Any]:
    return [_applicants.c[f].label(f"{prefix}{f}") for f in _APPLICANT_FIELDS]


def applicant_of(row: Any, prefix: str = "") -> ApplicantRow:
    m = row._mapping
    values = {f: m[f"{prefix}{f}"] for f in _APPLICANT_FIELDS}
    return ApplicantRow(**values, region=values["region_id"], region_details=label_of(row, f"{prefix}region"))


def _applicants_query() -> Select[Any]:
    source, labels = label_joins(_applicants, [(_applicants.c.region_id, "region")])
    return select(*applicant_columns(), *labels).select_from(source)


APPLICANTS_LIST = Listing(
    query=_applicants_query(),
    build=applicant_of,
    search=_SEARCH_COLUMNS,
    ordering=columns_of(_applicants, "created_at", "updated_at", "telegram_user_id", "last_name"),
    default=["-created_at"],
    id_column=_applicants.c.id,
)


@get("/applicants/", guards=[requires_viewer], dependencies=LIST_QUERY, summary="List bot1 applicants")
async def list_applicants(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    region: uuid.UUID | None = None,
    *,
    asked: ListQuery,
) -> Page[ApplicantRow]:
    """Filter `region`; `search` over username, names, e-mail and phone; `ordering`: created_at, updated_at,
    telegram_user_id, last_name (default -created_at)."""
    return await APPLICANTS_LIST.page(db_session, request, asked, equal=[(_applicants.c.region_id, region)])


@get("/applicants/{applicant_id:uuid}", guards=[requires_viewer], summary="One bot1 applicant")
async def retrieve_applicant(db_session: NamedDependency[AsyncSession], applicant_id: uuid.UUID) -> ApplicantRow:
    return await APPLICANTS_LIST.one(db_session, applicant_id, f"No applicant with id {applicant_id}.")


# --- applications ------------------------------------------------------------------------------------------------


def kind_of(slug: str) -> ApplicationKind:
    """The registry's kind for a path's `kind`; 404 naming the known ones otherwise."""
    kind = BY_SLUG.get(slug)
    if kind is None:
        raise ProblemError(
            404, "NOT_FOUND", f"Unknown application kind {slug!r}: use {', '.join(BY_SLUG)}.", field="kind"
        )
    return kind


def _table(kind: ApplicationKind) -> Table:
    """The kind's operational table, by the name the registry gives it."""
    return Base.metadata.tables[kind.table]


def table_of(slug: str) -> Table:
    """The operational table of a path's `kind`; 404 for an unknown kind."""
    return _table(kind_of(slug))


def _applications_query(kind: ApplicationKind) -> Select[Any]:
    """Every column of the kind's table, its applicant (with region) and its catalog labels, in one SELECT."""
    table = _table(kind)
    source: FromClause = table.join(_applicants, _applicants.c.id == table.c.applicant_id)
    refs = [(_applicants.c.region_id, "applicant__region"), *((table.c[f"{ref}_id"], ref) for ref in kind.refs)]
    source, labels = label_joins(source, refs)
    return select(table, *applicant_columns("applicant__"), *labels).select_from(source)


def application_of(kind: ApplicationKind, row: Any) -> ApplicationRow:
    m = row._mapping
    extra: dict[str, Any] = {}
    for ref in kind.refs:
        extra[ref] = extra[f"{ref}_id"] = m[f"{ref}_id"]
        extra[f"{ref}_details"] = label_of(row, ref)
    if "preferred_date" in m:
        extra["preferred_date"] = m["preferred_date"]
    return ApplicationRow(
        id=m["id"],
        kind=kind.slug,
        status=m["status"],
        answers=m["answers"] or {},
        submitted_at=m["submitted_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        applicant=m["applicant_id"],
        applicant_id=m["applicant_id"],
        applicant_details=applicant_of(row, "applicant__"),
        **extra,
    )


def _listing(kind: ApplicationKind) -> Listing[ApplicationRow]:
    table = _table(kind)
    return Listing(
        query=_applications_query(kind),
        build=partial(application_of, kind),
        search=_SEARCH_COLUMNS,
        ordering=columns_of(table, "submitted_at", "created_at", "updated_at", "status"),
        default=["-submitted_at", "-created_at"],
        id_column=table.c.id,
    )


APPLICATION_LISTS = {kind.slug: _listing(kind) for kind in APPLICATION_KINDS}


def _ref_filters(kind: ApplicationKind, table: Table, wanted: dict[str, uuid.UUID | None]) -> list[tuple[Any, Any]]:
    """`<ref>_id == value` for each catalog filter given; 400 INVALID_FILTER for a reference the kind lacks."""
    equal = []
    for ref, value in wanted.items():
        if value is None:
            continue
        if ref not in kind.refs:
            raise ProblemError(400, "INVALID_FILTER", f"This kind of application has no {ref}.", field=ref)
        equal.append((table.c[f"{ref}_id"], value))
    return equal


@get(
    "/applications/{kind:str}/",
    guards=[requires_viewer],
    dependencies=LIST_QUERY,
    summary="List applications of one kind",
)
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
    application_region: uuid.UUID | None = None,
    from_: FromParam = None,
    to: ToParam = None,
    *,
    asked: ListQuery,
) -> Page[ApplicationRow]:
    """`kind`: a slug of `ingest.contracts.kinds`. Filters: `status`, `applicant`, `region` (the applicant's),
    `application_region` (the one chosen for the application), `direction` and `track` (admissions), `subject`
    (polito), `from`/`to` on submitted_at (half-open). `search` over
    the applicant's username, names, e-mail, phone. `ordering`: submitted_at, created_at, updated_at, status (default
    -submitted_at, -created_at; unsubmitted rows last)."""
    spec = kind_of(kind)
    table = _table(spec)
    window = within(request, table.c.submitted_at, from_, to)
    wanted = {"direction": direction, "track": track, "subject": subject, "application_region": application_region}
    refs = _ref_filters(spec, table, wanted)
    equal = [(table.c.status, status), (table.c.applicant_id, applicant), (_applicants.c.region_id, region), *refs]
    return await APPLICATION_LISTS[spec.slug].page(db_session, request, asked, where=window, equal=equal)


async def load_application(session: AsyncSession, kind: str, application_id: uuid.UUID) -> ApplicationRow:
    listing = APPLICATION_LISTS[kind_of(kind).slug]
    return await listing.one(session, application_id, f"No {kind} application with id {application_id}.")


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
