"""What the dashboard's CRUD endpoints share (SPEC §5: catalog, roster, bot1 and bot2 lists, users, audit log): the
list skeleton (filters, search, ordering, count, page), one row or 404, the fields a partial update gives, and
audited writes (flush, read back, then the audit row)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, NamedTuple, TypeVar

from litestar import Request
from litestar.di import Provide
from litestar.params import Parameter
from msgspec import UnsetType
from sqlalchemy import ColumnElement, Select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.audit.dashboard import audit_user_action
from ingest.core.problems import ProblemError
from ingest.http.list_filters import bool_of
from ingest.http.pagination import (
    DEFAULT_PAGE_SIZE,
    OrderingParam,
    Page,
    PageParam,
    PageSizeParam,
    SearchParam,
    order_by,
    paginate,
    search_clause,
)
from ingest.http.windows import parse_window, window_clauses

T = TypeVar("T")
M = TypeVar("M")

CourseYearParam = Annotated[int | None, Parameter(ge=1, le=5, description="1..5 (5 = graduated)")]


def matching(
    query: Select[Any], equal: Iterable[tuple[Any, Any]], search: str | None, search_columns: Sequence[Any]
) -> Select[Any]:
    """`query` narrowed to `column == value` for every given (not None) filter, and to the search text."""
    query = query.where(*(column == value for column, value in equal if value is not None))
    if (clause := search_clause(search, search_columns)) is not None:
        query = query.where(clause)
    return query


def columns_of(table: Any, *names: str) -> dict[str, Any]:
    """The named columns of `table` by name: the fields a list's `ordering` accepts, most often."""
    return {name: table.c[name] for name in names}


def flag(column: Any, raw: str | None, name: str) -> list[ColumnElement[bool]]:
    """`column IS true/false` when the boolean query parameter `name` is given; 400 naming it when malformed."""
    value = bool_of(raw, name)
    return [] if value is None else [column.is_(value)]


def within(
    request: Request[Any, Any, Any], column: Any, from_raw: str | None, to_raw: str | None
) -> list[ColumnElement[bool]]:
    """`column` inside the half-open window [from, to) of the query (naive values in CRM_TIMEZONE); 400 when bad."""
    return window_clauses(column, parse_window(from_raw, to_raw, request.app.state.settings.tz))


class ListQuery(NamedTuple):
    """The query parameters every list takes besides its filters."""

    search: str | None
    ordering: str | None
    page: int
    page_size: int


def list_query(
    search: SearchParam = None,
    ordering: OrderingParam = None,
    page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE,
) -> ListQuery:
    """The query parameters every list takes besides its filters, as one value (the `LIST_QUERY` dependency)."""
    return ListQuery(search, ordering, page, page_size)


# A list handler's `dependencies`: its `asked: ListQuery` parameter, read from the four query parameters above. The
# handler declares it last (keyword-only, after `*`): Litestar documents a dependency's parameters where it stands in
# the signature, and every list documents its own filters first.
LIST_QUERY = {"asked": Provide(list_query, sync_to_thread=False)}


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A dashboard list and its detail: the SELECT its rows come from, how a row is shaped (`build`), the columns
    `search` looks in, the fields `ordering` accepts with the default order, and the id column (which breaks ties in
    the order and finds one row). A list handler declares only its filters and passes them to `page`."""

    query: Select[Any]
    build: Callable[[Any], T]
    search: Sequence[Any]
    ordering: Mapping[str, Any]
    default: Sequence[str]
    id_column: Any

    async def page(
        self,
        session: AsyncSession,
        request: Request[Any, Any, Any],
        asked: ListQuery,
        *,
        where: Iterable[ColumnElement[bool]] = (),
        equal: Iterable[tuple[Any, Any]] = (),
    ) -> Page[T]:
        """One page of the rows passing `where`, the given `equal` filters and the search text, in the asked order."""
        query = matching(self.query.where(*where), equal, asked.search, self.search)
        query = query.order_by(*order_by(asked.ordering, self.ordering, self.default, self.id_column))
        return await paginate(session, request, query, page=asked.page, page_size=asked.page_size, build=self.build)

    async def one(self, session: AsyncSession, entity_id: uuid.UUID, missing: str) -> T:
        """The row with this id; 404 NOT_FOUND saying `missing` when there is none."""
        return await one_or_404(session, self.query.where(self.id_column == entity_id), self.build, missing)


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
