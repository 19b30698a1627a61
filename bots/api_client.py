"""The bots' HTTP client for the ingestion API (SPEC §4): service token on every call, `Idempotency-Key` on every
submission, and errors sorted into "try again later" (`ApiUnavailable`) and "the server said no" (`ApiRejected`).
Each kind's endpoint comes from the contract's registry (`ingest.contracts.kinds`)."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from ingest.contracts.kinds import BATCH_KINDS

API = "/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# A batch of a few hundred items may take the server longer than one submission; a timeout only means a replay.
BATCH_TIMEOUT = httpx.Timeout(60.0, connect=5.0)

# kind (as in the batch endpoint) -> its single endpoint
SUBMIT_PATHS: dict[str, str] = {name: f"{API}{kind.path}" for name, kind in BATCH_KINDS.items()}
BATCH_PATH = f"{API}/ingest/batch"
# 4xx answers that say "not now" rather than "never": timeout, in-flight duplicate key, too early, rate limited.
RETRYABLE_4XX = {408, 409, 425, 429}
# 4xx answers about the bot's own configuration (token, path): no user can fix them, so they are retried.
CONFIG_4XX = {401, 403, 404, 405}
# 409s that will never pass on retry (unlike an in-flight key or a concurrent change).
PERMANENT_409_CODES = {"TELEGRAM_ID_CONFLICT"}


def is_refusal(status: int, code: object) -> bool:
    """True when a 4xx answer is final for this content: dead-letter it and tell the user."""
    if status == 409:
        return code in PERMANENT_409_CODES
    return 400 <= status < 500 and status not in RETRYABLE_4XX and status not in CONFIG_4XX


class ApiUnavailable(Exception):
    """The API cannot take the request now (network, 5xx, 429, bad token): retry later, after `retry_after` if given."""

    def __init__(self, reason: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.status = status


class ApiRejected(Exception):
    """The API refused the request for good (a 4xx about its content); `problem` is the RFC 9457 body."""

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('code', '')}")
        self.status = status
        self.problem = problem


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        return body
    return {"status": response.status_code, "code": "HTTP_ERROR", "detail": response.text[:200]}


class ApiClient:
    """One httpx client per bot process; pass `http` to reuse a client (tests give one bound to the app)."""

    def __init__(
        self, base_url: str = "http://127.0.0.1:8000", service_token: str = "", *, http: httpx.AsyncClient | None = None
    ) -> None:
        self._own = http is None
        self.http = http or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=DEFAULT_TIMEOUT)
        self.service_token = service_token

    async def aclose(self) -> None:
        if self._own:
            await self.http.aclose()

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"X-SERVICE-TOKEN": self.service_token, "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers

    async def _call(self, method: str, path: str, **kw: Any) -> Answer:
        try:
            response = await self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise ApiUnavailable(f"{type(exc).__name__}") from exc
        status = response.status_code
        if status < 400:
            try:
                body = response.json() if response.content else None
            except ValueError as exc:
                raise ApiUnavailable("invalid JSON in a success answer", status=status) from exc
            return Answer(status, body, dict(response.headers))
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        problem = _problem(response)
        if not is_refusal(status, problem.get("code")):
            raise ApiUnavailable(f"HTTP {status}", retry_after=retry_after, status=status)
        raise ApiRejected(status, problem)

    async def submit(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> Answer:
        """One queued submission through its own endpoint."""
        return await self._call("POST", SUBMIT_PATHS[kind], json=payload, headers=self._headers(idempotency_key))

    async def batch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Several submissions in one call; the answer's `results` in item order."""
        answer = await self._call(
            "POST", BATCH_PATH, json={"items": items}, headers=self._headers(), timeout=BATCH_TIMEOUT
        )
        results = answer.body.get("results") if isinstance(answer.body, dict) else None
        if not isinstance(results, list) or len(results) != len(items):
            raise ApiUnavailable("batch answer does not match the request")
        return results

    async def catalog(self, type_: str) -> list[dict[str, Any]]:
        answer = await self._call("GET", f"{API}/bot/catalog", params={"type": type_}, headers=self._headers())
        results = answer.body.get("results") if isinstance(answer.body, dict) else None
        if not isinstance(results, list):
            raise ApiUnavailable("catalog answer without results")
        return results

    async def applications(self, telegram_user_id: int) -> list[dict[str, Any]]:
        """The applicant's applications with their current status, newest first."""
        answer = await self._call(
            "GET", f"{API}/bot1/applicants/{telegram_user_id}/applications", headers=self._headers()
        )
        results = answer.body.get("results") if isinstance(answer.body, dict) else None
        if not isinstance(results, list):
            raise ApiUnavailable("applications answer without results")
        return results
