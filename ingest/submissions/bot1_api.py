"""Bot1 service endpoints (SPEC §4.3): applicant upsert, the four submits, and an applicant's applications."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.params import JSONBody, Parameter, SkipValidation
from sqlalchemy import select
from sqlalchemy.sql import Select

from ingest.auth.service_auth import bot1_only
from ingest.contracts.api import (
    BIGINT_MAX,
    Admissions2026Submit,
    ApplicantApplications,
    ApplicantOut,
    ApplicantUpsert,
    ApplicationCreated,
    ApplicationSummary,
    CampusTourSubmit,
    CatalogLabel,
    FoundationSubmit,
    PolitoAcademySubmit,
)
from ingest.core.reads import read_connection
from ingest.core.schema import CatalogItem
from ingest.submissions.bot1_sql import APPLICATION_TABLES, applicants
from ingest.submissions.endpoint import submit_one

_IDEMPOTENCY_DOC = "Send `Idempotency-Key` (a UUID): a retry with the same key and body replays the first answer."


@post("/applicants/upsert", status_code=200, summary="Create or partially update an applicant")
async def applicant_upsert(
    request: Request[Any, Any, Any], data: SkipValidation[JSONBody[ApplicantUpsert]]
) -> Response[ApplicantOut]:
    """Absent or blank fields keep the stored values. 201 when the applicant is new, 200 otherwise."""
    return await submit_one(request, "bot1.applicant", data)


@post(
    "/admissions-2026/submit",
    status_code=201,
    summary="Submit an admissions 2026 application",
    description=_IDEMPOTENCY_DOC,
)
async def admissions_submit(
    request: Request[Any, Any, Any], data: SkipValidation[JSONBody[Admissions2026Submit]]
) -> Response[ApplicationCreated]:
    return await submit_one(request, "bot1.admissions_2026", data)


@post("/campus-tour/submit", status_code=201, summary="Submit a campus tour request", description=_IDEMPOTENCY_DOC)
async def campus_tour_submit(
    request: Request[Any, Any, Any], data: SkipValidation[JSONBody[CampusTourSubmit]]
) -> Response[ApplicationCreated]:
    return await submit_one(request, "bot1.campus_tour", data)


@post("/foundation/submit", status_code=201, summary="Submit a foundation request", description=_IDEMPOTENCY_DOC)
async def foundation_submit(
    request: Request[Any, Any, Any], data: SkipValidation[JSONBody[FoundationSubmit]]
) -> Response[ApplicationCreated]:
    return await submit_one(request, "bot1.foundation", data)


@post(
    "/polito-academy/submit", status_code=201, summary="Submit a Polito Academy request", description=_IDEMPOTENCY_DOC
)
async def polito_academy_submit(
    request: Request[Any, Any, Any], data: SkipValidation[JSONBody[PolitoAcademySubmit]]
) -> Response[ApplicationCreated]:
    return await submit_one(request, "bot1.polito_academy", data)


_catalog = CatalogItem.__table__
_LABEL_COLUMNS = ("id", "code", "name", "name_uz", "name_ru", "name_en")
_REF_COLUMNS = {"direction": "direction_id", "track": "track_id", "subject": "subject_id"}


def _applications_query(kind: str, telegram_user_id: int) -> Select[Any]:
    table = APPLICATION_TABLES[kind]
    columns: list[Any] = [table.c.id, table.c.status, table.c.submitted_at, table.c.created_at, table.c.updated_at]
    if "preferred_date" in table.c:
        columns.append(table.c.preferred_date)
    query_from = table.join(applicants, applicants.c.id == table.c.applicant_id)
    for ref, column in _REF_COLUMNS.items():
        if column in table.c:
            item = _catalog.alias(ref)
            columns += [item.c[c].label(f"{ref}__{c}") for c in _LABEL_COLUMNS]
            query_from = query_from.outerjoin(item, item.c.id == table.c[column])
    return select(*columns).select_from(query_from).where(applicants.c.telegram_user_id == telegram_user_id)


def _label(row: Any, ref: str) -> CatalogLabel | None:
    values = {c: getattr(row, f"{ref}__{c}", None) for c in _LABEL_COLUMNS}
    return CatalogLabel(**values) if values["id"] is not None else None


@get("/applicants/{telegram_user_id:int}/applications", summary="An applicant's applications and their status")
async def applicant_applications(
    request: Request[Any, Any, Any],
    telegram_user_id: Annotated[int, Parameter(ge=1, le=BIGINT_MAX)],
) -> ApplicantApplications:
    """Every application of this Telegram user, newest first, with its current status (empty if none)."""
    results: list[ApplicationSummary] = []
    async with read_connection(request.app.state.db.engine) as conn:
        applicant_id = await conn.scalar(
            select(applicants.c.id).where(applicants.c.telegram_user_id == telegram_user_id)
        )
        if applicant_id is not None:
            for kind in APPLICATION_TABLES:
                rows = await conn.execute(_applications_query(kind, telegram_user_id))
                results.extend(_summary(kind, row) for row in rows)
    results.sort(key=lambda a: (a.created_at, str(a.id)), reverse=True)
    return ApplicantApplications(
        telegram_user_id=telegram_user_id, applicant_id=applicant_id, count=len(results), results=results
    )


def _summary(kind: str, row: Any) -> ApplicationSummary:
    return ApplicationSummary(
        id=row.id,
        kind=kind,  # type: ignore[arg-type]
        status=row.status,
        submitted_at=row.submitted_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        direction=_label(row, "direction"),
        track=_label(row, "track"),
        subject=_label(row, "subject"),
        preferred_date=getattr(row, "preferred_date", None),
    )


def bot1_router() -> Router:
    return Router(
        path="/bot1",
        guards=[bot1_only],
        route_handlers=[
            applicant_upsert,
            admissions_submit,
            campus_tour_submit,
            foundation_submit,
            polito_academy_submit,
            applicant_applications,
        ],
        tags=["bot1 (service token)"],
    )
