"""Fixtures and helpers shared by the ingestion API tests: the real catalog, bot tokens, and row counts."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from litestar import Litestar
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.service_tokens import issue_token
from ingest.catalog.seed import seed_catalog
from ingest.core.db import Database
from ingest.core.schema import AuditLog, CatalogItem

API = "/api/v1"


@dataclass
class Catalog:
    ids: dict[tuple[str, str], uuid.UUID]

    def id(self, type_: str, code: str) -> str:
        return str(self.ids[(type_, code)])

    def first(self, type_: str) -> tuple[str, str]:
        code = sorted(c for t, c in self.ids if t == type_)[0]
        return code, self.id(type_, code)


@dataclass
class Tokens:
    bot1: str
    bot2: str
    bot1_id: uuid.UUID
    bot2_id: uuid.UUID

    def h1(self, **extra: str) -> dict[str, str]:
        return {"X-SERVICE-TOKEN": self.bot1, **extra}

    def h2(self, **extra: str) -> dict[str, str]:
        return {"X-SERVICE-TOKEN": self.bot2, **extra}


@pytest.fixture
async def catalog(session: AsyncSession) -> Catalog:
    await seed_catalog(session)
    await session.commit()
    rows = (await session.execute(select(CatalogItem.type, CatalogItem.code, CatalogItem.id))).all()
    await session.commit()  # SQLite: never leave the fixture holding the write lock
    return Catalog({(t, c): i for t, c, i in rows})


@pytest.fixture
async def tokens(session: AsyncSession, catalog: Catalog) -> Tokens:
    t1, raw1 = await issue_token(session, "bot1", name="test")
    t2, raw2 = await issue_token(session, "bot2", name="test")
    await session.commit()
    return Tokens(raw1, raw2, t1.id, t2.id)


async def count(db: Database, model: Any, *where: Any) -> int:
    async with db.sessionmaker() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def latest_audit(db: Database) -> AuditLog:
    async with db.sessionmaker() as s:
        return (await s.scalars(select(AuditLog).order_by(AuditLog.created_at.desc()).limit(1))).one()


def applicant(tg: int = 1001, **extra: Any) -> dict[str, Any]:
    return {"telegram_user_id": tg, **extra}


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture
async def live(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app served by a real uvicorn server on a loopback port, so requests truly run concurrently
    (the Litestar test client handles one request at a time). Do not combine with the `client` fixture."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)  # connections queue here until the server accepts them: no start-up polling needed
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits) as client:
        yield client
    server.should_exit = True
    await task
    sock.close()
