"""Catalog items nested in list rows as labels in uz/ru/en, joined in the same statement (never one query per row)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.sql import FromClause

from ingest.contracts.api import CatalogNested
from ingest.core.schema import CatalogItem

_catalog = CatalogItem.__table__
_COLUMNS = ("id", "type", "code", "name", "name_uz", "name_ru", "name_en")


def label_joins(source: FromClause, refs: list[tuple[Any, str]]) -> tuple[FromClause, list[Any]]:
    """LEFT OUTER JOIN the item each `(fk column, prefix)` points at; its columns are labelled `<prefix>__<column>`."""
    columns: list[Any] = []
    for fk, prefix in refs:
        item = _catalog.alias(f"{prefix}_item")
        source = source.outerjoin(item, item.c.id == fk)
        columns += [item.c[c].label(f"{prefix}__{c}") for c in _COLUMNS]
    return source, columns


def label_of(row: Any, prefix: str) -> CatalogNested | None:
    mapping = row._mapping
    if mapping.get(f"{prefix}__id") is None:
        return None
    name = mapping[f"{prefix}__name"]
    return CatalogNested(
        id=mapping[f"{prefix}__id"],
        type=mapping[f"{prefix}__type"],
        code=mapping[f"{prefix}__code"],
        name=name,
        name_uz=mapping[f"{prefix}__name_uz"] or name,
        name_ru=mapping[f"{prefix}__name_ru"] or name,
        name_en=mapping[f"{prefix}__name_en"] or name,
    )
