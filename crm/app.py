"""The Litestar application factory: one place that composes settings, database, error policy, docs and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from litestar import Litestar, Request, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.db import Database
from ingest.core.migrate import head_revision
from ingest.core.observability import add_request_id_header, configure_logging, request_id_middleware
from ingest.core.problems import EXCEPTION_HANDLERS
from ingest.core.settings import Settings, get_settings
from ingest.dashboard.enrollments_api import RESPONDED_SOURCE
from ingest.dashboard.routes import dashboard_routers
from ingest.http.body_policy import MAX_BODY_BYTES, require_accepted_content_type
from ingest.http.docs import docs_assets_router, openapi_config
from ingest.http.health import healthz, readyz
from ingest.submissions.routes import ingest_routers


def app_version() -> str:
    try:
        return version("ttpu-crm")
    except PackageNotFoundError:
        return "0.0.0"


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_db_session(state: State, request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request: committed before the response is sent, rolled back on error.
    Safe methods get a read transaction (on SQLite it takes no write lock)."""
    maker = state.db.read_sessionmaker if request.method in SAFE_METHODS else state.db.sessionmaker
    async with maker() as session, session.begin():
        yield session


def api_route_handlers() -> list[Any]:
    """Everything under /api/v1. Each feature module contributes its routers here."""
    from reports.routes import reports_routers  # reports imports ingest: import here, not at module load
    from reports.warehouse_status import warehouse_status_route

    return [*ingest_routers(), *dashboard_routers(), *reports_routers(), warehouse_status_route]


def _probe(settings: Settings) -> Any:
    """The published snapshot's {id, built_at, age_seconds} for /readyz (reports imports ingest: import here)."""
    from reports.warehouse_status import snapshot_probe

    return snapshot_probe(settings)


def _responded_source() -> Any:
    """What the enrollment headcounts read their responded counts with (reports imports ingest: import here)."""
    from reports.enrollment_responded import responded_counts

    return responded_counts


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    settings.effective_secret_key()  # fail at start-up, not on the first login, when production has no key

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.db = Database(settings.database_url)
        try:
            yield
        finally:
            await app.state.db.dispose()

    cors = (
        CORSConfig(
            allow_origins=list(settings.cors_origins),
            allow_credentials=True,
            allow_headers=["content-type", "authorization", "x-csrf-token", "x-service-token", "idempotency-key"],
            expose_headers=["x-request-id", "x-snapshot-id", "x-data-built-at", "etag", "idempotent-replayed"],
        )
        if settings.cors_origins
        else None
    )
    handlers: list[Any] = [healthz, readyz, Router(path="/api/v1", route_handlers=api_route_handlers())]
    if settings.openapi_public:
        handlers.append(docs_assets_router())
    return Litestar(
        route_handlers=handlers,
        lifespan=[lifespan],
        dependencies={"db_session": Provide(provide_db_session)},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_id_middleware],
        before_send=[add_request_id_header],
        before_request=require_accepted_content_type,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi_config(app_version()) if settings.openapi_public else None,
        cors_config=cors,
        state=State(
            {
                "settings": settings,
                "migration_head": head_revision(),
                "snapshot_probe": _probe(settings),
                RESPONDED_SOURCE: _responded_source(),
            }
        ),
        debug=False,
    )
