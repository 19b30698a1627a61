"""Catalog business rules (SPEC §3, RS §3.4 fixed): generated codes, program metadata, unique codes, and the
references that make an item undeletable."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.contracts.kinds import APPLICATION_KINDS
from ingest.core.problems import FieldError, ProblemError
from ingest.core.schema import (
    APPLICATION_MODELS,
    Applicant,
    CatalogItem,
    EnrollmentHeadcount,
    RosterEntry,
    Student,
    SurveyResponse,
)

PROGRAM_LEVELS = ("bachelor", "master")
PROGRAM_TRACKS = ("italian", "uzbek", "n/a")
PROGRAM_KEYS = ("duration_years", "language", "level", "track")


def _application_references() -> list[tuple[Any, str]]:
    """Each application kind's catalog references (registry order), named like "Polito Academy requests"."""
    return [
        (getattr(APPLICATION_MODELS[k.slug], f"{ref}_id"), f"{k.noun}s" + (f" ({words})" if len(k.refs) > 1 else ""))
        for k in APPLICATION_KINDS
        for ref in k.refs
        for words in [ref.replace("_", " ")]
    ]


# What may point at a catalog item, and how a person would name it in a message.
REFERENCES: tuple[tuple[Any, str], ...] = (
    (Applicant.region_id, "applicants"),
    *_application_references(),
    (RosterEntry.program_id, "roster rows"),
    (Student.region_id, "students"),
    (SurveyResponse.program_id, "survey responses"),
    (EnrollmentHeadcount.program_id, "enrollment headcounts"),
    (CatalogItem.parent_id, "child catalog items"),
)


def validate_program_metadata(meta: dict[str, Any]) -> None:
    """RS §3.4: level, track, language and duration_years, each valid; 400 naming every bad key."""
    errors: list[FieldError] = []
    missing = [k for k in PROGRAM_KEYS if k not in meta]
    if missing:
        errors.append(FieldError(field="$.metadata", message=f"Program metadata missing keys: {', '.join(missing)}."))
    if "level" in meta and meta["level"] not in PROGRAM_LEVELS:
        errors.append(FieldError(field="$.metadata.level", message="level must be one of bachelor|master."))
    if "track" in meta and meta["track"] not in PROGRAM_TRACKS:
        errors.append(FieldError(field="$.metadata.track", message="track must be one of italian|uzbek|n/a."))
    if "language" in meta and not (isinstance(meta["language"], str) and meta["language"].strip()):
        errors.append(FieldError(field="$.metadata.language", message="language must be a non-empty string."))
    years = meta.get("duration_years")
    if "duration_years" in meta and not (isinstance(years, int) and not isinstance(years, bool) and years > 0):
        errors.append(
            FieldError(field="$.metadata.duration_years", message="duration_years must be a positive integer.")
        )
    if errors:
        raise ProblemError(400, "INVALID_PROGRAM_METADATA", errors[0].message, field=errors[0].field, errors=errors)


async def next_code(session: AsyncSession, type_: str) -> str:
    """`<TYPE>-NNN`, one past the highest number already used with that prefix (REGION-007 after REGION-006)."""
    prefix = f"{type_.upper()}-"
    codes = await session.scalars(
        select(CatalogItem.code).where(CatalogItem.type == type_, CatalogItem.code.startswith(prefix, autoescape=True))
    )
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)$")
    used = [int(m.group(1)) for code in codes if (m := pattern.match(code))]
    return f"{prefix}{max(used, default=0) + 1:03d}"


async def ensure_code_free(session: AsyncSession, type_: str, code: str, item_id: uuid.UUID | None = None) -> None:
    query = select(func.count()).select_from(CatalogItem).where(CatalogItem.type == type_, CatalogItem.code == code)
    if item_id is not None:
        query = query.where(CatalogItem.id != item_id)
    if await session.scalar(query):
        raise ProblemError(409, "CODE_TAKEN", f"A {type_} with code {code} already exists.", field="$.code")


async def reference_counts(session: AsyncSession, item_id: uuid.UUID) -> dict[str, int]:
    """How many rows of each kind point at the item, in one statement."""
    counts = [
        select(func.count()).select_from(column.class_).where(column == item_id).scalar_subquery().label(f"c{i}")
        for i, (column, _) in enumerate(REFERENCES)
    ]
    row = (await session.execute(select(*counts))).one()
    return {label: n for (_, label), n in zip(REFERENCES, row, strict=True) if n}


async def ensure_unreferenced(session: AsyncSession, item: CatalogItem, doing: str) -> None:
    """409 CATALOG_ITEM_IN_USE, saying what uses the item, when data still points at it."""
    used = await reference_counts(session, item.id)
    if used:
        uses = ", ".join(f"{n} {label}" for label, n in used.items())
        raise ProblemError(
            409,
            "CATALOG_ITEM_IN_USE",
            f"Cannot {doing} {item.type} {item.code}: it is used by {uses}. Set is_active=false to retire it instead.",
        )


async def ensure_item(
    session: AsyncSession, item_id: uuid.UUID, field: str, types: tuple[str, ...] = ()
) -> CatalogItem:
    """The item, or 400 INVALID_CATALOG_REF naming `field` when it does not exist or has another type."""
    item = await session.get(CatalogItem, item_id)
    if item is None or (types and item.type not in types):
        kind = " or ".join(types) if types else "catalog item"
        raise ProblemError(
            400, "INVALID_CATALOG_REF", f"{field.removeprefix('$.')} {item_id} is not a {kind}.", field=field
        )
    return item
