"""Postgres: a small pool of plain psycopg connections for the ingestion hot path, beside SQLAlchemy's pool.

The submit statement (`ingest.submissions.bot1_pg`) is the one query that runs hundreds of times a second. Through
SQLAlchemy's pool and psycopg's `%(name)s` conversion it cost ~0.7-1 ms of Python per call more than on a plain
connection: the statement is longer than psycopg's 4 KiB query cache, so every call re-parsed it, and each checkout
walks SQLAlchemy's pool events. Here connections are autocommit (the statement is its own transaction), use raw
`$n` parameters (nothing to parse) and server-side prepared statements with generic plans (nothing to plan).

Errors are raised as SQLAlchemy's `DBAPIError` subclasses (IntegrityError, OperationalError, ...), so callers and the
app's exception handlers treat both pools alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakKeyDictionary

import psycopg
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

MAX_CONNECTIONS = 8  # one gathered write per bot at a time, and one per batch request
CHECKOUT_TIMEOUT_S = 5.0  # a database that is down answers 503 (Retry-After) within this, not after psycopg's 30 s

_pools: WeakKeyDictionary[Engine, asyncio.Task[AsyncConnectionPool]] = WeakKeyDictionary()


async def _configure(conn: psycopg.AsyncConnection) -> None:
    # The statement's plan does not depend on its parameters (one JSON document of rows): plan it once.
    await conn.execute("SET plan_cache_mode = force_generic_plan")


async def _open(conninfo: str) -> AsyncConnectionPool:
    pool = AsyncConnectionPool(
        conninfo,
        min_size=1,
        max_size=MAX_CONNECTIONS,
        timeout=CHECKOUT_TIMEOUT_S,
        open=False,
        configure=_configure,
        kwargs={
            "autocommit": True,
            "prepare_threshold": 0,
            "cursor_factory": psycopg.AsyncRawCursor,
            "row_factory": namedtuple_row,
        },
    )
    await pool.open()
    return pool


def _pool_task(engine: AsyncEngine) -> asyncio.Task[AsyncConnectionPool]:
    task = _pools.get(engine.sync_engine)
    if task is None or task.get_loop() is not asyncio.get_running_loop():
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        task = _pools[engine.sync_engine] = asyncio.ensure_future(_open(conninfo))
    return task


@asynccontextmanager
async def connection(engine: AsyncEngine) -> AsyncIterator[psycopg.AsyncConnection]:
    """A plain autocommit connection to the engine's database (raw `$n` parameters, rows as named tuples)."""
    try:
        pool = await asyncio.shield(_pool_task(engine))
        async with pool.connection() as conn:
            yield conn
    except psycopg.Error as exc:
        raise DBAPIError.instance(None, None, exc, psycopg.Error) from exc


async def close(engine: AsyncEngine) -> None:
    """Close the engine's plain pool, if one was opened (Database.dispose calls this)."""
    task = _pools.pop(engine.sync_engine, None)
    if task is None:
        return
    try:
        pool = await task
    except psycopg.Error:
        return
    await pool.close()
