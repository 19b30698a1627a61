"""Catalog items for the dashboard (SPEC §3 and §5, RS §3.4): `/catalog/items/`, read by viewers, written by
admins; every write is audited and refreshes the bots' catalog."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from litestar import Request, delete, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.guards import requires_admin, requires_viewer
from ingest.catalog.refs import catalog_of
from ingest.catalog.rules import (
    ensure_code_free,
    ensure_item,
    ensure_unreferenced,
    next_code,
    validate_program_metadata,
)
from ingest.contracts.api import CatalogNested
from ingest.core.problems import ProblemError
from ingest.core.schema import CatalogItem, utcnow
from ingest.dashboard.crud import LIST_QUERY, Audited, Listing, ListQuery, columns_of, flag, get_or_404, set_given
from ingest.http.list_filters import BoolParam
from ingest.http.pagination import Page

ItemType = Literal["program", "direction", "subject", "track", "region", "other"]
NAME_LENGTH = 255
Name = Annotated[str, Meta(max_length=NAME_LENGTH)]
CodeText = Annotated[str, Meta(max_length=100)]
SortOrder = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
Description = Annotated[str, Meta(max_length=10_000)]
CODE_RETRIES = 5
# What `search` looks in, for items and for the programs view alike.
NAME_COLUMNS = [
    CatalogItem.name,
    CatalogItem.code,
    CatalogItem.name_uz,
    CatalogItem.name_ru,
    CatalogItem.name_en,
]
# The translations, in the columns; the reference's clients read them from `metadata` (its bot2 labels its buttons
# with `metadata.name_<lang>`, reference-clients.md), so the answered metadata carries them, never the stored one.
NAME_KEYS = ("name_uz", "name_ru", "name_en")


class ItemOut(CatalogNested, kw_only=True):
    """`parent` and `parent_id` are the same uuid, `meta` and `metadata` the same object: the reference's clients
    read the first of each (SPEC §5). That object is the stored metadata with the non-empty `name_uz/ru/en` of the
    item over it (the reference's bot2 labels its buttons with `metadata.name_<lang>`)."""

    description: str
    parent: uuid.UUID | None
    parent_id: uuid.UUID | None
    is_active: bool
    sort_order: int
    meta: dict[str, Any]
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class ItemCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """`code` is generated (`REGION-007`) when absent or blank; `name` defaults to the first translation given.
    `meta` is another name for `metadata` (the reference dashboard sends both, the same object). `name_uz/ru/en`
    in it are not stored: they fill the name columns the body leaves blank (the reference dashboard gives
    translations only there, and sends back the names it read)."""

    type: ItemType
    code: CodeText | None = None
    name: Name = ""
    name_uz: Name = ""
    name_ru: Name = ""
    name_en: Name = ""
    description: Description = ""
    parent_id: uuid.UUID | None = None
    is_active: bool = True
    sort_order: SortOrder = 0
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    meta: dict[str, Any] | UnsetType = UNSET


class ItemUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    type: ItemType | UnsetType = UNSET
    code: CodeText | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    name_uz: Name | UnsetType = UNSET
    name_ru: Name | UnsetType = UNSET
    name_en: Name | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    parent_id: uuid.UUID | UnsetType | None = UNSET
    is_active: bool | UnsetType = UNSET
    sort_order: SortOrder | UnsetType = UNSET
    metadata: dict[str, Any] | UnsetType = UNSET
    meta: dict[str, Any] | UnsetType = UNSET


Written = TypeVar("Written", ItemCreate, ItemUpdate)


def answered_metadata(item: CatalogItem) -> dict[str, Any]:
    """The stored metadata with `name_uz/ru/en` from the columns (the non-empty ones): the columns are the truth, so
    a copy under those keys in the stored metadata (items moved in by `crm import reference`) is never answered."""
    stored = {k: v for k, v in (item.meta or {}).items() if k not in NAME_KEYS}
    return stored | {k: name for k in NAME_KEYS if (name := getattr(item, k))}


def item_out(item: CatalogItem) -> ItemOut:
    metadata = answered_metadata(item)
    return ItemOut(
        id=item.id,
        type=item.type,
        code=item.code,
        name=item.name,
        name_uz=item.name_uz,
        name_ru=item.name_ru,
        name_en=item.name_en,
        description=item.description,
        parent=item.parent_id,
        parent_id=item.parent_id,
        is_active=item.is_active,
        sort_order=item.sort_order,
        meta=metadata,
        metadata=metadata,
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _audit_view(value: msgspec.Struct) -> dict[str, Any]:
    return msgspec.to_builtins(value)


def _one_metadata(metadata: dict[str, Any] | UnsetType, meta: dict[str, Any] | UnsetType) -> Any:
    """The metadata a body gives as `metadata`, `meta` or both (UNSET when neither); 400 naming `$.meta` when both
    are given and differ. An empty `metadata` beside a `meta` is taken as not given."""
    if isinstance(meta, UnsetType):
        return metadata
    if not isinstance(metadata, UnsetType) and metadata and metadata != meta:
        raise ProblemError(
            400,
            "VALIDATION_ERROR",
            "meta and metadata are one field: give one, or the same object in both.",
            field="$.meta",
        )
    return meta


def _names_out_of(metadata: Any) -> tuple[Any, dict[str, str]]:
    """A written metadata without its `name_uz/ru/en` (what is stored) and those names (what fills the columns).
    The reference dashboard sends back the metadata it read, names included, and gives translations only there;
    storing them would keep copies that go stale on the next rename. A null name is no name; any other non-string,
    or one longer than a name column, is 400 naming it."""
    if not isinstance(metadata, dict):
        return metadata, {}
    names: dict[str, str] = {}
    for key in NAME_KEYS:
        value = metadata.get(key)
        if value is not None and not (isinstance(value, str) and len(value.strip()) <= NAME_LENGTH):
            raise ProblemError(
                400,
                "VALIDATION_ERROR",
                f"{key} must be a name of at most {NAME_LENGTH} characters.",
                field=f"$.metadata.{key}",
            )
        if value is not None:
            names[key] = value.strip()
    return {k: v for k, v in metadata.items() if k not in NAME_KEYS}, names


def _with_metadata_names(data: Written, names: dict[str, str]) -> Written:
    """A name from the written metadata fills its column where the body leaves that column unset or blank; a
    non-blank column in the body wins."""
    taken = {k: v for k, v in names.items() if isinstance(given := getattr(data, k), UnsetType) or not given.strip()}
    return msgspec.structs.replace(data, **taken)


ITEMS_LIST = Listing(
    query=select(CatalogItem),
    build=lambda row: item_out(row[0]),
    search=NAME_COLUMNS,
    ordering=columns_of(CatalogItem.__table__, "sort_order", "name", "type", "code", "created_at", "updated_at"),
    default=["type", "sort_order", "name"],
    id_column=CatalogItem.id,
)


@get("/items/", guards=[requires_viewer], dependencies=LIST_QUERY, summary="List catalog items")
async def list_items(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    type: ItemType | None = None,
    is_active: BoolParam = None,
    parent: uuid.UUID | None = None,
    *,
    asked: ListQuery,
) -> Page[ItemOut]:
    """Filters: `type`, `is_active`, `parent`; `search` over names and code; `ordering`: sort_order, name, type,
    code, created_at, updated_at (default type, sort_order, name)."""
    active = flag(CatalogItem.is_active, is_active, "is_active")
    equal = [(CatalogItem.type, type), (CatalogItem.parent_id, parent)]
    return await ITEMS_LIST.page(db_session, request, asked, where=active, equal=equal)


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
    metadata, names = _names_out_of(_one_metadata(data.metadata, data.meta))
    data = _with_metadata_names(data, names)
    name = _display_name(data.name, data.name_en, data.name_ru, data.name_uz)
    if data.type == "program" and metadata:
        validate_program_metadata(metadata)
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
        description=data.description.strip(),
        parent_id=data.parent_id,
        is_active=data.is_active,
        sort_order=data.sort_order,
        meta=metadata,
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
    given, names = _names_out_of(_one_metadata(data.metadata, data.meta))
    data = _with_metadata_names(data, names)
    meta = item.meta if isinstance(given, UnsetType) else given
    if new_type == "program" and meta and (not isinstance(given, UnsetType) or new_type != item.type):
        validate_program_metadata(meta)
    code = item.code if isinstance(data.code, UnsetType) or not data.code.strip() else data.code.strip()
    if code != item.code or new_type != item.type:
        await ensure_code_free(session, new_type, code, item.id)
    if not isinstance(data.parent_id, UnsetType) and data.parent_id is not None:
        if data.parent_id == item.id:
            raise ProblemError(400, "VALIDATION_ERROR", "An item cannot be its own parent.", field="$.parent_id")
        await ensure_item(session, data.parent_id, "$.parent_id")
    item.type, item.code, item.meta = new_type, code, meta
    set_given(item, data, ("name", "name_uz", "name_ru", "name_en", "description"), str.strip)
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


ITEM_HANDLERS = [list_items, retrieve_item, create_item, patch_item, put_item, delete_item]
