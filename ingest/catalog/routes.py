"""The dashboard's catalog router (SPEC §3 and §5, RS §3.4): items, the programs view and relations under
`/catalog`."""

from __future__ import annotations

from litestar import Router

from ingest.catalog.items_api import ITEM_HANDLERS
from ingest.catalog.programs_api import PROGRAM_HANDLERS
from ingest.catalog.relations_api import RELATION_HANDLERS


def catalog_router() -> Router:
    return Router(
        path="/catalog", route_handlers=[*ITEM_HANDLERS, *PROGRAM_HANDLERS, *RELATION_HANDLERS], tags=["catalog"]
    )
