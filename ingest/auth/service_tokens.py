"""Service tokens for the bots: issued as random strings, stored only as sha256 hashes, scoped to one bot."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.problems import ProblemError
from ingest.core.schema import SERVICES, ServiceToken, utcnow

TOKEN_BYTES = 32


def hash_token(raw: str) -> str:
    """sha256 hex of the raw token; the tokens are 256 random bits, so an unsalted fast hash is enough."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def new_raw_token(service: str) -> str:
    return f"{service}_{secrets.token_urlsafe(TOKEN_BYTES)}"


async def issue_token(
    session: AsyncSession, service: str, *, name: str = "", expires_days: int | None = None
) -> tuple[ServiceToken, str]:
    """A new token row and the raw token, which is shown once and never stored."""
    if service not in SERVICES:
        raise ProblemError(400, "INVALID_SERVICE", f"service must be one of {', '.join(SERVICES)}.", field="service")
    if expires_days is not None and expires_days <= 0:
        raise ProblemError(400, "INVALID_EXPIRY", "expires must be a positive number of days.", field="expires")
    raw = new_raw_token(service)
    expires_at = utcnow() + timedelta(days=expires_days) if expires_days else None
    token = ServiceToken(service=service, name=name, token_hash=hash_token(raw), expires_at=expires_at)
    session.add(token)
    await session.flush()
    return token, raw


async def list_tokens(session: AsyncSession) -> list[ServiceToken]:
    return list(await session.scalars(select(ServiceToken).order_by(ServiceToken.service, ServiceToken.created_at)))


async def revoke_token(session: AsyncSession, token_id: uuid.UUID) -> bool:
    """Revoke a token now; False when no unrevoked token has that id."""
    result = await session.execute(
        update(ServiceToken)
        .where(ServiceToken.id == token_id, ServiceToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), updated_at=utcnow())
    )
    return bool(result.rowcount)
