"""Read-only queries outside an explicit transaction (autocommit), for the ingestion API's lookups and GETs.

Every transaction of the app starts with BEGIN IMMEDIATE on SQLite (ingest.core.db), which takes the write lock; a
read that needs no transaction must not queue behind the writers for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


@asynccontextmanager
async def read_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")
