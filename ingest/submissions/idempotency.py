"""Idempotency keys of service requests (SPEC §4.2): checks, request hashes, stored answers, in-flight locks, pruning.

The record of a key is written in the same transaction as the data it guards, so a key is either fully done (its
answer is stored) or unknown; there is no committed "in flight" state. A concurrent duplicate is detected on Postgres
by a transaction-scoped advisory lock on the key (`pg_try_advisory_xact_lock`: 409 while the first runs), and on
SQLite writers are serialised by BEGIN IMMEDIATE. The unique (service, key) constraint is the last line: an insert
that loses a race writes nothing (ON CONFLICT DO NOTHING) and the caller retries its transaction, then replays.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ingest.core.problems import ProblemError
from ingest.core.schema import IdempotencyRecord, utcnow
from ingest.core.upsert import dialect_insert

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEEP_DAYS = 7
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_table = IdempotencyRecord.__table__


def check_key(value: str, *, field: str = HEADER) -> str:
    """A key is 1-255 visible ASCII characters (bots send a UUID)."""
    if not _KEY.match(value):
        raise ProblemError(
            400,
            "INVALID_IDEMPOTENCY_KEY",
            f"{field} must be 1-255 visible ASCII characters (send a UUID).",
            field=field,
        )
    return value


def key_from_headers(headers: Mapping[str, str]) -> str | None:
    raw = headers.get(HEADER.lower())
    return None if raw is None else check_key(raw.strip())


def request_hash(kind: str, body: msgspec.Struct) -> str:
    """sha256 of the kind and the decoded body in a canonical form: key order and omitted defaults do not matter."""
    return hash_encoded(kind, msgspec.json.encode(body, order="sorted"))


def hash_encoded(kind: str, canonical: bytes) -> str:
    """`request_hash` from the body's canonical encoding (`msgspec.json.encode(body, order="sorted")`)."""
    digest = hashlib.sha256(kind.encode())
    digest.update(b"\n")
    digest.update(canonical)
    return digest.hexdigest()


def lock_id(service: str, key: str) -> int:
    """A signed 64-bit advisory lock id for one (service, key)."""
    raw = hashlib.sha256(f"idempotency\x00{service}\x00{key}".encode()).digest()[:8]
    return int.from_bytes(raw, "big", signed=True)


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    request_hash: str
    status: int
    body: dict[str, Any]
    entity_id: Any


async def try_lock_keys(conn: AsyncConnection, service: str, keys: Iterable[str]) -> set[str]:
    """Postgres: the keys whose advisory lock this transaction now holds (the others are in flight elsewhere).
    SQLite serialises writers, so every key is free."""
    keys = sorted(set(keys))
    if conn.dialect.name != "postgresql" or not keys:
        return set(keys)
    ids = [lock_id(service, k) for k in keys]
    rows = await conn.execute(
        text("SELECT k.i, pg_try_advisory_xact_lock(k.id) FROM unnest(:ids) WITH ORDINALITY AS k(id, i)"),
        {"ids": ids},
    )
    return {keys[int(i) - 1] for i, got in rows if got}


async def stored_answers(conn: AsyncConnection, service: str, keys: Iterable[str]) -> dict[str, StoredAnswer]:
    keys = list(set(keys))
    if not keys:
        return {}
    rows = await conn.execute(
        select(
            _table.c.key,
            _table.c.request_hash,
            _table.c.response_status,
            _table.c.response_body,
            _table.c.entity_id,
        ).where(_table.c.service == service, _table.c.key.in_(keys))
    )
    return {r.key: StoredAnswer(r.request_hash, r.response_status, r.response_body, r.entity_id) for r in rows}


def record_row(
    *,
    service: str,
    key: str,
    request_hash: str,
    status: int,
    body: dict[str, Any],
    entity_table: str,
    entity_id: Any,
) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "service": service,
        "key": key,
        "request_hash": request_hash,
        "state": "done",
        "response_status": status,
        "response_body": body,
        "entity_table": entity_table,
        "entity_id": entity_id,
    }


async def insert_records(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """Insert the answers; returns how many were new (fewer means a concurrent request stored a key first)."""
    if not rows:
        return 0
    stmt = dialect_insert(conn, _table).on_conflict_do_nothing(index_elements=["service", "key"])
    result = await conn.execute(stmt.returning(_table.c.key), rows)
    return len(result.all())


def reused_problem() -> ProblemError:
    return ProblemError(
        422,
        "IDEMPOTENCY_KEY_REUSED",
        "This Idempotency-Key was already used with a different request; send a new key for a new request.",
        field=HEADER,
    )


def in_flight_problem() -> ProblemError:
    return ProblemError(
        409,
        "IDEMPOTENCY_KEY_IN_FLIGHT",
        "A request with this Idempotency-Key is still being processed; retry shortly to get its answer.",
        field=HEADER,
        headers={"Retry-After": "1"},
    )


async def prune_idempotency(session: AsyncSession, older_than_days: int = KEEP_DAYS) -> int:
    """Delete keys older than `older_than_days` (SPEC §4.2 keeps them at least 7 days); returns how many."""
    cutoff = utcnow() - timedelta(days=older_than_days)
    result = await session.execute(delete(_table).where(_table.c.created_at < cutoff))
    return int(result.rowcount or 0)
