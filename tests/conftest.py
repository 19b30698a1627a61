"""Shared fixtures: every test that asks for `db_url` (directly or through `settings`, `app`, `client`, `session`)
runs once on SQLite and once on Postgres (when CRM_TEST_DATABASE_URL is set), each time on a clean, migrated
database."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from crm.app import create_app
from ingest.core import migrate
from ingest.core.db import Database
from ingest.core.schema import metadata
from ingest.core.settings import Settings

PG_ENV = "CRM_TEST_DATABASE_URL"
BACKENDS = ["sqlite", "postgres"]


def pg_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def unique_db_name(purpose: str) -> str:
    """A database name no other concurrent test process uses (xdist workers, parallel runs on one server)."""
    return f"crm_test_{purpose}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def pg_admin_dsn(url: str) -> str:
    """A libpq DSN for the server behind `url` (used to create and drop test databases)."""
    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def create_pg_database(name: str) -> str:
    """(Re)create an empty database `name` on the test server; returns its SQLAlchemy URL."""
    base = pg_base_url()
    assert base, f"{PG_ENV} is not set"
    with psycopg.connect(pg_admin_dsn(base), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(base).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


def drop_pg_database(name: str) -> None:
    base = pg_base_url()
    if base:
        with psycopg.connect(pg_admin_dsn(base), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "crm.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    name = unique_db_name("session")
    url = create_pg_database(name)
    migrate.upgrade(url)
    yield url
    drop_pg_database(name)


TRUNCATE = "TRUNCATE " + ", ".join(f'"{t.name}"' for t in metadata.sorted_tables) + " RESTART IDENTITY CASCADE"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A clean, migrated operational database for this test."""
    if request.param == "sqlite":
        path = tmp_path / "crm.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    if not pg_base_url():
        pytest.skip(f"{PG_ENV} not set: Postgres run skipped")
    url = request.getfixturevalue("pg_session_url")
    with psycopg.connect(pg_admin_dsn(url), autocommit=True) as conn:
        conn.execute(TRUNCATE)
    return url


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        env="test",
        secret_key="test-secret-key-that-is-long-enough-for-hs256",
        docs_public=True,
        timezone="Asia/Tashkent",
    )


@pytest.fixture
def app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as c:
        yield c


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url, pool_size=2)
    yield database
    await database.dispose()


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session for arranging and checking rows directly; commit explicitly when the app must see them."""
    async with db.sessionmaker() as s:
        yield s
