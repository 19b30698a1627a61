"""Bot2 service endpoint (SPEC §4.3): the employment survey, matched against the roster."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, post
from litestar.params import JSONBody, SkipValidation

from ingest.auth.service_auth import bot2_only
from ingest.contracts.api import SurveySubmit, SurveySubmitted
from ingest.submissions.endpoint import submit_one


@post("/surveys/submit", status_code=201, summary="Submit a survey response")
async def survey_submit(
    request: Request[Any, Any, Any], data: SkipValidation[JSONBody[SurveySubmit]]
) -> Response[SurveySubmitted]:
    """The roster decides program and course year; an unknown student needs `program_id`/`program_code` and is
    enrolled in roster campaign `bot2_auto`. Responses are appended. Send `Idempotency-Key` (a UUID)."""
    return await submit_one(request, "bot2.survey", data)


def bot2_router() -> Router:
    return Router(path="/bot2", guards=[bot2_only], route_handlers=[survey_submit], tags=["bot2 (service token)"])
