"""One HTTP submission in, one response out: the shared tail of every creating bot endpoint (SPEC §4.2, §4.3)."""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response

from ingest.audit.rows import request_context
from ingest.auth.service_auth import caller_of
from ingest.contracts.kinds import BATCH_KINDS
from ingest.core.problems import ProblemError
from ingest.submissions import metrics
from ingest.submissions.gathering import gatherer_of
from ingest.submissions.write import Submission, idempotency

JSON = "application/json"
T = TypeVar("T")
_AT = re.compile(r" - at `(\$[^`]*)`$")
_UNKNOWN = re.compile(r"unknown field `([^`]*)`")


def validation_problem(exc: msgspec.ValidationError, prefix: str = "$") -> ProblemError:
    """A msgspec error as 400 VALIDATION_ERROR naming the JSON path (`$.answers.score`, `$.unknown_field`)."""
    message = str(exc)
    match = _AT.search(message)
    path = prefix + (match.group(1)[1:] if match else "")
    message = _AT.sub("", message)
    if unknown := _UNKNOWN.search(message):
        path = f"{path}.{unknown.group(1)}"
    return ProblemError(400, "VALIDATION_ERROR", f"{path}: {message}", field=path)


def strict(data: Any, type_: type[T], prefix: str = "$") -> T:
    """Convert a decoded JSON body strictly: a string is never taken for a number (Litestar's own conversion is lax,
    so handlers take the body with `SkipValidation` and call this)."""
    try:
        return msgspec.convert(data, type_, strict=True)
    except msgspec.ValidationError as exc:
        raise validation_problem(exc, prefix) from None


async def submit_one(request: Request[Any, Any, Any], kind: str, data: Any) -> Response[Any]:
    """Store one submission (`data`: the decoded JSON body): 201 with its answer, 200 + `Idempotent-Replayed: true`
    on a replay, or a problem."""
    caller = caller_of(request)
    in_flight = metrics.IN_FLIGHT.labels(kind)
    in_flight.inc()
    try:
        sub = Submission(
            kind=kind,
            body=strict(data, BATCH_KINDS[kind].struct),
            key=idempotency.key_from_headers(request.headers),
            context=request_context(request, request.app.state.settings),
        )
        await gatherer_of(request.app, caller.service).submit(sub)
    except ProblemError as problem:
        metrics.rejected(kind, problem)
        raise
    finally:
        in_flight.dec()
    metrics.settled([sub])
    if sub.outcome == "error" and sub.problem is not None:
        raise sub.problem
    headers = {idempotency.REPLAYED_HEADER: "true"} if sub.outcome == "replayed" else None
    return Response(content=msgspec.json.encode(sub.answer), status_code=sub.status, media_type=JSON, headers=headers)
