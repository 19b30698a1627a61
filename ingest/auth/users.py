"""Dashboard users: creation and lookup shared by the CLI and the API."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.passwords import hash_password
from ingest.core.problems import ProblemError
from ingest.core.schema import ROLES, User

MIN_PASSWORD_LENGTH = 8


def normalize_email(email: str) -> str:
    """Emails are compared case-insensitively: stored lower-case."""
    return email.strip().lower()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ProblemError(
            400, "WEAK_PASSWORD", f"The password needs at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    return await session.scalar(select(User).where(User.email == normalize_email(email)))


async def create_user(
    session: AsyncSession, *, email: str, password: str, role: str, first_name: str = "", last_name: str = ""
) -> User:
    """A new active user; 409 when the email is taken."""
    email = normalize_email(email)
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise ProblemError(400, "INVALID_EMAIL", "Give an email address such as name@example.com.", field="email")
    if role not in ROLES:
        raise ProblemError(400, "INVALID_ROLE", f"role must be one of {', '.join(ROLES)}.", field="role")
    check_password_strength(password)
    if await session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise ProblemError(409, "EMAIL_TAKEN", f"A user with email {email} already exists.", field="email")
    user = User(
        email=email, password_hash=hash_password(password), role=role, first_name=first_name, last_name=last_name
    )
    session.add(user)
    await session.flush()
    return user
