"""What a CLI command needs: settings, a console for progress, and a database session per unit of work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.db import Database
from ingest.core.settings import Settings

T = TypeVar("T")

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


async def in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on a short-lived engine."""
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.sessionmaker() as session, session.begin():
            return await work(session)
    finally:
        await db.dispose()


def run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    return asyncio.run(in_session(settings, work))
