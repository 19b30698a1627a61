"""Database engines for the operational store: SQLite (embedded default) and Postgres, async for the API, sync for
migrations and bulk jobs."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option for work that only reads: on SQLite its transactions take no write lock (deferred BEGIN), so
# dashboard reads never queue behind writers. Postgres ignores it.
READ_ONLY_OPTION = "crm_read_only"


def _with_driver(url: str, drivers: dict[str, str]) -> URL:
    """The URL with the driver `drivers` names for its backend; only SQLite and Postgres are supported."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend not in drivers:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return u.set(drivername=drivers[backend])


def async_url(url: str) -> URL:
    """The URL with an asyncio driver (aiosqlite / psycopg)."""
    return _with_driver(url, {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"})


def sync_url(url: str) -> URL:
    """The URL with a blocking driver (pysqlite / psycopg), for Alembic and bulk loaders."""
    return _with_driver(url, {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"})


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for Postgres and in-memory SQLite."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def _prepare_sqlite_file(url: str) -> None:
    """The folder, and the file itself created private (0600) before SQLite opens it: SQLite gives its -wal and -shm
    files the database file's permissions, and the operational data holds names, phones and e-mails. A file this
    process created earlier with wider permissions is made private too."""
    path = sqlite_path(url)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            info = file.stat()
            if info.st_mode & 0o077 and info.st_uid == os.getuid():
                file.chmod(info.st_mode & 0o700)
        except OSError:  # absent (no -wal yet), or not ours to change
            continue


def _configure_sqlite(sync_engine: Engine) -> None:
    """WAL, a busy timeout and foreign keys on every connection; explicit BEGIN IMMEDIATE transactions.

    pysqlite's implicit transaction handling defers BEGIN and then fails with "database is locked" when a read
    transaction later wants to write; taking the write lock at BEGIN makes concurrent writers queue on the busy
    timeout instead (SQLite has one writer at a time anyway)."""

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # each statement commits on its own
        conn.exec_driver_sql("BEGIN" if options.get(READ_ONLY_OPTION) else "BEGIN IMMEDIATE")


def make_async_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """The API's engine."""
    _prepare_sqlite_file(url)
    u = async_url(url)
    if u.get_backend_name() == "sqlite":
        engine = create_async_engine(u, pool_size=pool_size, max_overflow=pool_size)
        _configure_sqlite(engine.sync_engine)
        return engine
    return create_async_engine(u, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=False)


def make_sync_engine(url: str) -> Engine:
    """A blocking engine with the same connection settings, for migrations, seeds and bulk loads."""
    _prepare_sqlite_file(url)
    u = sync_url(url)
    engine = create_engine(u)
    if u.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    return engine


class Database:
    """The engine and session factory one process uses; lives in the app state and in CLI commands."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_async_engine(url, pool_size=pool_size)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine = self.engine.execution_options(**{READ_ONLY_OPTION: True})
        self.read_sessionmaker = async_sessionmaker(self.read_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def session(self) -> AsyncIterator[AsyncSession]:
        """One session inside one transaction: committed when the block ends, rolled back on any exception."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        if self.engine.dialect.name == "postgresql":
            from ingest.core import pg_pool  # the hot path's plain psycopg connections: loaded on Postgres only

            await pg_pool.close(self.engine)
        await self.engine.dispose()
