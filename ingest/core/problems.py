"""RFC 9457 problem+json for every error, each with a stable `code` and the request id (SPEC §12)."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError

from ingest.contracts.problem import FieldError, Problem
from ingest.core.observability import client_disconnected, request_id_of

log = logging.getLogger("crm.errors")

PROBLEM_JSON = "application/problem+json"

STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE",
    429: "RATE_LIMITED",
    503: "UNAVAILABLE",
}


class ProblemError(Exception):
    """Raise this from any layer to answer with a problem: status, stable code, a sentence, and the field at fault."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        field: str | None = None,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.field = field
        self.errors = errors
        self.headers = headers or {}


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    detail: str,
    *,
    field: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    title = HTTP_TITLES.get(status, "Error")
    body = Problem(
        type=f"https://ttpu-crm.example/problems/{code.lower().replace('_', '-')}",
        title=title,
        status=status,
        code=code,
        detail=detail,
        field=field,
        errors=errors,
        request_id=request_id_of(request.scope),
    )
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


HTTP_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    499: "Client Closed Request",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]*)`")


def _json_path(key: str) -> str:
    """Litestar reports body paths relative to the body (`answers.score`, `data` for the root); we answer `$...`."""
    if key in ("", "data"):
        return "$"
    return "$" + ("" if key.startswith("[") else ".") + key


def _field_errors(exc: ValidationException) -> list[FieldError]:
    """Turn Litestar's validation detail into `{field, message}` pairs: `$.a.b` for the body, names for parameters."""
    errors: list[FieldError] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value"))
        key = str(item.get("key", ""))
        if item.get("source") != "body":
            errors.append(FieldError(field=key or "request", message=message))
            continue
        path = _json_path(key)
        if unknown := _UNKNOWN_FIELD.search(message):
            path = f"{path}.{unknown.group(1)}"
        elif message == "'data'":  # msgspec's KeyError text when there is no body at all
            message = "A JSON body is required."
        errors.append(FieldError(field=path, message=message))
    return errors


def _is_decode_error(exc: BaseException) -> bool:
    """True when the body could not be parsed at all (Litestar wraps msgspec's DecodeError; its subclass
    ValidationError means the JSON parsed but did not fit the Struct)."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if any(isinstance(e, msgspec.ValidationError) for e in chain):
        return False
    return any(isinstance(e, (SerializationException, msgspec.DecodeError)) for e in chain)


def _malformed(request: Request[Any, Any, Any]) -> Response[Problem]:
    return problem_response(request, 400, "MALFORMED_JSON", "The request body is not valid JSON.", field="$")


def handle_problem(request: Request[Any, Any, Any], exc: ProblemError) -> Response[Problem]:
    return problem_response(
        request, exc.status, exc.code, exc.detail, field=exc.field, errors=exc.errors, headers=exc.headers
    )


def handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    if _is_decode_error(exc):
        return _malformed(request)
    errors = _field_errors(exc)
    detail = str(exc.detail)
    first = errors[0] if errors else None
    return problem_response(
        request,
        400,
        "VALIDATION_ERROR",
        f"{first.field}: {first.message}" if first else detail,
        field=first.field if first else None,
        errors=errors or None,
    )


def handle_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    if status >= 500:
        return handle_internal(request, exc)
    if status == 400 and _is_decode_error(exc):
        return _malformed(request)
    detail = str(exc.detail) if exc.detail else HTTP_TITLES.get(status, "Error")
    if status == 413:
        detail = "The request body is larger than this endpoint accepts (1 MiB unless it says otherwise)."
    headers = {k: v for k, v in (exc.headers or {}).items()}
    return problem_response(request, status, STATUS_CODES.get(status, "ERROR"), detail, headers=headers)


def handle_integrity(request: Request[Any, Any, Any], exc: IntegrityError) -> Response[Problem]:
    # Business conflicts are mapped where they happen; this catches the rest (a race on a unique key).
    log.info("integrity conflict", extra={"request_id": request_id_of(request.scope), "error": type(exc.orig).__name__})
    return problem_response(request, 409, "CONFLICT", "The change conflicts with existing data.")


def handle_undecodable(request: Request[Any, Any, Any], exc: UnicodeDecodeError | RecursionError) -> Response[Problem]:
    # Litestar's JSON decoding lets these two escape: bytes that are not UTF-8, and nesting deeper than the stack.
    detail = (
        "The request body is not UTF-8." if isinstance(exc, UnicodeDecodeError) else "The JSON is nested too deeply."
    )
    return problem_response(request, 400, "MALFORMED_JSON", detail, field="$")


def handle_data_error(request: Request[Any, Any, Any], exc: DataError) -> Response[Problem]:
    # A value the database cannot store (out of range for its column) that validation let through.
    log.info("data error", extra={"request_id": request_id_of(request.scope), "error": type(exc.orig).__name__})
    return problem_response(
        request, 400, "INVALID_VALUE", "A value is out of range or of the wrong form for its field."
    )


def handle_database_down(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[Problem]:
    # The database is unreachable or busy: nothing was written, and the same request can be retried.
    log.warning(
        "database unavailable", extra={"request_id": request_id_of(request.scope), "error": type(exc.orig).__name__}
    )
    return problem_response(
        request,
        503,
        "DATABASE_UNAVAILABLE",
        "The database is not reachable right now; retry shortly.",
        headers={"Retry-After": "5"},
    )


def handle_internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    if client_disconnected(request.scope):
        # The client left (half a body, a closed socket): not our error, and nobody will read an answer. 499 is
        # what the access log shows for it (nginx's "client closed request").
        log.info(
            "client disconnected",
            extra={"request_id": request_id_of(request.scope), "path": request.scope.get("path")},
        )
        return problem_response(request, 499, "CLIENT_DISCONNECTED", "The client closed the connection.")
    log.exception("unhandled error", exc_info=exc, extra={"request_id": request_id_of(request.scope)})
    return problem_response(
        request, 500, "INTERNAL_ERROR", "Something went wrong on our side; quote the request id when reporting it."
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ProblemError: handle_problem,
    ValidationException: handle_validation,
    HTTPException: handle_http,
    IntegrityError: handle_integrity,
    DataError: handle_data_error,
    OperationalError: handle_database_down,
    InterfaceError: handle_database_down,
    UnicodeDecodeError: handle_undecodable,
    RecursionError: handle_undecodable,
    Exception: handle_internal,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "FieldError", "MediaType", "Problem", "ProblemError"]
