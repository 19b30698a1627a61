"""Fixtures for the bot tests: a seeded catalog and bot tokens on the test database, the app behind the bots'
API client, and bot harnesses with durable (SQLite) FSM storage and outbox in the test's data dir."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from bots.config import BotConfig
from bots.fsm_storage import SQLiteStorage
from ingest.auth.service_tokens import issue_token
from ingest.catalog.seed import seed_catalog
from ingest.core.db import Database
from ingest.core.schema import CatalogItem
from ingest.core.settings import Settings
from tests.bots.harness import BotHarness, make_harness

# 11:00 in Tashkent on a Tuesday: "today" for date steps is 10.03.2026.
NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)


def fixed_now() -> datetime:
    return NOW


@pytest.fixture
async def tokens(db: Database) -> dict[str, str]:
    async with db.sessionmaker() as s, s.begin():
        await seed_catalog(s)
        _, bot1 = await issue_token(s, "bot1", name="test")
        _, bot2 = await issue_token(s, "bot2", name="test")
    return {"bot1": bot1, "bot2": bot2}


def config_for(name: str, settings: Settings, tokens: dict[str, str], **kw: object) -> BotConfig:
    return BotConfig(
        name=name,  # type: ignore[arg-type]
        bot_token="42:TEST",
        service_token=tokens[name],
        data_dir=settings.data_dir,
        timezone="Asia/Tashkent",
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture
async def start_bot(
    settings: Settings, tokens: dict[str, str], client: AsyncTestClient[Litestar]
) -> AsyncIterator[Callable[..., object]]:
    """Start a bot (as a process would: storage and outbox opened from the data dir); stopped at teardown."""
    started: list[BotHarness] = []

    async def start(name: str, **kw: object) -> BotHarness:
        config = config_for(name, settings, tokens)
        storage = await SQLiteStorage.open(config.state_dir / "fsm.sqlite3")
        kw.setdefault("utcnow", fixed_now)
        harness = await make_harness(config, client, storage, **kw)  # type: ignore[arg-type]
        started.append(harness)
        return harness

    yield start
    for harness in started:
        await stop(harness)


async def stop(harness: BotHarness) -> None:
    """Like a process exit: close storage, outbox and client (idempotent)."""
    if getattr(harness, "_stopped", False):
        return
    harness._stopped = True  # type: ignore[attr-defined]
    await harness.storage.close()
    await harness.deps.outbox.close()
    await harness.deps.api.aclose()
    await harness.deps.api.http.aclose()


async def count(db: Database, model: type, **where: object) -> int:
    async with db.sessionmaker() as s:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await s.scalar(query) or 0)


async def rows(db: Database, model: type, **where: object) -> list:
    async with db.sessionmaker() as s:
        query = select(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return list(await s.scalars(query))


async def catalog_id(db: Database, code: str) -> str:
    async with db.sessionmaker() as s:
        return str(await s.scalar(select(CatalogItem.id).where(CatalogItem.code == code)))


def data_dir(settings: Settings) -> Path:
    return settings.data_dir
