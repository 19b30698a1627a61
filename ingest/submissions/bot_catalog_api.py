"""`GET /bot/catalog` (SPEC §4.3): every active item of a type for the bots' buttons, over a service token."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, get
from litestar.params import FromQuery
from sqlalchemy import select

from ingest.auth.service_auth import either_bot
from ingest.contracts.api import BotCatalog, BotCatalogItem, CatalogType
from ingest.core.reads import read_connection
from ingest.core.schema import CatalogItem

BOT_TYPES = ("region", "direction", "track", "subject", "program")
_items = CatalogItem.__table__


@get("/catalog", summary="Active catalog items for the bots (all of them, one answer)")
async def bot_catalog(request: Request[Any, Any, Any], type: FromQuery[CatalogType | None] = None) -> BotCatalog:
    """All active items of `type` (or of every bot type), ordered by type, sort order and name, with uz/ru/en names."""
    types = (type,) if type else BOT_TYPES
    query = (
        select(_items)
        .where(_items.c.is_active.is_(True), _items.c.type.in_(types))
        .order_by(_items.c.type, _items.c.sort_order, _items.c.name, _items.c.id)
    )
    async with read_connection(request.app.state.db.engine) as conn:
        results = [_item(row) for row in await conn.execute(query)]
    return BotCatalog(type=type, count=len(results), results=results)


def _item(row: Any) -> BotCatalogItem:
    return BotCatalogItem(
        id=row.id,
        type=row.type,
        code=row.code,
        name=row.name,
        name_uz=row.name_uz,
        name_ru=row.name_ru,
        name_en=row.name_en,
        parent_id=row.parent_id,
        sort_order=row.sort_order,
        metadata=row._mapping["metadata"] or {},
    )


def bot_catalog_router() -> Router:
    return Router(path="/bot", guards=[either_bot], route_handlers=[bot_catalog], tags=["bots (service token)"])
