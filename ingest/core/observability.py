"""Request ids and structured (JSON line) logging. Logs carry method, path, status and timing, never bodies or query
strings, so no personal data reaches them."""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from typing import Any

import msgspec
from litestar.datastructures import MutableScopeHeaders
from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_STATE_KEY = "request_id"
_GONE_KEY = "client_disconnected"

access_log = logging.getLogger("crm.access")


def request_id_of(scope: Scope) -> str:
    """The request's id, created on first use so that even unrouted requests (404) have one."""
    state = scope.setdefault("state", {})
    rid = state.get(_STATE_KEY)
    if not rid:
        incoming = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"), "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        state[_STATE_KEY] = rid
    return rid


def client_disconnected(scope: Scope) -> bool:
    """True once the server told the app that the client closed the connection (it will never read an answer)."""
    return bool(scope.get("state", {}).get(_GONE_KEY))


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Assigns the request id, notes a client that disconnects, and logs one access line per request with its
    duration."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id_of(scope)
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        async def receive_wrapper() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect":
                scope["state"][_GONE_KEY] = True
            return message

        try:
            await app(scope, receive_wrapper, send_wrapper)
        finally:
            access_log.info(
                "request",
                extra={
                    "request_id": rid,
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )

    return middleware


async def add_request_id_header(message: Message, scope: Scope) -> None:
    """`before_send` hook: every response, errors and 404s included, carries `X-Request-Id`."""
    if message["type"] == "http.response.start":
        MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id_of(scope)


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return msgspec.json.encode(data, enc_hook=str).decode()


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for our loggers; the server's own access log is replaced by ours."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("crm")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    logging.getLogger("uvicorn.access").disabled = True
