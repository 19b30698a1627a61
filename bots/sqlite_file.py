"""The bots' local SQLite files (the outbox and the FSM storage, SPEC §10): opened the same way, WAL with a busy
timeout and their schema applied; each chooses how durable a commit is."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import aiosqlite


async def open_sqlite(path: Path, schema: str, *, synchronous: Literal["FULL", "NORMAL"]) -> aiosqlite.Connection:
    """One connection to `path` (created with its folder) with `schema` applied and committed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute(f"PRAGMA synchronous={synchronous}")
    await conn.execute("PRAGMA busy_timeout=5000")
    await conn.executescript(schema)
    await conn.commit()
    return conn
