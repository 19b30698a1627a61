"""Service-token authentication of the bots (SPEC §4.1, RS §4.4 with its defects fixed).

`X-SERVICE-TOKEN` is hashed (sha256) and matched against the environment hashes (`SERVICE_TOKEN_BOT1_HASH` /
`..._BOT2_HASH`, compared in constant time) and against DB-issued tokens. A token works only on its own bot's paths.
Only the header counts: cookies and `Authorization` are never looked at here, so a stray one cannot break a bot call.

DB lookups are cached per process for `ttl` seconds (2 s by default): a revoked or expired token stops working on
every worker within that time, while a busy bot costs one token query every 2 s instead of one per request.
Expiry is checked on every request against the cached `expires_at`. `last_used_at` is written at most once a
minute per token, outside the request's transaction (so concurrent requests never queue on the token row).
"""

from __future__ import annotations

import hmac
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ingest.auth.service_tokens import hash_token
from ingest.core.problems import ProblemError
from ingest.core.reads import read_connection
from ingest.core.schema import ServiceToken, utcnow
from ingest.core.settings import Settings
from ingest.http.rate_limit import RateLimiter, make_store

TOKEN_HEADER = "x-service-token"
CACHE_TTL_S = 2.0
LAST_USED_EVERY = timedelta(minutes=1)
RATE_LIMIT_PER_MINUTE = 6000
MAX_TOKEN_CHARS = 512
_tokens = ServiceToken.__table__
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class ServiceCaller:
    """Who is calling: the bot, and the DB token's id (None for the environment hash)."""

    service: str
    token_id: uuid.UUID | None

    @property
    def rate_key(self) -> str:
        return f"service:{self.token_id or 'env-' + self.service}"


@dataclass(slots=True)
class _Cached:
    token_id: uuid.UUID
    service: str
    token_hash: str
    expires_at: datetime | None
    revoked: bool
    last_used_at: datetime | None
    fetched_at: float


def _forbidden(code: str, detail: str) -> ProblemError:
    return ProblemError(403, code, detail, field="X-SERVICE-TOKEN")


class TokenVerifier:
    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        *,
        ttl: float = CACHE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.ttl = ttl
        self.clock = clock
        # Only well-formed hashes count (`crm check` reports malformed ones); bytes keep compare_digest total.
        self.env_hashes = {
            service: h.strip().lower().encode()
            for service, h in (("bot1", settings.service_token_bot1_hash), ("bot2", settings.service_token_bot2_hash))
            if h and _SHA256_HEX.match(h.strip().lower())
        }
        self._cache: dict[str, _Cached] = {}

    async def verify(self, raw: str | None, allowed: Iterable[str]) -> ServiceCaller:
        """The caller of a request bearing `raw`, or a 403 problem (missing, invalid, expired, revoked, wrong bot)."""
        allowed = tuple(allowed)
        if not raw or not raw.strip():
            raise _forbidden("SERVICE_TOKEN_REQUIRED", "The X-SERVICE-TOKEN header is required.")
        raw = raw.strip()
        if len(raw) > MAX_TOKEN_CHARS:
            raise _forbidden("SERVICE_TOKEN_INVALID", "Invalid service token.")
        digest = hash_token(raw)
        caller = self._env_caller(digest) or await self._db_caller(digest)
        if caller is None:
            raise _forbidden("SERVICE_TOKEN_INVALID", "Invalid service token.")
        if caller.service not in allowed:
            raise _forbidden(
                "SERVICE_TOKEN_WRONG_BOT",
                f"This is a {caller.service} token; this endpoint needs a {' or '.join(allowed)} token.",
            )
        return caller

    def _env_caller(self, digest: str) -> ServiceCaller | None:
        # Every configured hash is compared, so the time taken does not depend on which one matched.
        matched = [s for s, h in self.env_hashes.items() if hmac.compare_digest(digest.encode(), h)]
        return ServiceCaller(matched[0], None) if matched else None

    async def _db_caller(self, digest: str) -> ServiceCaller | None:
        entry = self._cache.get(digest)
        if entry is None or self.clock() - entry.fetched_at > self.ttl:
            entry = await self._fetch(digest)
        if entry is None or not hmac.compare_digest(entry.token_hash.encode(), digest.encode()):
            return None
        if entry.revoked:
            raise _forbidden("SERVICE_TOKEN_REVOKED", "This service token has been revoked; issue a new one.")
        now = utcnow()
        if entry.expires_at is not None and entry.expires_at <= now:
            raise _forbidden("SERVICE_TOKEN_EXPIRED", "This service token has expired; issue a new one.")
        if entry.last_used_at is None or now - entry.last_used_at >= LAST_USED_EVERY:
            entry.last_used_at = now
            await self._touch(entry.token_id, now)
        return ServiceCaller(entry.service, entry.token_id)

    async def _fetch(self, digest: str) -> _Cached | None:
        async with read_connection(self.engine) as conn:
            row = (
                await conn.execute(
                    select(
                        _tokens.c.id,
                        _tokens.c.service,
                        _tokens.c.token_hash,
                        _tokens.c.expires_at,
                        _tokens.c.revoked_at,
                        _tokens.c.last_used_at,
                    ).where(_tokens.c.token_hash == digest)
                )
            ).first()
        if row is None:
            self._cache.pop(digest, None)
            return None
        entry = _Cached(
            row.id, row.service, row.token_hash, row.expires_at, row.revoked_at is not None, row.last_used_at, 0.0
        )
        entry.fetched_at = self.clock()
        self._cache[digest] = entry
        return entry

    async def _touch(self, token_id: uuid.UUID, now: datetime) -> None:
        """Record use in its own short transaction; the WHERE keeps it to one write a minute across processes."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(_tokens)
                .where(
                    _tokens.c.id == token_id,
                    or_(_tokens.c.last_used_at.is_(None), _tokens.c.last_used_at < now - LAST_USED_EVERY),
                )
                .values(last_used_at=now)
            )


class ServiceGate:
    """Authentication plus the per-token rate limit (never per IP: a bot sends everything from one address)."""

    def __init__(self, verifier: TokenVerifier, limiter: RateLimiter, per_minute: int = RATE_LIMIT_PER_MINUTE) -> None:
        self.verifier = verifier
        self.limiter = limiter
        self.per_minute = per_minute

    async def admit(self, connection: ASGIConnection[Any, Any, Any, Any], allowed: Iterable[str]) -> ServiceCaller:
        caller = await self.verifier.verify(connection.headers.get(TOKEN_HEADER), allowed)
        await self.limiter.hit(caller.rate_key, self.per_minute, 60, field="X-SERVICE-TOKEN")
        return caller


CALLER_STATE_KEY = "service_caller"
_GATE_KEY = "service_gate"


def gate_of(app: Litestar) -> ServiceGate:
    """The app's gate, created on first use from its database and settings (one per process)."""
    gate = app.state.get(_GATE_KEY)
    if gate is None:
        settings: Settings = app.state.settings
        verifier = TokenVerifier(app.state.db.engine, settings)
        gate = ServiceGate(verifier, RateLimiter(make_store(settings.redis_url)))
        app.state[_GATE_KEY] = gate
    return gate


def service_guard(*services: str) -> Callable[..., Any]:
    """A Litestar guard admitting only tokens of `services`; the caller is left in `connection.state`."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        connection.state[CALLER_STATE_KEY] = await gate_of(connection.app).admit(connection, services)

    return guard


def caller_of(connection: ASGIConnection[Any, Any, Any, Any]) -> ServiceCaller:
    return connection.state[CALLER_STATE_KEY]


bot1_only = service_guard("bot1")
bot2_only = service_guard("bot2")
either_bot = service_guard("bot1", "bot2")
