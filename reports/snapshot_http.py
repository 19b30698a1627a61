"""How read endpoints tie their answers to the published snapshot: the per-process analytics store, the 503 before the
first build, the `X-Snapshot-Id` / `X-Data-Built-At` / `ETag` headers and `304 Not Modified`."""

from __future__ import annotations

import hashlib
import threading
from datetime import datetime
from functools import lru_cache
from typing import Any

import anyio.to_thread
from litestar import Request, Response
from litestar.datastructures import State
from litestar.types import Receive, Scope, Send

from ingest.core.problems import ProblemError
from ingest.core.settings import Settings
from reports.analytics.data import AnalyticsData, Lazy, T
from warehouse.snapshot import Snapshot, SnapshotReader

_store_lock = threading.Lock()


class AnalyticsStore:
    """The current snapshot's `AnalyticsData`, replaced when a new snapshot is published (one per process)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.reader = SnapshotReader(settings)
        self._data: AnalyticsData | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot | None:
        return self.reader.snapshot()

    def data(self) -> AnalyticsData | None:
        snapshot = self.reader.snapshot()
        if snapshot is None:
            return None
        data = self._data
        if data is None or data.snapshot.id != snapshot.id:
            with self._lock:
                if self._data is None or self._data.snapshot.id != snapshot.id:
                    self._data = AnalyticsData(snapshot, self.settings.tz)
                data = self._data
        return data


def store_of(state: State) -> AnalyticsStore:
    store = state.get("reports_store")
    if store is None:
        with _store_lock:
            store = state.get("reports_store")
            if store is None:
                store = AnalyticsStore(state.settings)
                state.reports_store = store
    return store


def no_snapshot() -> ProblemError:
    return ProblemError(
        503,
        "NO_SNAPSHOT",
        "No warehouse snapshot is published yet; run `crm warehouse build` (the worker builds one every "
        "CRM_BUILD_EVERY seconds).",
        headers={"Retry-After": "30"},
    )


async def ready(lazy: Lazy[T]) -> T:
    """The value of a lazily built part; the first build runs in a worker thread so the event loop keeps serving."""
    if lazy.ready:
        return lazy.get()
    return await anyio.to_thread.run_sync(lazy.get)


@lru_cache(maxsize=8)
def _fixed_headers(snapshot_id: str, built_at: datetime) -> dict[str, str]:
    """The headers every answer of a snapshot carries (its ETag aside)."""
    return {"X-Snapshot-Id": snapshot_id, "X-Data-Built-At": built_at.isoformat(), "Cache-Control": "private, no-cache"}


@lru_cache(maxsize=8)
def _encoded_fixed_headers(snapshot_id: str, built_at: datetime) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((k.lower().encode(), v.encode()) for k, v in _fixed_headers(snapshot_id, built_at).items())


def snapshot_headers(snapshot: Snapshot, etag: str) -> dict[str, str]:
    return {**_fixed_headers(snapshot.id, snapshot.built_at), "ETag": etag}


class ReadyResponse(Response[bytes]):
    """A finished answer (status, headers, body) that is its own ASGI app. Litestar's `Response` copies and
    re-encodes its headers through two header containers on every request, which costs as much as computing a
    windowed analytics answer; these bodies are already encoded and their headers are fixed. Guarded by
    tests/test_litestar_internals.py."""

    __slots__ = ("_body", "_start")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        # Not Response.__init__: only `to_asgi_response` and the ASGI call below are ever used.
        self._start = {"type": "http.response.start", "status": status, "headers": headers}
        self._body = {"type": "http.response.body", "body": body, "more_body": False}

    def to_asgi_response(self, *_: Any, **__: Any) -> ReadyResponse:  # type: ignore[override]
        return self

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(self._start)  # type: ignore[arg-type]
        await send(self._body)  # type: ignore[arg-type]


def snapshot_response(snapshot: Snapshot, etag: str, body: bytes | None) -> ReadyResponse:
    """200 with a JSON body, or 304 (body None), carrying the snapshot headers and the ETag."""
    headers = [*_encoded_fixed_headers(snapshot.id, snapshot.built_at), (b"etag", etag.encode())]
    if body is None:
        return ReadyResponse(304, headers, b"")
    headers += ((b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()))
    return ReadyResponse(200, headers, body)


def request_etag(snapshot: Snapshot, request: Request[Any, Any, Any], settings: Settings) -> str:
    """An ETag for this URL at this snapshot: the snapshot id plus a digest of path, query and time zone (naive
    times in the query are read in it). Read from the raw ASGI scope: building `request.url` costs more than the
    rest of a cached answer."""
    scope = request.scope
    digest = hashlib.blake2b(digest_size=8)
    digest.update((scope.get("root_path", "") + scope["path"]).encode())
    digest.update(b"?")
    digest.update(scope.get("query_string", b""))
    digest.update(f"#{settings.timezone}".encode())
    return f'"{snapshot.id}-{digest.hexdigest()}"'


def raw_header(request: Request[Any, Any, Any], name: bytes) -> str | None:
    """The first value of a request header (`name` lower-case) straight from the scope, without building the
    request's header mapping."""
    for key, value in request.scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def not_modified(request: Request[Any, Any, Any], etag: str) -> bool:
    header = raw_header(request, b"if-none-match")
    if not header:
        return False
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return etag in candidates or "*" in candidates
