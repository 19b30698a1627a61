"""The durable outbox: every submission is committed to a local SQLite file (WAL, synchronous=FULL) with a UUID
idempotency key before the user hears that it was accepted. Delivered items move to `delivered` (ids only, no
personal data but what "My applications" shows to recognise an application); refused ones to `dead_letter` with the
server's problem. Each item keeps the moment the person confirmed (`submitted_at`), which is the submission's time
however late it is delivered."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bots.sqlite_file import open_sqlite

# What a queued item holds; a dead letter keeps it as it was queued.
_ITEM = """
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    chat_id INTEGER,
    user_id INTEGER,
    lang TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    submitted_at TEXT NOT NULL DEFAULT '',"""
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,{_ITEM}
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS ix_outbox_due ON outbox (next_attempt_at, seq);
CREATE INDEX IF NOT EXISTS ix_outbox_user ON outbox (user_id);
CREATE TABLE IF NOT EXISTS dead_letter (
    idempotency_key TEXT PRIMARY KEY,{_ITEM}
    failed_at REAL NOT NULL,
    status INTEGER NOT NULL,
    problem TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_dead_letter_user ON dead_letter (user_id);
CREATE TABLE IF NOT EXISTS delivered (
    idempotency_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id INTEGER,
    server_id TEXT NOT NULL DEFAULT '',
    delivered_at REAL NOT NULL,
    submitted_at TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{{}}'
);
"""
# Columns added after the first release: (table, column, declaration), added to an older file on open.
_ADDED = (
    ("outbox", "submitted_at", "TEXT NOT NULL DEFAULT ''"),
    ("dead_letter", "submitted_at", "TEXT NOT NULL DEFAULT ''"),
    ("delivered", "submitted_at", "TEXT NOT NULL DEFAULT ''"),
    ("delivered", "detail", "TEXT NOT NULL DEFAULT '{}'"),
)
_COLUMNS = "seq, idempotency_key, kind, payload, chat_id, user_id, lang, created_at, attempts, submitted_at"
# What "My applications" may show of a delivered campus tour besides the server's fields (no personal data).
DETAIL_KEYS = ("organization", "time_slot")


@dataclass(frozen=True)
class OutboxItem:
    seq: int
    key: str
    kind: str
    payload: dict[str, Any]
    chat_id: int | None
    user_id: int | None
    lang: str
    created_at: float
    attempts: int
    submitted_at: str = ""  # ISO 8601 UTC: when the person confirmed

    @property
    def ref(self) -> str:
        """A short reference the user can quote to staff."""
        return self.key[:8].upper()

    @classmethod
    def from_row(cls, row: Any) -> OutboxItem:
        seq, key, kind, payload, chat_id, user_id, lang, created_at, attempts, submitted_at = row
        return cls(seq, key, kind, json.loads(payload), chat_id, user_id, lang, created_at, attempts, submitted_at)


@dataclass(frozen=True)
class DeadLetter:
    key: str
    kind: str
    user_id: int | None
    status: int
    problem: dict[str, Any]


@dataclass(frozen=True)
class Delivered:
    """A delivered submission as "My applications" recognises it: the reference the person was given, when they
    confirmed it, and the few details the server does not return (`DETAIL_KEYS`)."""

    key: str
    kind: str
    server_id: str
    submitted_at: str
    detail: dict[str, Any]

    @property
    def ref(self) -> str:
        return self.key[:8].upper()


class Outbox:
    """One SQLite connection; aiosqlite runs it on its own thread so the event loop never blocks on fsync."""

    def __init__(self, conn: aiosqlite.Connection, clock: Any = time.time) -> None:
        self.conn = conn
        self.clock = clock

    @classmethod
    async def open(cls, path: Path, clock: Any = time.time) -> Outbox:
        # FULL: a commit is on disk before put() returns, so "accepted" is never said about a lost row.
        conn = await open_sqlite(path, SCHEMA, synchronous="FULL")
        for table, column, declaration in _ADDED:
            async with conn.execute(f"PRAGMA table_info({table})") as cur:
                if column not in {row[1] for row in await cur.fetchall()}:
                    await conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        await conn.commit()
        return cls(conn, clock)

    async def close(self) -> None:
        await self.conn.close()

    async def put(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        chat_id: int | None,
        user_id: int | None,
        lang: str,
        key: str | None = None,
        submitted_at: str = "",
    ) -> OutboxItem:
        """Store a submission (once per key) and commit; returns the stored item. `submitted_at` is when the person
        confirmed it (ISO 8601)."""
        key = key or str(uuid.uuid4())
        now = self.clock()
        await self.conn.execute(
            "INSERT INTO outbox (idempotency_key, kind, payload, chat_id, user_id, lang, created_at, next_attempt_at,"
            " submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING",
            (key, kind, json.dumps(payload, ensure_ascii=False), chat_id, user_id, lang, now, now, submitted_at),
        )
        await self.conn.commit()
        item = await self.get(key)
        if item is None:  # already delivered or dead-lettered under this key: rebuild it for the caller
            return OutboxItem(0, key, kind, payload, chat_id, user_id, lang, now, 0, submitted_at)
        return item

    async def get(self, key: str) -> OutboxItem | None:
        async with self.conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE idempotency_key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return OutboxItem.from_row(row) if row else None

    async def due(self, now: float | None = None, limit: int = 100, *, force: bool = False) -> list[OutboxItem]:
        """Items whose next attempt is due (all of them with `force`), oldest first."""
        now = self.clock() if now is None else now
        sql = f"SELECT {_COLUMNS} FROM outbox"
        args: tuple[Any, ...] = ()
        if not force:
            sql += " WHERE next_attempt_at <= ?"
            args = (now,)
        async with self.conn.execute(f"{sql} ORDER BY seq LIMIT ?", (*args, limit)) as cur:
            return [OutboxItem.from_row(r) for r in await cur.fetchall()]

    async def next_due_at(self) -> float | None:
        async with self.conn.execute("SELECT MIN(next_attempt_at) FROM outbox") as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def pending(self, user_id: int | None = None) -> list[OutboxItem]:
        sql, args = f"SELECT {_COLUMNS} FROM outbox", ()
        if user_id is not None:
            sql, args = f"{sql} WHERE user_id = ?", (user_id,)
        async with self.conn.execute(f"{sql} ORDER BY seq", args) as cur:
            return [OutboxItem.from_row(r) for r in await cur.fetchall()]

    async def mark_delivered(self, key: str, server_id: str = "") -> bool:
        """Move an item out of the queue; False when it was no longer queued (someone else finished it)."""
        cur = await self.conn.execute(
            "DELETE FROM outbox WHERE idempotency_key = ? RETURNING kind, user_id, submitted_at, payload", (key,)
        )
        row = await cur.fetchone()
        await cur.close()
        if row:
            answers = json.loads(row[3]).get("answers") or {}
            detail = {k: answers[k] for k in DETAIL_KEYS if isinstance(answers, dict) and answers.get(k)}
            await self.conn.execute(
                "INSERT OR REPLACE INTO delivered (idempotency_key, kind, user_id, server_id, delivered_at,"
                " submitted_at, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, row[0], row[1], server_id, self.clock(), row[2], json.dumps(detail, ensure_ascii=False)),
            )
        await self.conn.commit()
        return row is not None

    async def dead_letter(self, key: str, status: int, problem: dict[str, Any]) -> bool:
        """Move a refused item to the dead-letter table (same transaction); False when it was no longer queued."""
        item = await self.get(key)
        if item is None:
            return False
        await self.conn.execute(
            "INSERT OR REPLACE INTO dead_letter (idempotency_key, kind, payload, chat_id, user_id, lang, created_at,"
            " submitted_at, failed_at, status, problem) SELECT idempotency_key, kind, payload, chat_id, user_id,"
            " lang, created_at, submitted_at, ?, ?, ? FROM outbox WHERE idempotency_key = ?",
            (self.clock(), status, json.dumps(problem, ensure_ascii=False), key),
        )
        await self.conn.execute("DELETE FROM outbox WHERE idempotency_key = ?", (key,))
        await self.conn.commit()
        return True

    async def reschedule(self, keys: list[str], next_attempt_at: float, error: str) -> None:
        await self.conn.executemany(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE idempotency_key = ?",
            [(next_attempt_at, error[:500], key) for key in keys],
        )
        await self.conn.commit()

    async def dead_letters(self, user_id: int | None = None) -> list[DeadLetter]:
        sql, args = "SELECT idempotency_key, kind, user_id, status, problem FROM dead_letter", ()
        if user_id is not None:
            sql, args = f"{sql} WHERE user_id = ?", (user_id,)
        async with self.conn.execute(f"{sql} ORDER BY failed_at", args) as cur:
            rows = await cur.fetchall()
        return [DeadLetter(r[0], r[1], r[2], r[3], json.loads(r[4])) for r in rows]

    async def dead_letter_of(self, key: str) -> DeadLetter | None:
        async with self.conn.execute(
            "SELECT idempotency_key, kind, user_id, status, problem FROM dead_letter WHERE idempotency_key = ?", (key,)
        ) as cur:
            r = await cur.fetchone()
        return DeadLetter(r[0], r[1], r[2], r[3], json.loads(r[4])) if r else None

    async def requeue_dead(self, refs: list[str] | None = None) -> int:
        """Move dead letters back to the queue (after the cause was fixed on the server); all when `refs` is None.
        A ref is the key or its short form shown to users."""
        dead = await self.dead_letters()
        chosen = [
            d.key for d in dead if refs is None or d.key in refs or d.key[:8].upper() in {r.upper() for r in refs}
        ]
        now = self.clock()
        for key in chosen:
            await self.conn.execute(
                "INSERT INTO outbox (idempotency_key, kind, payload, chat_id, user_id, lang, created_at,"
                " submitted_at, next_attempt_at) SELECT idempotency_key, kind, payload, chat_id, user_id, lang,"
                " created_at, submitted_at, ? FROM dead_letter"
                " WHERE idempotency_key = ? ON CONFLICT (idempotency_key) DO NOTHING",
                (now, key),
            )
            await self.conn.execute("DELETE FROM dead_letter WHERE idempotency_key = ?", (key,))
        await self.conn.commit()
        return len(chosen)

    async def delivered_of(self, user_id: int) -> dict[str, Delivered]:
        """A user's delivered submissions by the id the server gave them."""
        async with self.conn.execute(
            "SELECT idempotency_key, kind, server_id, submitted_at, detail FROM delivered"
            " WHERE user_id = ? AND server_id != ''",
            (user_id,),
        ) as cur:
            rows = await cur.fetchall()
        return {r[2]: Delivered(r[0], r[1], r[2], r[3], json.loads(r[4] or "{}")) for r in rows}

    async def delivered_count(self) -> int:
        async with self.conn.execute("SELECT COUNT(*) FROM delivered") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
