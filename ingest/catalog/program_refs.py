"""A roster or headcount's program, given by id or code: a catalog item of type program or direction (RS §7.5: both
vocabularies are in use)."""

from __future__ import annotations

import uuid
from typing import Any

from msgspec import UnsetType
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.problems import ProblemError
from ingest.core.schema import CatalogItem

PROGRAM_TYPES = ("program", "direction")


def _given(value: Any) -> Any:
    return None if isinstance(value, UnsetType) else value


async def program_of(session: AsyncSession, body: Any, *, required: bool) -> uuid.UUID | None:
    """The program a dashboard create or update body names by `program` (the reference dashboard's name, RS §3.7),
    `program_id` or `program_code` (UNSET or null is not given); None when it names none and is not `required`.
    400 INVALID_CATALOG_REF naming `program` when `program` and `program_id` are both given and differ."""
    program, program_id, code = _given(body.program), _given(body.program_id), _given(body.program_code)
    field = "program_id"
    if program is not None:
        if program_id is not None and program_id != program:
            raise _bad("program", "program and program_id name the same field: give one, or the same id in both.")
        program_id, field = program, "program"
    if program_id is None and code is None and not required:
        return None
    return await resolve_program(session, program_id, code, required=True, id_field=field)


async def resolve_program(
    session: AsyncSession,
    program_id: uuid.UUID | None,
    program_code: str | None,
    *,
    required: bool,
    id_field: str = "program_id",
) -> uuid.UUID | None:
    """The item's id; 400 INVALID_CATALOG_REF naming the id field (`id_field`) or `program_code` when unknown, of
    another type, or when both are given and disagree; 400 when `required` and neither is given."""
    found_by_id = found_by_code = None
    if program_id is not None:
        found_by_id = await session.scalar(
            select(CatalogItem.id).where(CatalogItem.id == program_id, CatalogItem.type.in_(PROGRAM_TYPES))
        )
        if found_by_id is None:
            raise _bad(id_field, f"{id_field} {program_id} is not a program or direction.")
    if program_code is not None and program_code.strip():
        rows = (
            await session.execute(
                select(CatalogItem.id, CatalogItem.type).where(
                    CatalogItem.code == program_code.strip(), CatalogItem.type.in_(PROGRAM_TYPES)
                )
            )
        ).all()
        # A code used by both a program and a direction means the program.
        found_by_code = next((r.id for r in sorted(rows, key=lambda r: r.type != "program")), None)
        if found_by_code is None or (found_by_id is not None and found_by_code != found_by_id):
            raise _bad("program_code", f"program_code {program_code} is not a program or direction code.")
    chosen = found_by_id or found_by_code
    if chosen is None and required:
        raise _bad("program_id", "Give program_id or program_code.")
    return chosen


def _bad(field: str, detail: str) -> ProblemError:
    return ProblemError(400, "INVALID_CATALOG_REF", detail, field=f"$.{field}")
