"""Fixtures and helpers shared by the dashboard API tests: users of each role, logged-in clients, Bearer headers,
the seeded catalog's ids and the audit trail of a table."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.users import create_user
from ingest.catalog.seed import seed_catalog
from ingest.core.schema import AuditLog, CatalogItem

API = "/api/v1"
PASSWORD = "correct-horse-42"


@dataclass
class Account:
    id: uuid.UUID
    email: str
    role: str
    access: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access}"}


async def add_user(session: AsyncSession, email: str, role: str, password: str = PASSWORD, **kw: Any) -> uuid.UUID:
    user = await create_user(session, email=email, password=password, role=role, **kw)
    await session.commit()  # SQLite: never leave a test holding the write lock
    return user.id


async def login(client: AsyncTestClient[Litestar], email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
async def https_client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A client on https, so the Secure session cookies (CRM_ENV is not dev in tests) travel back."""
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as c:
        yield c


@pytest.fixture
async def admin(session: AsyncSession, client: AsyncTestClient[Litestar]) -> Account:
    user_id = await add_user(session, "admin@example.com", "admin", first_name="Ada", last_name="Admin")
    body = await login(client, "admin@example.com")
    client.cookies.clear()  # tests choose Bearer or cookies explicitly
    return Account(user_id, "admin@example.com", "admin", body["access"])


@pytest.fixture
async def viewer(session: AsyncSession, client: AsyncTestClient[Litestar]) -> Account:
    user_id = await add_user(session, "viewer@example.com", "viewer", first_name="Vik", last_name="Viewer")
    body = await login(client, "viewer@example.com")
    client.cookies.clear()
    return Account(user_id, "viewer@example.com", "viewer", body["access"])


async def seeded_catalog(session: AsyncSession) -> dict[str, uuid.UUID]:
    """Seed the catalog (committed); its items' ids by code."""
    await seed_catalog(session)
    await session.commit()
    ids = dict((await session.execute(select(CatalogItem.code, CatalogItem.id))).all())
    await session.commit()  # SQLite: never leave a test holding a read transaction
    return ids


async def audit_actions(session: AsyncSession, table: str) -> list[str]:
    """The audit log's actions on `table`, oldest first."""
    query = select(AuditLog.action).where(AuditLog.entity_table == table).order_by(AuditLog.created_at)
    actions = list((await session.scalars(query)).all())
    await session.commit()
    return actions


class StatementCounter:
    """Counts SQL statements sent by an engine while active (to prove lists make no query per row)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine.sync_engine
        self.statements: list[str] = []

    def _on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)

    def selects(self) -> int:
        return sum(1 for s in self.statements if s.lstrip().upper().startswith("SELECT"))

    def selects_from(self, table: str) -> int:
        """The SELECTs that read `table` (e.g. the guard's user check, to leave it out of a count)."""
        return sum(1 for s in self.statements if s.lstrip().upper().startswith("SELECT") and f"FROM {table}" in s)
