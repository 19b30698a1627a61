"""Catalog relations for the dashboard (SPEC §3 and §5, RS §3.4): `/catalog/relations/` between two catalog items
(program → direction, program → track, subject prerequisites, custom), with both items' labels in the same
statement. Viewers read, admins write; every write is audited."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec
from litestar import Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import UNSET, UnsetType
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.guards import requires_admin, requires_viewer
from ingest.catalog.items_api import SortOrder
from ingest.catalog.labels import label_joins, label_of
from ingest.catalog.rules import ensure_item
from ingest.contracts.api import CatalogNested
from ingest.core.problems import ProblemError
from ingest.core.schema import CatalogRelation, utcnow
from ingest.dashboard.crud import LIST_QUERY, Audited, Listing, ListQuery, columns_of, get_or_404, set_given
from ingest.http.pagination import Page

RelationType = Literal["program_direction", "program_track", "subject_prereq", "custom"]


class RelationOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    relation_type: str
    sort_order: int
    from_item_id: uuid.UUID
    to_item_id: uuid.UUID
    from_item: CatalogNested | None
    to_item: CatalogNested | None
    created_at: datetime
    updated_at: datetime


class RelationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    from_item_id: uuid.UUID
    to_item_id: uuid.UUID
    relation_type: RelationType = "custom"
    sort_order: SortOrder = 0


class RelationUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    from_item_id: uuid.UUID | UnsetType = UNSET
    to_item_id: uuid.UUID | UnsetType = UNSET
    relation_type: RelationType | UnsetType = UNSET
    sort_order: SortOrder | UnsetType = UNSET


_relations = CatalogRelation.__table__


def _relation_query() -> Any:
    source, labels = label_joins(_relations, [(_relations.c.from_item_id, "from"), (_relations.c.to_item_id, "to")])
    return select(_relations, *labels).select_from(source)


def relation_out(row: Any) -> RelationOut:
    return RelationOut(
        id=row.id,
        relation_type=row.relation_type,
        sort_order=row.sort_order,
        from_item_id=row.from_item_id,
        to_item_id=row.to_item_id,
        from_item=label_of(row, "from"),
        to_item=label_of(row, "to"),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_QUERY = _relation_query()
RELATIONS_LIST = Listing(
    query=_QUERY,
    build=relation_out,
    search=[_relations.c.relation_type, *(_QUERY.selected_columns[f"{end}__name"].element for end in ("from", "to"))],
    ordering=columns_of(_relations, "sort_order", "relation_type", "created_at"),
    default=["sort_order", "created_at"],
    id_column=_relations.c.id,
)


@get("/relations/", guards=[requires_viewer], dependencies=LIST_QUERY, summary="List catalog relations")
async def list_relations(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    relation_type: RelationType | None = None,
    from_item: uuid.UUID | None = None,
    to_item: uuid.UUID | None = None,
    item: uuid.UUID | None = None,
    *,
    asked: ListQuery,
) -> Page[RelationOut]:
    """Filters: `relation_type`, `from_item`, `to_item`, `item` (either end); `search` over the type and both item
    names; `ordering`: sort_order, relation_type, created_at (default sort_order, created_at)."""
    either_end = [] if item is None else [(_relations.c.from_item_id == item) | (_relations.c.to_item_id == item)]
    equal = [
        (_relations.c.relation_type, relation_type),
        (_relations.c.from_item_id, from_item),
        (_relations.c.to_item_id, to_item),
    ]
    return await RELATIONS_LIST.page(db_session, request, asked, where=either_end, equal=equal)


async def _relation(session: AsyncSession, relation_id: uuid.UUID) -> RelationOut:
    return await RELATIONS_LIST.one(session, relation_id, f"No catalog relation with id {relation_id}.")


@get("/relations/{relation_id:uuid}", guards=[requires_viewer], summary="One catalog relation")
async def retrieve_relation(db_session: NamedDependency[AsyncSession], relation_id: uuid.UUID) -> RelationOut:
    return await _relation(db_session, relation_id)


async def _check_relation(session: AsyncSession, rel: CatalogRelation) -> None:
    if rel.from_item_id == rel.to_item_id:
        raise ProblemError(400, "VALIDATION_ERROR", "A relation needs two different items.", field="$.to_item_id")
    await ensure_item(session, rel.from_item_id, "$.from_item_id")
    await ensure_item(session, rel.to_item_id, "$.to_item_id")
    clash = await session.scalar(
        select(CatalogRelation.id).where(
            CatalogRelation.from_item_id == rel.from_item_id,
            CatalogRelation.to_item_id == rel.to_item_id,
            CatalogRelation.relation_type == rel.relation_type,
            CatalogRelation.id != rel.id,
        )
    )
    if clash is not None:
        raise ProblemError(409, "RELATION_EXISTS", "This relation already exists.", field="$.relation_type")


def _relation_audit(rel: CatalogRelation | RelationOut) -> dict[str, Any]:
    return {
        "relation_type": rel.relation_type,
        "from_item_id": str(rel.from_item_id),
        "to_item_id": str(rel.to_item_id),
        "sort_order": rel.sort_order,
    }


RELATIONS = Audited("catalog_relation", _relation, _relation_audit)


@post("/relations/", guards=[requires_admin], summary="Create a catalog relation")
async def create_relation(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], data: JSONBody[RelationCreate]
) -> RelationOut:
    """201; 400 INVALID_CATALOG_REF for an unknown item; 409 RELATION_EXISTS for a duplicate."""
    now = utcnow()
    rel = CatalogRelation(id=uuid.uuid4(), created_at=now, updated_at=now, **msgspec.structs.asdict(data))
    await _check_relation(db_session, rel)
    db_session.add(rel)
    return await RELATIONS.written(db_session, request, "create", rel.id)


async def _get_relation(session: AsyncSession, relation_id: uuid.UUID) -> CatalogRelation:
    return await get_or_404(session, CatalogRelation, relation_id, f"No catalog relation with id {relation_id}.")


async def _update_relation(
    request: Request[Any, Any, Any], session: AsyncSession, relation_id: uuid.UUID, data: RelationUpdate
) -> RelationOut:
    rel = await _get_relation(session, relation_id)
    before = _relation_audit(rel)
    set_given(rel, data, ("from_item_id", "to_item_id", "relation_type", "sort_order"))
    await _check_relation(session, rel)
    rel.updated_at = utcnow()
    return await RELATIONS.written(session, request, "update", rel.id, before)


@patch("/relations/{relation_id:uuid}", guards=[requires_admin], summary="Change a catalog relation")
async def patch_relation(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    relation_id: uuid.UUID,
    data: JSONBody[RelationUpdate],
) -> RelationOut:
    return await _update_relation(request, db_session, relation_id, data)


@put("/relations/{relation_id:uuid}", guards=[requires_admin], summary="Replace a catalog relation")
async def put_relation(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    relation_id: uuid.UUID,
    data: JSONBody[RelationCreate],
) -> RelationOut:
    return await _update_relation(request, db_session, relation_id, RelationUpdate(**msgspec.structs.asdict(data)))


@delete("/relations/{relation_id:uuid}", guards=[requires_admin], summary="Delete a catalog relation")
async def delete_relation(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], relation_id: uuid.UUID
) -> None:
    rel = await _get_relation(db_session, relation_id)
    await RELATIONS.deleted(db_session, request, rel, _relation_audit(rel))


RELATION_HANDLERS = [
    list_relations,
    retrieve_relation,
    create_relation,
    patch_relation,
    put_relation,
    delete_relation,
]
