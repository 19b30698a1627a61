"""The dashboard API's routers (SPEC §5: users and JWT, catalog, lists, status workflow, roster, audit log), for
`ingest.app.api_route_handlers`."""

from __future__ import annotations

from litestar import Router

from ingest.application_status import change_status
from ingest.audit_api import audit_router
from ingest.auth import auth_router
from ingest.bot1_lists import bot1_lists_router
from ingest.bot2_api import bot2_dashboard_router
from ingest.catalog_api import catalog_router
from ingest.roster_api import ROSTER_HANDLERS
from ingest.roster_import_api import roster_import_router
from ingest.users_api import users_router


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
