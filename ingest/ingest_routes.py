"""The ingestion API's routers (SPEC §4), for `ingest.app.api_route_handlers`."""

from __future__ import annotations

from litestar import Router

from ingest.batch import batch_router
from ingest.bot1 import bot1_router
from ingest.bot2 import bot2_router
from ingest.bot_catalog import bot_catalog_router


def ingest_routers() -> list[Router]:
    return [bot1_router(), bot2_router(), bot_catalog_router(), batch_router()]
