"""`crm up --demo`: demo users and bot tokens, created once and remembered in the data dir so every start prints the
same logins (the raw tokens exist nowhere else; the database keeps only hashes)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.passwords import hash_password
from ingest.auth.service_tokens import hash_token, issue_token
from ingest.auth.users import create_user, get_user_by_email
from ingest.core.schema import ServiceToken, User
from ingest.core.settings import Settings

DEMO_FILE = "demo-credentials.json"
DEMO_USERS = {"admin": "admin@example.com", "viewer": "viewer@example.com"}


def _load(path: Path) -> dict[str, str]:
    return json.loads(path.read_text()) if path.exists() else {}


def _save(path: Path, data: dict[str, str]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    os.replace(tmp, path)


async def _ensure_user(session: AsyncSession, role: str, email: str, password: str, set_hash: str | None) -> str:
    """The demo user with `password`; returns its password hash. `set_hash` is the hash this module set last time:
    while the user still has it the password is unchanged, and hashing it again (argon2, ~0.5 s a user) is skipped
    on every restart."""
    user: User | None = await get_user_by_email(session, email)
    if user is None:
        user = await create_user(
            session, email=email, password=password, role=role, first_name="Demo", last_name=role.title()
        )
    elif user.password_hash != set_hash:  # changed since (or never recorded): the printed password must work
        user.password_hash = hash_password(password)
    user.role, user.is_active = role, True
    return user.password_hash


async def ensure_demo_accounts(session: AsyncSession, settings: Settings) -> dict[str, str]:
    """Demo admin and viewer plus one token per bot; returns {admin_password, viewer_password, bot1, bot2}."""
    path = settings.data_dir / DEMO_FILE
    creds = _load(path)
    for role, email in DEMO_USERS.items():
        creds.setdefault(f"{role}_password", secrets.token_urlsafe(12))
        set_hash = creds.get(f"{role}_password_hash")
        creds[f"{role}_password_hash"] = await _ensure_user(session, role, email, creds[f"{role}_password"], set_hash)
    for service in ("bot1", "bot2"):
        known = creds.get(service)
        if known and await _token_exists(session, known):
            continue
        _, creds[service] = await issue_token(session, service, name="demo")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _save(path, creds)
    return creds


async def _token_exists(session: AsyncSession, raw: str) -> bool:
    found = await session.scalar(
        select(ServiceToken.id).where(ServiceToken.token_hash == hash_token(raw), ServiceToken.revoked_at.is_(None))
    )
    return found is not None
