"""The Litestar application factory, the composition root: settings, database, error policy, docs, and every router
of every package (SPEC §4 ingestion, §5 dashboard, §8 analytics, §9 exports and reports), mounted here and nowhere
else."""

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

from crm.metrics import http_metrics, metrics_endpoint
from ingest.audit.api import audit_router
from ingest.auth.login_api import auth_router
from ingest.auth.users_api import users_router
from ingest.catalog.routes import catalog_router
from ingest.core.db import Database
from ingest.core.observability import add_request_id_header, configure_logging, request_id_middleware
from ingest.core.problems import EXCEPTION_HANDLERS
from ingest.core.settings import Settings, get_settings
from ingest.dashboard.application_status import status_router
from ingest.dashboard.applications_api import bot1_lists_router
from ingest.dashboard.bot2_routes import bot2_dashboard_router
from ingest.dashboard.enrollments_api import RESPONDED_SOURCE
from ingest.http.body_policy import MAX_BODY_BYTES, require_accepted_content_type
from ingest.http.docs import docs_assets_router, openapi_config
from ingest.http.health import healthz, readyz
from ingest.roster.api import roster_router
from ingest.roster.import_api import roster_import_router
from ingest.submissions.batch_api import batch_router
from ingest.submissions.bot1_api import bot1_router
from ingest.submissions.bot2_api import bot2_router
from ingest.submissions.bot_catalog_api import bot_catalog_router
from reports.analytics.routes import analytics_router
from reports.enrollment_responded import responded_counts
from reports.exports.routes import exports_router
from reports.schedule.runs_api import reports_router
from reports.warehouse_status import snapshot_probe, warehouse_status_route


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


def api_routers() -> list[Any]:
    """Everything under /api/v1, in the order of the OpenAPI document. Two routers may share a path prefix (the
    status workflow beside the bot1 lists, the roster beside the bot2 lists): Litestar merges their routes."""
    bots = [bot1_router(), bot2_router(), bot_catalog_router(), batch_router()]
    dashboard = [
        auth_router(),
        users_router(),
        catalog_router(),
        bot1_lists_router(),
        status_router(),
        bot2_dashboard_router(),
        roster_router(),
        roster_import_router(),
        audit_router(),
    ]
    return [*bots, *dashboard, analytics_router(), exports_router(), reports_router(), warehouse_status_route]


class BuiltForOneApp(Router):
    """The /api/v1 router, built afresh by each `create_app` and registered once. Litestar deep-copies every router
    it registers (so that one router object can be mounted twice); this one's sub-routers are already copies made
    for it when it was built, so a second copy of all ~150 handlers is only start-up time (~0.25 s of each start)."""

    def __deepcopy__(self, memo: dict[int, Any]) -> BuiltForOneApp:
        return self


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
    handlers: list[Any] = [healthz, readyz, BuiltForOneApp(path="/api/v1", route_handlers=api_routers())]
    if settings.openapi_public:
        handlers.append(docs_assets_router())
    middleware: list[Any] = [request_id_middleware]
    if settings.metrics_enabled:
        handlers.append(metrics_endpoint)
        middleware.append(http_metrics().middleware)
    return Litestar(
        route_handlers=handlers,
        lifespan=[lifespan],
        dependencies={"db_session": Provide(provide_db_session)},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=middleware,
        before_send=[add_request_id_header],
        before_request=require_accepted_content_type,
        request_max_body_size=MAX_BODY_BYTES,
        openapi_config=openapi_config(app_version()) if settings.openapi_public else None,
        cors_config=cors,
        state=State(
            {"settings": settings, "snapshot_probe": snapshot_probe(settings), RESPONDED_SOURCE: responded_counts}
        ),
        debug=False,
    )
