"""The read-only programs view for the dashboard (SPEC §3 and §5, RS §3.4): `/catalog/programs/`, catalog items of
type `program` with their metadata (level, track, language, duration) flattened."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from litestar import Request, get
from litestar.di import NamedDependency
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.guards import requires_viewer
from ingest.catalog.items_api import NAME_COLUMNS, answered_metadata
from ingest.contracts.api import CatalogLabel
from ingest.core.problems import ProblemError
from ingest.core.schema import CatalogItem
from ingest.dashboard.crud import LIST_QUERY, Listing, ListQuery, columns_of, flag
from ingest.http.list_filters import BoolParam
from ingest.http.pagination import Page

_level = CatalogItem.meta["level"].as_string()
_track = CatalogItem.meta["track"].as_string()


class ProgramOut(CatalogLabel, kw_only=True):
    """A program with its metadata flattened (null when missing); `metadata` as `/catalog/items/` answers it."""

    is_active: bool
    sort_order: int
    level: str | None
    track: str | None
    language: str | None
    duration_years: int | None
    metadata: dict[str, Any]


def program_out(item: CatalogItem) -> ProgramOut:
    meta = item.meta or {}
    years = meta.get("duration_years")
    return ProgramOut(
        id=item.id,
        code=item.code,
        name=item.name,
        name_uz=item.name_uz or item.name,
        name_ru=item.name_ru or item.name,
        name_en=item.name_en or item.name,
        is_active=item.is_active,
        sort_order=item.sort_order,
        level=meta.get("level") if isinstance(meta.get("level"), str) else None,
        track=meta.get("track") if isinstance(meta.get("track"), str) else None,
        language=meta.get("language") if isinstance(meta.get("language"), str) else None,
        duration_years=years if isinstance(years, int) and not isinstance(years, bool) else None,
        metadata=answered_metadata(item),
    )


PROGRAMS_LIST = Listing(
    query=select(CatalogItem).where(CatalogItem.type == "program"),
    build=lambda row: program_out(row[0]),
    search=NAME_COLUMNS,
    ordering=columns_of(CatalogItem.__table__, "sort_order", "name", "code"),
    default=["sort_order", "name"],
    id_column=CatalogItem.id,
)


@get("/programs/", guards=[requires_viewer], dependencies=LIST_QUERY, summary="List programs with their metadata")
async def list_programs(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    level: Literal["bachelor", "master"] | None = None,
    track: Literal["italian", "uzbek", "n/a"] | None = None,
    is_active: BoolParam = None,
    *,
    asked: ListQuery,
) -> Page[ProgramOut]:
    """Every program, active and inactive unless `is_active` says; filters `level`, `track`; `search` over names and
    code; `ordering`: sort_order, name, code (default sort_order, name)."""
    active = flag(CatalogItem.is_active, is_active, "is_active")
    return await PROGRAMS_LIST.page(db_session, request, asked, where=active, equal=[(_level, level), (_track, track)])


@get("/programs/{item_id:uuid}", guards=[requires_viewer], summary="One program")
async def retrieve_program(db_session: NamedDependency[AsyncSession], item_id: uuid.UUID) -> ProgramOut:
    item = await db_session.get(CatalogItem, item_id)
    if item is None or item.type != "program":
        raise ProblemError(404, "NOT_FOUND", f"No program with id {item_id}.")
    return program_out(item)


PROGRAM_HANDLERS = [list_programs, retrieve_program]
