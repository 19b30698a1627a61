"""`POST /ingest/batch` (SPEC §4.3): up to 1,000 queued submissions of one bot, stored set-based in one go.

Each item is checked like its single endpoint (its own idempotency key, its own problem); valid items are stored
even when others fail, and the answer lists one result per item in item order. A key that another request is
still processing is waited for and then replayed, rather than answered 409.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, post
from litestar.params import JSONBody, SkipValidation

from ingest.audit.rows import request_context
from ingest.auth.service_auth import caller_of, either_bot
from ingest.catalog.refs import catalog_of
from ingest.contracts.batch import BatchRequest, BatchResponse, BatchResult
from ingest.contracts.kinds import BATCH_KINDS
from ingest.core.observability import request_id_of
from ingest.core.problems import HTTP_TITLES, Problem, ProblemError
from ingest.submissions import metrics
from ingest.submissions import write as submissions
from ingest.submissions.endpoint import strict
from ingest.submissions.write import Submission

MAX_BATCH_BODY_BYTES = 8 * 1024 * 1024  # 1,000 items of a few KiB each


def _item_field(index: int, field: str | None) -> str | None:
    """Point a single-endpoint field (`$.direction_id`, the key header) at the item inside the batch."""
    if field is None or field.startswith(f"$.items[{index}]"):
        return field
    if field.startswith("$"):
        return f"$.items[{index}].payload{field[1:]}"
    return f"$.items[{index}].idempotency_key" if field.lower() == "idempotency-key" else field


def _problem_body(index: int, problem: ProblemError, request_id: str) -> Problem:
    return Problem(
        type=f"https://ttpu-crm.example/problems/{problem.code.lower().replace('_', '-')}",
        title=HTTP_TITLES.get(problem.status, "Error"),
        status=problem.status,
        code=problem.code,
        detail=problem.detail,
        field=_item_field(index, problem.field),
        errors=problem.errors,
        request_id=request_id,
    )


def _submission(index: int, item: Any, service: str, context: dict[str, Any]) -> Submission:
    sub = Submission(kind=item.kind, body=None, key=item.idempotency_key, context=context)
    if BATCH_KINDS[item.kind].service != service:
        sub.fail(
            ProblemError(
                403,
                "SERVICE_TOKEN_WRONG_BOT",
                f"A {service} token cannot submit {item.kind} items.",
                field=f"$.items[{index}].kind",
            )
        )
        return sub
    try:
        sub.body = strict(item.payload, BATCH_KINDS[item.kind].struct, prefix=f"$.items[{index}].payload")
    except ProblemError as problem:
        sub.fail(problem)
    return sub


@post("/batch", status_code=200, request_max_body_size=MAX_BATCH_BODY_BYTES, summary="Submit up to 1,000 items")
async def ingest_batch(request: Request[Any, Any, Any], data: SkipValidation[JSONBody[BatchRequest]]) -> BatchResponse:
    """Items `{kind, idempotency_key, payload}` of the calling bot's kinds; results in item order."""
    data = strict(data, BatchRequest)
    service = caller_of(request).service
    context = request_context(request, request.app.state.settings)
    subs = [_submission(i, item, service, context) for i, item in enumerate(data.items)]
    valid = [s for s in subs if not s.done]
    await submissions.write(request.app.state.db.engine, catalog_of(request.app), service, valid, lock_keys=False)
    metrics.settled(subs)
    request_id = request_id_of(request.scope)
    return BatchResponse(
        results=[
            BatchResult(
                idempotency_key=s.key or "",
                status=s.outcome,  # type: ignore[arg-type]
                id=s.entity_id if s.outcome != "error" else None,
                problem=_problem_body(i, s.problem, request_id) if s.problem is not None else None,
            )
            for i, s in enumerate(subs)
        ]
    )


def batch_router() -> Router:
    return Router(path="/ingest", guards=[either_bot], route_handlers=[ingest_batch], tags=["bots (service token)"])
