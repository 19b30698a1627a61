"""The ingestion API's routers (SPEC §4), for `crm.app.api_route_handlers`."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router

from ingest.core.problems import Problem, problem_response
from ingest.submissions.batch_api import batch_router
from ingest.submissions.bot1_api import bot1_router
from ingest.submissions.bot2_api import bot2_router
from ingest.submissions.bot_catalog_api import bot_catalog_router


def malformed_body(request: Request[Any, Any, Any], _: UnicodeDecodeError) -> Response[Problem]:
    """msgspec reports invalid UTF-8 inside a JSON string as UnicodeDecodeError, which Litestar does not map."""
    return problem_response(request, 400, "MALFORMED_JSON", "The request body is not valid UTF-8 JSON.", field="$")


def too_deep(request: Request[Any, Any, Any], _: RecursionError) -> Response[Problem]:
    """Decoding a body nested thousands of levels deep exhausts the recursion limit: a bad body, not a crash."""
    return problem_response(request, 400, "MALFORMED_JSON", "The request body is nested too deeply.", field="$")


def ingest_routers() -> list[Router]:
    routers = [bot1_router(), bot2_router(), bot_catalog_router(), batch_router()]
    for router in routers:
        router.exception_handlers[UnicodeDecodeError] = malformed_body
        router.exception_handlers[RecursionError] = too_deep
    return routers
