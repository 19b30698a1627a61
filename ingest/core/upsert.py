"""The dialect's own INSERT (Postgres or SQLite), so `ON CONFLICT` works the same way on both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession


def dialect_insert(bind: AsyncSession | AsyncConnection | str, table: Table) -> Any:
    """`insert(table)` from the bind's dialect: it has `.on_conflict_do_update/nothing` and `.excluded`."""
    name = (
        bind
        if isinstance(bind, str)
        else bind.bind.dialect.name
        if isinstance(bind, AsyncSession)
        else bind.dialect.name
    )
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)
