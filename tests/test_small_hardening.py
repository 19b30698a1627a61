"""The smaller findings of issue 17, each as the attacker tries it: a logout forged with a junk `Authorization` header
and the victim's cookies must still pass the CSRF check; a forged `Host` header never comes back in pagination links;
the dev SQLite file and its -wal/-shm are readable by their owner only."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from ingest.catalog.seed import seed_catalog
from ingest.core import migrate
from ingest.core.db import Database
from reports.schedule.runs import RunStore
from tests.dashboard_support import API, Account, https_client, login, viewer

__all__ = ["https_client", "viewer"]

ME = f"{API}/auth/me"


@pytest.mark.parametrize("authorization", ["Bearer junk", "Basic YTpi", "Bearer", "Token x"])
async def test_a_logout_with_a_junk_authorization_header_still_needs_csrf(
    https_client: AsyncTestClient[Litestar], viewer: Account, authorization: str
) -> None:
    await login(https_client, viewer.email)  # the victim's browser holds the session cookies
    forged = await https_client.post(f"{API}/auth/logout", headers={"Authorization": authorization})
    assert forged.status_code == 403 and forged.json()["code"] == "CSRF_FAILED", forged.text
    assert (await https_client.get(ME)).status_code == 200  # the session was not ended
    csrf = {"X-CSRF-Token": https_client.cookies["csrf_token"], "Authorization": authorization}
    assert (await https_client.post(f"{API}/auth/logout", headers=csrf)).status_code == 200
    assert (await https_client.get(ME)).status_code == 401


async def test_a_forged_host_never_comes_back_in_pagination_links(
    client: AsyncTestClient[Litestar], session, viewer: Account, settings
) -> None:  # type: ignore[no-untyped-def]
    await seed_catalog(session)
    await session.commit()
    store = RunStore(settings)
    for _ in range(3):
        store.finish(store.start("weekly", "manual", None, datetime.now(UTC)))
    forged = {**viewer.auth, "Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    for path in (f"{API}/catalog/items/?type=region&page_size=3&page=2", f"{API}/reports/runs?page_size=1&page=2"):
        response = await client.get(path, headers=forged)
        assert response.status_code == 200, response.text
        body = response.json()
        for link in (body["next"], body["previous"]):
            assert link is not None and "evil" not in link, link
            assert link.startswith(path.split("?")[0].rstrip("/") + "?"), link  # relative to the host used
        followed = await client.get(body["next"], headers=viewer.auth)
        assert followed.status_code == 200 and followed.json()["results"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_dev_sqlite_file_and_its_wal_are_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "crm.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    migrate.upgrade(url)  # what `crm up` does first on a fresh checkout
    assert _mode(path) == 0o600
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            await s.execute(text("UPDATE app_user SET first_name = first_name"))
            wal, shm = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
            assert wal.exists() and shm.exists()
            assert (_mode(wal), _mode(shm)) == (0o600, 0o600)
    finally:
        await db.dispose()


def test_a_world_readable_sqlite_file_from_before_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "crm.sqlite3"
    path.touch(mode=0o644)
    path.chmod(0o644)
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    assert _mode(path) == 0o600
