"""Bot1 service endpoints (SPEC §4.3): applicant upsert, one submit per application kind (generated from the
registry, `ingest.contracts.kinds`), and an applicant's applications."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import JSONBody, Parameter, SkipValidation
from sqlalchemy import select
from sqlalchemy.sql import Select

from ingest.auth.service_auth import bot1_only
from ingest.contracts.api import BIGINT_MAX, ApplicantOut, ApplicantUpsert, CatalogLabel
from ingest.contracts.applications import ApplicantApplications, ApplicationCreated, ApplicationSummary
from ingest.contracts.kinds import APPLICATION_KINDS, ApplicationKind
from ingest.core.reads import read_connection
from ingest.core.schema import CatalogItem
from ingest.submissions.bot1_write import APPLICATION_TABLES, applicants
from ingest.submissions.endpoint import submit_one

_IDEMPOTENCY_DOC = "Send `Idempotency-Key` (a UUID): a retry with the same key and body replays the first answer."


@post("/applicants/upsert", status_code=200, summary="Create or partially update an applicant")
async def applicant_upsert(
    request: Request[Any, Any, Any], data: SkipValidation[JSONBody[ApplicantUpsert]]
) -> Response[ApplicantOut]:
    """Absent or blank fields keep the stored values. 201 when the applicant is new, 200 otherwise."""
    return await submit_one(request, "bot1.applicant", data)


def _submit_handler(kind: ApplicationKind) -> HTTPRouteHandler:
    """`POST /bot1/<slug>/submit`, generated from the registry."""

    async def submit(request: Request[Any, Any, Any], data: Any) -> Response[ApplicationCreated]:
        return await submit_one(request, kind.batch_kind, data)

    # Litestar reads the body type from the annotations (it becomes the documented request body).
    submit.__annotations__ = {
        "request": Request[Any, Any, Any],
        "data": SkipValidation[JSONBody[kind.struct]],  # type: ignore[name-defined]
        "return": Response[ApplicationCreated],
    }
    # The name makes the OpenAPI operation id: the slug's words, numbers left out (`admissions_submit`).
    submit.__name__ = submit.__qualname__ = "_".join(w for w in kind.slug.split("-") if not w.isdigit()) + "_submit"
    article = "an" if kind.noun[0] in "aeiou" else "a"
    summary = f"Submit {article} {kind.noun}"
    return post(kind.path, status_code=201, summary=summary, description=_IDEMPOTENCY_DOC)(submit)


_catalog = CatalogItem.__table__
_LABEL_COLUMNS = ("id", "code", "name", "name_uz", "name_ru", "name_en")


def _applications_query(kind: ApplicationKind, telegram_user_id: int) -> Select[Any]:
    table = APPLICATION_TABLES[kind.slug]
    columns: list[Any] = [table.c.id, table.c.status, table.c.submitted_at, table.c.created_at, table.c.updated_at]
    columns += [table.c[name] for name in kind.own_fields]
    query_from = table.join(applicants, applicants.c.id == table.c.applicant_id)
    for ref in kind.refs:
        item = _catalog.alias(ref)
        columns += [item.c[c].label(f"{ref}__{c}") for c in _LABEL_COLUMNS]
        query_from = query_from.outerjoin(item, item.c.id == table.c[f"{ref}_id"])
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
            for kind in APPLICATION_KINDS:
                rows = await conn.execute(_applications_query(kind, telegram_user_id))
                results.extend(_summary(kind.slug, row) for row in rows)
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
        application_region=_label(row, "application_region"),
    )


def bot1_router() -> Router:
    return Router(
        path="/bot1",
        guards=[bot1_only],
        route_handlers=[
            applicant_upsert,
            *(_submit_handler(kind) for kind in APPLICATION_KINDS),
            applicant_applications,
        ],
        tags=["bot1 (service token)"],
    )
