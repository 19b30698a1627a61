"""FSM storage that survives a restart: a SQLite file in the bot's data dir by default, aiogram's RedisStorage when
CRM_REDIS_URL is set. A half-filled form resumes where the user left it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiosqlite
from aiogram.exceptions import DataNotDictLikeError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey

from bots.sqlite_file import open_sqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS fsm (
    key TEXT PRIMARY KEY,
    state TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
"""


class SQLiteStorage(BaseStorage):
    """One row per (bot, chat, user, ...) key; every write is committed before the handler goes on."""

    def __init__(self, conn: aiosqlite.Connection, key_builder: KeyBuilder | None = None) -> None:
        self.conn = conn
        self.key_builder = key_builder or DefaultKeyBuilder(with_bot_id=True, with_destiny=True)

    @classmethod
    async def open(cls, path: Path) -> SQLiteStorage:
        return cls(await open_sqlite(path, SCHEMA, synchronous="NORMAL"))

    async def close(self) -> None:
        await self.conn.close()

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self.conn.execute(
            "INSERT INTO fsm (key, state) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET state = excluded.state",
            (self.key_builder.build(key), value),
        )
        await self.conn.commit()

    async def get_state(self, key: StorageKey) -> str | None:
        async with self.conn.execute("SELECT state FROM fsm WHERE key = ?", (self.key_builder.build(key),)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise DataNotDictLikeError(f"Data must be a dict or dict-like object, got {type(data).__name__}")
        await self.conn.execute(
            "INSERT INTO fsm (key, data) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data",
            (self.key_builder.build(key), json.dumps(data, ensure_ascii=False)),
        )
        await self.conn.commit()

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        async with self.conn.execute("SELECT data FROM fsm WHERE key = ?", (self.key_builder.build(key),)) as cur:
            row = await cur.fetchone()
        return json.loads(row[0]) if row else {}


async def open_storage(path: Path, redis_url: str | None) -> BaseStorage:
    """Redis when a URL is configured (shared, survives the bot host), otherwise the SQLite file at `path`."""
    if redis_url:
        from aiogram.fsm.storage.redis import RedisStorage

        return RedisStorage.from_url(redis_url, key_builder=DefaultKeyBuilder(prefix="crm-fsm", with_bot_id=True))
    return await SQLiteStorage.open(path)
