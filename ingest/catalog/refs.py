"""Catalog references of bot submissions (`region_id` or `region_code`, ...), resolved through an in-process cache.

The catalog is a few hundred rows that change rarely, so every process keeps (id → type) and ((type, code) → id)
in memory: reloaded when older than `ttl` seconds, and at once (at most once per `miss_every` seconds) when a
reference is not found, so an item created a moment ago in the dashboard is accepted on the next try. Retired items
(`is_active` false) still resolve, so a replay of a stored submission is answered as before; `retired` tells a new
submission that its item is no longer offered.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ingest.core.problems import ProblemError
from ingest.core.reads import read_connection
from ingest.core.schema import CatalogItem

_items = CatalogItem.__table__


@dataclass(frozen=True, slots=True)
class Ref:
    """One reference as sent: the field base (`region`), the types it may point at, and the id or code given."""

    base: str
    types: tuple[str, ...]
    id: uuid.UUID | None
    code: str | None


class CatalogRefs:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        ttl: float = 60.0,
        miss_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.ttl = ttl
        self.miss_every = miss_every
        self.clock = clock
        self._types: dict[uuid.UUID, str] = {}
        self._codes: dict[tuple[str, str], uuid.UUID] = {}
        self._retired: frozenset[uuid.UUID] = frozenset()
        self._loaded_at: float | None = None

    async def reload(self) -> None:
        async with read_connection(self.engine) as conn:
            rows = (await conn.execute(select(_items.c.id, _items.c.type, _items.c.code, _items.c.is_active))).all()
        self._types = {r.id: r.type for r in rows}
        self._codes = {(r.type, r.code): r.id for r in rows}
        self._retired = frozenset(r.id for r in rows if not r.is_active)
        self._loaded_at = self.clock()

    def retired(self, item_id: uuid.UUID) -> bool:
        """Whether the item is no longer offered (inactive), as of the last load."""
        return item_id in self._retired

    def invalidate(self) -> None:
        self._loaded_at = None

    async def fresh(self) -> None:
        """Reload when the copy is missing or older than the TTL."""
        if self._loaded_at is None or self.clock() - self._loaded_at > self.ttl:
            await self.reload()

    def _find(self, ref: Ref) -> uuid.UUID | str | None:
        """The id; None when nothing was given; the name of the field at fault when not found or of another type."""
        by_id = by_code = None
        if ref.id is not None:
            if self._types.get(ref.id) not in ref.types:
                return f"{ref.base}_id"
            by_id = ref.id
        if ref.code is not None:
            by_code = next((self._codes[(t, ref.code)] for t in ref.types if (t, ref.code) in self._codes), None)
            if by_code is None or (by_id is not None and by_code != by_id):
                return f"{ref.base}_code"
        return by_id or by_code

    async def resolve_all(self, refs: list[Ref]) -> list[uuid.UUID | ProblemError | None]:
        """Each reference's id (None when not given) or its 400 INVALID_CATALOG_REF problem."""
        await self.fresh()
        found = [self._find(r) for r in refs]
        missed = any(isinstance(f, str) for f in found)
        if missed and self._loaded_at is not None and self.clock() - self._loaded_at >= self.miss_every:
            await self.reload()
            found = [self._find(r) for r in refs]
        return [problem(r, f) if isinstance(f, str) else f for r, f in zip(refs, found, strict=True)]


def problem(ref: Ref, field: str) -> ProblemError:
    value = ref.id if field.endswith("_id") else ref.code
    mismatch = " or names another item than the id" if field.endswith("_code") and ref.id is not None else ""
    return ProblemError(
        400,
        "INVALID_CATALOG_REF",
        f"{field} {value!s} is not a catalog item of type {' or '.join(ref.types)}{mismatch}.",
        field=f"$.{field}",
    )


def retired_problem(ref: Ref) -> ProblemError:
    """A new submission naming an inactive item: 400 INVALID_CATALOG_REF on the field sent."""
    field = f"{ref.base}_id" if ref.id is not None else f"{ref.base}_code"
    value = ref.id if ref.id is not None else ref.code
    return ProblemError(
        400,
        "INVALID_CATALOG_REF",
        f"{field} {value!s} is no longer offered (the {ref.base} was withdrawn); choose another.",
        field=f"$.{field}",
    )


_STATE_KEY = "catalog_refs"


def catalog_of(app: Litestar) -> CatalogRefs:
    """The app's catalog cache, created on first use (one per process)."""
    refs = app.state.get(_STATE_KEY)
    if refs is None:
        refs = app.state[_STATE_KEY] = CatalogRefs(app.state.db.engine)
    return refs
