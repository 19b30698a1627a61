"""The dashboard API's routers (SPEC §5: users and JWT, catalog, lists, status workflow, roster, audit log), for
`crm.app.api_route_handlers`."""

from __future__ import annotations

from litestar import Router

from ingest.audit.api import audit_router
from ingest.auth.login_api import auth_router
from ingest.auth.users_api import users_router
from ingest.catalog.routes import catalog_router
from ingest.dashboard.application_status import change_status
from ingest.dashboard.applications_api import bot1_lists_router
from ingest.dashboard.bot2_routes import bot2_dashboard_router
from ingest.roster.api import ROSTER_HANDLERS
from ingest.roster.import_api import roster_import_router


def dashboard_routers() -> list[Router]:
    return [
        auth_router(),
        users_router(),
        catalog_router(),
        bot1_lists_router(change_status),
        bot2_dashboard_router(*ROSTER_HANDLERS),
        roster_import_router(),
        audit_router(),
    ]
