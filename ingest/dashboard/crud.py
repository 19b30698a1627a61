"""What the dashboard's CRUD endpoints share (catalog, roster, bot1 and bot2 lists): list filters, one row or 404,
the fields a partial update gives, and audited writes (flush, read back, then the audit row)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from litestar import Request
from msgspec import UnsetType
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.audit.dashboard import audit_user_action
from ingest.core.problems import ProblemError
from ingest.http.pagination import search_clause

T = TypeVar("T")
M = TypeVar("M")


def matching(
    query: Select[Any], equal: Iterable[tuple[Any, Any]], search: str | None, search_columns: Sequence[Any]
) -> Select[Any]:
    """`query` narrowed to `column == value` for every given (not None) filter, and to the search text."""
    query = query.where(*(column == value for column, value in equal if value is not None))
    if (clause := search_clause(search, search_columns)) is not None:
        query = query.where(clause)
    return query


async def one_or_404(session: AsyncSession, query: Select[Any], build: Callable[[Any], T], missing: str) -> T:
    """The first row of `query` as `build` makes it; 404 NOT_FOUND saying `missing` when there is none."""
    row = (await session.execute(query)).first()
    if row is None:
        raise ProblemError(404, "NOT_FOUND", missing)
    return build(row)


async def get_or_404(session: AsyncSession, model: type[M], entity_id: uuid.UUID, missing: str) -> M:
    """The ORM row with this id; 404 NOT_FOUND saying `missing` when there is none."""
    entry = await session.get(model, entity_id)
    if entry is None:
        raise ProblemError(404, "NOT_FOUND", missing)
    return entry


def set_given(target: Any, data: Any, fields: Iterable[str], clean: Callable[[Any], Any] | None = None) -> None:
    """Copy the fields a partial update gives (those not UNSET) onto `target`, through `clean` when given."""
    for field in fields:
        value = getattr(data, field)
        if not isinstance(value, UnsetType):
            setattr(target, field, value if clean is None else clean(value))


@dataclass(frozen=True)
class Audited(Generic[T]):
    """A dashboard resource whose writes are audited: its table in the audit log, how one row is read back as the
    API shows it (`load`, 404 when there is none), and what of that row the log keeps (`view`)."""

    table: str
    load: Callable[[AsyncSession, uuid.UUID], Awaitable[T]]
    view: Callable[[T], dict[str, Any]]

    async def snapshot(self, session: AsyncSession, entity_id: uuid.UUID) -> dict[str, Any]:
        """What the log keeps of the row as it is now (the `before` of an update or a delete)."""
        return self.view(await self.load(session, entity_id))

    async def written(
        self,
        session: AsyncSession,
        request: Request[Any, Any, Any],
        action: str,
        entity_id: uuid.UUID,
        before: dict[str, Any] | None = None,
    ) -> T:
        """After a create or an update: flush, read the row back, audit it, and return it."""
        await session.flush()
        row = await self.load(session, entity_id)
        await audit_user_action(
            session,
            request,
            action=action,
            entity_table=self.table,
            entity_id=entity_id,
            before=before,
            after=self.view(row),
        )
        return row

    async def deleted(
        self, session: AsyncSession, request: Request[Any, Any, Any], entry: Any, before: dict[str, Any]
    ) -> None:
        """Delete an ORM row, flush, and audit it with what it was."""
        entity_id = entry.id
        await session.delete(entry)
        await session.flush()
        await audit_user_action(
            session, request, action="delete", entity_table=self.table, entity_id=entity_id, before=before
        )
