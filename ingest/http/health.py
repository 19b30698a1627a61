"""Liveness (`/healthz`, no database) and readiness (`/readyz`: database, migration revision, published snapshot)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request, Response, get
from sqlalchemy import text

from ingest.core.db import Database
from ingest.core.migrate import current_revision_of, head_revision

SnapshotProbe = Callable[[], dict[str, Any] | None]


class Health(msgspec.Struct):
    ok: bool


class DatabaseState(msgspec.Struct):
    ok: bool
    dialect: str
    revision: str | None
    head: str | None
    error: str | None = None


class Readiness(msgspec.Struct):
    ok: bool
    database: DatabaseState
    snapshot: dict[str, Any] | None


@get("/healthz", tags=["health"], summary="Liveness: the process answers (no database access)")
async def healthz() -> Health:
    return Health(ok=True)


async def _database_state(db: Database, head: str | None) -> DatabaseState:
    try:
        async with db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            revision = await conn.run_sync(current_revision_of)
    except Exception as exc:  # any failure to reach the database is the answer itself
        return DatabaseState(ok=False, dialect=db.dialect, revision=None, head=head, error=type(exc).__name__)
    return DatabaseState(ok=revision == head, dialect=db.dialect, revision=revision, head=head)


@get("/readyz", tags=["health"], summary="Readiness: database reachable and migrated; the published snapshot")
async def readyz(request: Request[Any, Any, Any]) -> Response[Readiness]:
    state = request.app.state
    # Read on first use, not at start-up (it imports Alembic and reads the scripts); cached after that.
    database = await _database_state(state.db, await anyio.to_thread.run_sync(head_revision))
    probe: SnapshotProbe | None = state.get("snapshot_probe")
    snapshot = probe() if probe else None
    body = Readiness(ok=database.ok, database=database, snapshot=snapshot)
    return Response(body, status_code=200 if database.ok else 503)
