"""Paginated, searchable, orderable list answers shared by every dashboard list (`page`, `page_size` ≤ 500,
`count`, `next`, `previous`, `results`), with a stable order (id tiebreak, NULLs last on both databases)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode

import msgspec
from litestar import Request
from litestar.params import Parameter
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.problems import ProblemError

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 500
MAX_SEARCH_CHARS = 200

PageParam = Annotated[int, Parameter(ge=1, description="1-based page number")]
PageSizeParam = Annotated[
    int, Parameter(ge=1, le=MAX_PAGE_SIZE, description=f"rows per page (default {DEFAULT_PAGE_SIZE}, at most 500)")
]
SearchParam = Annotated[
    str | None, Parameter(max_length=MAX_SEARCH_CHARS, description="case-insensitive text contained in any field")
]
OrderingParam = Annotated[str | None, Parameter(description="`field` or `-field`; the allowed fields are listed")]


class Page(msgspec.Struct, Generic[T], kw_only=True):
    """One page of a list."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]


def search_clause(text: str | None, columns: Sequence[Any]) -> ColumnElement[bool] | None:
    """OR of case-insensitive "contains" over `columns`; None when there is nothing to search."""
    if text is None or not text.strip():
        return None
    needle = text.strip()
    return or_(*(column.icontains(needle, autoescape=True) for column in columns))


def order_by(
    raw: str | None, allowed: dict[str, Any], default: Sequence[str], tiebreak: Any
) -> list[ColumnElement[Any]]:
    """ORDER BY terms for `ordering=field` / `-field` (else `default`), NULLs last, then `tiebreak` for stability."""
    names = [n.strip() for n in raw.split(",") if n.strip()] if raw else list(default)
    terms: list[ColumnElement[Any]] = []
    for name in names:
        descending = name.startswith("-")
        key = name.lstrip("-")
        if key not in allowed:
            raise ProblemError(
                400,
                "INVALID_ORDERING",
                f"ordering must be one of {', '.join(sorted(allowed))} (prefix - for descending).",
                field="ordering",
            )
        column = allowed[key]
        terms.append((column.desc() if descending else column.asc()).nulls_last())
    terms.append(tiebreak.asc())
    return terms


def relative_link(request: Request[Any, Any, Any], **params: int) -> str:
    """This endpoint with `params` replacing those of the request, as a link relative to the host: never built from
    the `Host` header, which the client chooses (a forged one would come back in the answer)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in params]
    query += [(k, str(v)) for k, v in params.items()]
    return f"{request.url.path}?{urlencode(query)}"


def page_url(request: Request[Any, Any, Any], page: int) -> str:
    return relative_link(request, page=page)


async def paginate(
    session: AsyncSession,
    request: Request[Any, Any, Any],
    query: Select[Any],
    *,
    page: int,
    page_size: int,
    build: Callable[[Any], T],
) -> Page[T]:
    """Count the filtered rows, fetch one page (two statements whatever the page holds) and shape each row."""
    count = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    offset = (page - 1) * page_size
    if page > 1 and offset >= count:
        raise ProblemError(404, "NOT_FOUND", f"Page {page} is past the end ({count} rows).", field="page")
    rows = (await session.execute(query.limit(page_size).offset(offset))).all()
    return Page(
        count=count,
        next=page_url(request, page + 1) if offset + page_size < count else None,
        previous=page_url(request, page - 1) if page > 1 else None,
        results=[build(row) for row in rows],
    )
