"""A roster or headcount's program, given by id or code: a catalog item of type program or direction (RS §7.5: both
vocabularies are in use)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.problems import ProblemError
from ingest.core.schema import CatalogItem

PROGRAM_TYPES = ("program", "direction")


async def resolve_program(
    session: AsyncSession, program_id: uuid.UUID | None, program_code: str | None, *, required: bool
) -> uuid.UUID | None:
    """The item's id; 400 INVALID_CATALOG_REF naming `program_id`/`program_code` when unknown, of another type, or
    when both are given and disagree; 400 when `required` and neither is given."""
    found_by_id = found_by_code = None
    if program_id is not None:
        found_by_id = await session.scalar(
            select(CatalogItem.id).where(CatalogItem.id == program_id, CatalogItem.type.in_(PROGRAM_TYPES))
        )
        if found_by_id is None:
            raise _bad("program_id", f"program_id {program_id} is not a program or direction.")
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
