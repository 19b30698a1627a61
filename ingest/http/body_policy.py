"""Request body rules shared by every endpoint: JSON unless a handler says otherwise (415), at most 1 MiB (413)."""

from __future__ import annotations

from typing import Any

from litestar import Request

from ingest.core.problems import ProblemError

MAX_BODY_BYTES = 1_048_576
JSON_TYPES = frozenset({"application/json"})
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _has_body(request: Request[Any, Any, Any]) -> bool:
    headers = request.headers
    length = headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "transfer-encoding" in headers


async def require_accepted_content_type(request: Request[Any, Any, Any]) -> None:
    """`before_request` hook: a body must come in a media type the handler accepts (`opt={"accepts": {...}}`)."""
    if request.method not in _BODY_METHODS or not _has_body(request):
        return
    accepts = request.route_handler.opt.get("accepts", JSON_TYPES)
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type in accepts or (media_type.endswith("+json") and "application/json" in accepts):
        return
    raise ProblemError(
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        f"Send the body as {' or '.join(sorted(accepts))}, not {media_type or 'an unspecified type'}.",
        field="content-type",
    )
