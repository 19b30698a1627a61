"""Catalog CRUD for the dashboard (SPEC §3 and §5, RS §3.4): `/catalog/items/`, `/catalog/relations/` and the
read-only `/catalog/programs/` view. Viewers read, admins write; every write is audited."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Router, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.guards import requires_admin, requires_viewer
from ingest.catalog.labels import CatalogNested, label_joins, label_of
from ingest.catalog.refs import catalog_of
from ingest.catalog.rules import (
    ensure_code_free,
    ensure_item,
    ensure_unreferenced,
    next_code,
    validate_program_metadata,
)
from ingest.core.problems import ProblemError
from ingest.core.schema import CatalogItem, CatalogRelation, utcnow
from ingest.dashboard.crud import Audited, get_or_404, matching, one_or_404, set_given
from ingest.http.list_filters import BoolParam, bool_of
from ingest.http.pagination import (
    DEFAULT_PAGE_SIZE,
    OrderingParam,
    Page,
    PageParam,
    PageSizeParam,
    SearchParam,
    order_by,
    paginate,
)

ItemType = Literal["program", "direction", "subject", "track", "region", "other"]
RelationType = Literal["program_direction", "program_track", "subject_prereq", "custom"]
Name = Annotated[str, Meta(max_length=255)]
CodeText = Annotated[str, Meta(max_length=100)]
SortOrder = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
CODE_RETRIES = 5


# --- shapes ------------------------------------------------------------------------------------------------------


class ItemOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    type: str
    code: str
    name: str
    name_uz: str
    name_ru: str
    name_en: str
    parent_id: uuid.UUID | None
    is_active: bool
    sort_order: int
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ItemCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`code` is generated (`REGION-007`) when absent or blank; `name` defaults to the first translation given."""

    type: ItemType
    code: CodeText | None = None
    name: Name = ""
    name_uz: Name = ""
    name_ru: Name = ""
    name_en: Name = ""
    parent_id: uuid.UUID | None = None
    is_active: bool = True
    sort_order: SortOrder = 0
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)


class ItemUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    type: ItemType | UnsetType = UNSET
    code: CodeText | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    name_uz: Name | UnsetType = UNSET
    name_ru: Name | UnsetType = UNSET
    name_en: Name | UnsetType = UNSET
    parent_id: uuid.UUID | UnsetType | None = UNSET
    is_active: bool | UnsetType = UNSET
    sort_order: SortOrder | UnsetType = UNSET
    metadata: dict[str, Any] | UnsetType = UNSET


class ProgramOut(msgspec.Struct, kw_only=True):
    """A program with its metadata flattened (null when missing)."""

    id: uuid.UUID
    code: str
    name: str
    name_uz: str
    name_ru: str
    name_en: str
    is_active: bool
    sort_order: int
    level: str | None
    track: str | None
    language: str | None
    duration_years: int | None
    metadata: dict[str, Any]


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


def item_out(item: CatalogItem) -> ItemOut:
    return ItemOut(
        id=item.id,
        type=item.type,
        code=item.code,
        name=item.name,
        name_uz=item.name_uz,
        name_ru=item.name_ru,
        name_en=item.name_en,
        parent_id=item.parent_id,
        is_active=item.is_active,
        sort_order=item.sort_order,
        metadata=item.meta or {},
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _audit_view(value: msgspec.Struct) -> dict[str, Any]:
    return msgspec.to_builtins(value)


# --- items -------------------------------------------------------------------------------------------------------

_ITEM_ORDERING = {
    "sort_order": CatalogItem.sort_order,
    "name": CatalogItem.name,
    "type": CatalogItem.type,
    "code": CatalogItem.code,
    "created_at": CatalogItem.created_at,
    "updated_at": CatalogItem.updated_at,
}
_NAME_COLUMNS = [
    CatalogItem.name,
    CatalogItem.code,
    CatalogItem.name_uz,
    CatalogItem.name_ru,
    CatalogItem.name_en,
]


@get("/items/", guards=[requires_viewer], summary="List catalog items")
async def list_items(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    type: ItemType | None = None,
    is_active: BoolParam = None,
    parent: uuid.UUID | None = None,
    search: SearchParam = None,
    ordering: OrderingParam = None,
    page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE,
) -> Page[ItemOut]:
    """Filters: `type`, `is_active`, `parent`; `search` over names and code; `ordering`: sort_order, name, type,
    code, created_at, updated_at (default type, sort_order, name)."""
    query = select(CatalogItem)
    if (active := bool_of(is_active, "is_active")) is not None:
        query = query.where(CatalogItem.is_active.is_(active))
    query = matching(query, [(CatalogItem.type, type), (CatalogItem.parent_id, parent)], search, _NAME_COLUMNS)
    query = query.order_by(*order_by(ordering, _ITEM_ORDERING, ["type", "sort_order", "name"], CatalogItem.id))
    return await paginate(
        db_session, request, query, page=page, page_size=page_size, build=lambda row: item_out(row[0])
    )


async def _get_item(session: AsyncSession, item_id: uuid.UUID) -> CatalogItem:
    return await get_or_404(session, CatalogItem, item_id, f"No catalog item with id {item_id}.")


async def _load_item(session: AsyncSession, item_id: uuid.UUID) -> ItemOut:
    return item_out(await _get_item(session, item_id))


ITEMS = Audited("catalog_item", _load_item, _audit_view)


@get("/items/{item_id:uuid}", guards=[requires_viewer], summary="One catalog item")
async def retrieve_item(db_session: NamedDependency[AsyncSession], item_id: uuid.UUID) -> ItemOut:
    return await _load_item(db_session, item_id)


def _display_name(name: str, *translations: str) -> str:
    chosen = name.strip() or next((t.strip() for t in translations if t.strip()), "")
    if not chosen:
        raise ProblemError(
            400, "VALIDATION_ERROR", "Give a name (or at least one of name_uz/name_ru/name_en).", field="$.name"
        )
    return chosen


async def _insert_with_code(session: AsyncSession, item: CatalogItem, generate: bool) -> None:
    """Insert; a generated code that a concurrent insert took a moment earlier is regenerated (bounded retries)."""
    for attempt in range(CODE_RETRIES):
        if generate:
            item.code = await next_code(session, item.type)
        try:
            async with session.begin_nested():
                session.add(item)
                await session.flush()
            return
        except IntegrityError:
            if not generate or attempt == CODE_RETRIES - 1:
                raise ProblemError(
                    409, "CODE_TAKEN", f"A {item.type} with code {item.code} already exists.", field="$.code"
                ) from None


@post("/items/", guards=[requires_admin], summary="Create a catalog item")
async def create_item(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], data: JSONBody[ItemCreate]
) -> ItemOut:
    """201. A missing code is generated; program metadata, when given, must be valid (400 naming the key);
    409 CODE_TAKEN for a code already used by that type."""
    name = _display_name(data.name, data.name_en, data.name_ru, data.name_uz)
    if data.type == "program" and data.metadata:
        validate_program_metadata(data.metadata)
    if data.parent_id is not None:
        await ensure_item(db_session, data.parent_id, "$.parent_id")
    code = (data.code or "").strip()
    if code:
        await ensure_code_free(db_session, data.type, code)
    now = utcnow()
    item = CatalogItem(
        id=uuid.uuid4(),
        type=data.type,
        code=code,
        name=name,
        name_uz=data.name_uz.strip(),
        name_ru=data.name_ru.strip(),
        name_en=data.name_en.strip(),
        parent_id=data.parent_id,
        is_active=data.is_active,
        sort_order=data.sort_order,
        meta=data.metadata,
        created_at=now,
        updated_at=now,
    )
    await _insert_with_code(db_session, item, generate=not code)
    out = await ITEMS.written(db_session, request, "create", item.id)
    catalog_of(request.app).invalidate()
    return out


async def _apply_item_update(session: AsyncSession, item: CatalogItem, data: ItemUpdate) -> None:
    new_type = item.type if isinstance(data.type, UnsetType) else data.type
    if new_type != item.type:
        await ensure_unreferenced(session, item, "change the type of")
    meta = item.meta if isinstance(data.metadata, UnsetType) else data.metadata
    if new_type == "program" and meta and (not isinstance(data.metadata, UnsetType) or new_type != item.type):
        validate_program_metadata(meta)
    code = item.code if isinstance(data.code, UnsetType) or not data.code.strip() else data.code.strip()
    if code != item.code or new_type != item.type:
        await ensure_code_free(session, new_type, code, item.id)
    if not isinstance(data.parent_id, UnsetType) and data.parent_id is not None:
        if data.parent_id == item.id:
            raise ProblemError(400, "VALIDATION_ERROR", "An item cannot be its own parent.", field="$.parent_id")
        await ensure_item(session, data.parent_id, "$.parent_id")
    item.type, item.code, item.meta = new_type, code, meta
    set_given(item, data, ("name", "name_uz", "name_ru", "name_en"), str.strip)
    set_given(item, data, ("parent_id", "is_active", "sort_order"))
    item.name = _display_name(item.name, item.name_en, item.name_ru, item.name_uz)
    item.updated_at = utcnow()


async def _update_item(
    request: Request[Any, Any, Any], session: AsyncSession, item_id: uuid.UUID, data: ItemUpdate
) -> ItemOut:
    item = await _get_item(session, item_id)
    before = _audit_view(item_out(item))
    await _apply_item_update(session, item, data)
    out = await ITEMS.written(session, request, "update", item.id, before)
    catalog_of(request.app).invalidate()
    return out


@patch("/items/{item_id:uuid}", guards=[requires_admin], summary="Change a catalog item")
async def patch_item(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    item_id: uuid.UUID,
    data: JSONBody[ItemUpdate],
) -> ItemOut:
    """Partial update. Changing the type of an item that data refers to is 409."""
    return await _update_item(request, db_session, item_id, data)


@put("/items/{item_id:uuid}", guards=[requires_admin], summary="Replace a catalog item")
async def put_item(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    item_id: uuid.UUID,
    data: JSONBody[ItemCreate],
) -> ItemOut:
    """Every field of the create body; a blank code keeps the current one."""
    update = ItemUpdate(**msgspec.structs.asdict(data))
    if not data.code:
        update.code = UNSET
    return await _update_item(request, db_session, item_id, update)


@delete("/items/{item_id:uuid}", guards=[requires_admin], summary="Delete a catalog item")
async def delete_item(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], item_id: uuid.UUID
) -> None:
    """204; 409 CATALOG_ITEM_IN_USE when applications, roster rows, surveys, headcounts, students, applicants or
    child items refer to it (retire it with is_active=false). Its relations go with it."""
    item = await _get_item(db_session, item_id)
    await ensure_unreferenced(db_session, item, "delete")
    await ITEMS.deleted(db_session, request, item, _audit_view(item_out(item)))
    catalog_of(request.app).invalidate()


# --- programs ----------------------------------------------------------------------------------------------------

_level = CatalogItem.meta["level"].as_string()
_track = CatalogItem.meta["track"].as_string()
_PROGRAM_ORDERING = {"sort_order": CatalogItem.sort_order, "name": CatalogItem.name, "code": CatalogItem.code}


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
        metadata=meta,
    )


@get("/programs/", guards=[requires_viewer], summary="List programs with their metadata")
async def list_programs(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    level: Literal["bachelor", "master"] | None = None,
    track: Literal["italian", "uzbek", "n/a"] | None = None,
    is_active: BoolParam = None,
    search: SearchParam = None,
    ordering: OrderingParam = None,
    page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE,
) -> Page[ProgramOut]:
    """Every program, active and inactive unless `is_active` says; filters `level`, `track`; `search` over names and
    code; `ordering`: sort_order, name, code (default sort_order, name)."""
    query = select(CatalogItem).where(CatalogItem.type == "program")
    if (active := bool_of(is_active, "is_active")) is not None:
        query = query.where(CatalogItem.is_active.is_(active))
    query = matching(query, [(_level, level), (_track, track)], search, _NAME_COLUMNS)
    query = query.order_by(*order_by(ordering, _PROGRAM_ORDERING, ["sort_order", "name"], CatalogItem.id))
    return await paginate(
        db_session, request, query, page=page, page_size=page_size, build=lambda row: program_out(row[0])
    )


@get("/programs/{item_id:uuid}", guards=[requires_viewer], summary="One program")
async def retrieve_program(db_session: NamedDependency[AsyncSession], item_id: uuid.UUID) -> ProgramOut:
    item = await db_session.get(CatalogItem, item_id)
    if item is None or item.type != "program":
        raise ProblemError(404, "NOT_FOUND", f"No program with id {item_id}.")
    return program_out(item)


# --- relations ---------------------------------------------------------------------------------------------------

_relations = CatalogRelation.__table__
_RELATION_ORDERING = {
    "sort_order": _relations.c.sort_order,
    "relation_type": _relations.c.relation_type,
    "created_at": _relations.c.created_at,
}


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


@get("/relations/", guards=[requires_viewer], summary="List catalog relations")
async def list_relations(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    relation_type: RelationType | None = None,
    from_item: uuid.UUID | None = None,
    to_item: uuid.UUID | None = None,
    item: uuid.UUID | None = None,
    search: SearchParam = None,
    ordering: OrderingParam = None,
    page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE,
) -> Page[RelationOut]:
    """Filters: `relation_type`, `from_item`, `to_item`, `item` (either end); `search` over the type and both item
    names; `ordering`: sort_order, relation_type, created_at (default sort_order, created_at)."""
    query = _relation_query()
    if item is not None:
        query = query.where((_relations.c.from_item_id == item) | (_relations.c.to_item_id == item))
    equal = [
        (_relations.c.relation_type, relation_type),
        (_relations.c.from_item_id, from_item),
        (_relations.c.to_item_id, to_item),
    ]
    names = [_relations.c.relation_type, *(query.selected_columns[f"{end}__name"].element for end in ("from", "to"))]
    query = matching(query, equal, search, names)
    query = query.order_by(*order_by(ordering, _RELATION_ORDERING, ["sort_order", "created_at"], _relations.c.id))
    return await paginate(db_session, request, query, page=page, page_size=page_size, build=relation_out)


async def _relation(session: AsyncSession, relation_id: uuid.UUID) -> RelationOut:
    query = _relation_query().where(_relations.c.id == relation_id)
    return await one_or_404(session, query, relation_out, f"No catalog relation with id {relation_id}.")


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


def catalog_router() -> Router:
    return Router(
        path="/catalog",
        route_handlers=[
            list_items,
            retrieve_item,
            create_item,
            patch_item,
            put_item,
            delete_item,
            list_programs,
            retrieve_program,
            list_relations,
            retrieve_relation,
            create_relation,
            patch_relation,
            put_relation,
            delete_relation,
        ],
        tags=["catalog"],
    )
