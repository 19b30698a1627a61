"""One HTTP submission in, one response out: the shared tail of every creating bot endpoint (SPEC §4.2, §4.3)."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response

from ingest import idempotency, submissions
from ingest.audit import request_context
from ingest.catalog_refs import catalog_of
from ingest.service_auth import caller_of
from ingest.submissions import Submission

JSON = "application/json"


async def submit_one(request: Request[Any, Any, Any], kind: str, body: msgspec.Struct) -> Response[Any]:
    """Store one submission: 201 with its answer, 200 + `Idempotent-Replayed: true` on a replay, or a problem."""
    caller = caller_of(request)
    sub = Submission(
        kind=kind,
        body=body,
        key=idempotency.key_from_headers(request.headers),
        context=request_context(request, request.app.state.settings),
    )
    await submissions.write(request.app.state.db.engine, catalog_of(request.app), caller.service, [sub], lock_keys=True)
    if sub.outcome == "error" and sub.problem is not None:
        raise sub.problem
    headers = {idempotency.REPLAYED_HEADER: "true"} if sub.outcome == "replayed" else None
    return Response(content=msgspec.json.encode(sub.answer), status_code=sub.status, media_type=JSON, headers=headers)
