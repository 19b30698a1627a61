"""On SQLite, requests that only read take no write lock: while another connection holds the write lock (a long
import, a mart bulk load), the dashboard still answers its GETs, and a write waits its turn instead of failing."""

from __future__ import annotations

import sqlite3

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url

from tests.dashboard_support import API, Account, admin  # noqa: F401  (fixture)


@pytest.fixture
def sqlite_file(db_url: str) -> str:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite locking only")
    return make_url(db_url).database or ""


async def test_reads_proceed_while_another_writer_holds_the_lock(
    sqlite_file: str,
    client: AsyncTestClient[Litestar],
    admin: Account,  # noqa: F811
) -> None:
    writer = sqlite3.connect(sqlite_file, isolation_level=None)
    writer.execute("PRAGMA busy_timeout=0")
    writer.execute("BEGIN IMMEDIATE")  # hold the write lock for the whole request
    try:
        catalog = await client.get(f"{API}/catalog/items/", headers=admin.auth)
        me = await client.get(f"{API}/auth/me", headers=admin.auth)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert catalog.status_code == 200, catalog.text
    assert me.status_code == 200, me.text
