"""User management for admins (`/users/`): CRUD, validation, self-protection, and sessions ended on changes."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.schema import AuditLog, RefreshToken
from tests.dashboard_support import API, PASSWORD, Account, admin, login, viewer

__all__ = ["admin", "viewer"]

USERS = f"{API}/users/"


async def test_admin_manages_users(client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account) -> None:
    created = await client.post(
        USERS, json={"email": "New@Example.com", "password": "long-password", "role": "viewer"}, headers=admin.auth
    )
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["email"] == "new@example.com" and user["is_active"] is True and "password" not in str(user)
    listed = (await client.get(f"{USERS}?role=viewer", headers=admin.auth)).json()
    assert [u["email"] for u in listed["results"]] == ["new@example.com"]
    path = f"{USERS}{user['id']}"
    promoted = await client.patch(path, json={"role": "admin", "first_name": "Nora"}, headers=admin.auth)
    assert promoted.json()["role"] == "admin" and promoted.json()["full_name"] == "Nora"
    assert (await client.delete(path, headers=admin.auth)).status_code == 204
    assert (await client.get(path, headers=admin.auth)).status_code == 404
    audit = (
        await session.execute(
            select(AuditLog.action, AuditLog.after_data).where(
                AuditLog.entity_table == "app_user", AuditLog.action != "login"
            )
        )
    ).all()
    await session.commit()
    assert [a for a, _ in audit] == ["create", "update", "delete"]
    assert audit[0][1]["email"] == "[REDACTED]"


async def test_validation(client: AsyncTestClient[Litestar], admin: Account) -> None:
    weak = await client.post(USERS, json={"email": "w@example.com", "password": "short"}, headers=admin.auth)
    assert weak.status_code == 400 and weak.json()["code"] == "WEAK_PASSWORD"
    taken = await client.post(
        USERS, json={"email": "ADMIN@example.com", "password": "long-password"}, headers=admin.auth
    )
    assert taken.status_code == 409 and taken.json()["code"] == "EMAIL_TAKEN"
    role = await client.post(
        USERS, json={"email": "r@example.com", "password": "long-password", "role": "root"}, headers=admin.auth
    )
    assert role.status_code == 400 and role.json()["field"] == "$.role"


async def test_viewer_cannot_manage_users(client: AsyncTestClient[Litestar], viewer: Account) -> None:
    assert (await client.get(USERS, headers=viewer.auth)).status_code == 403
    assert (await client.get(USERS)).status_code == 401


async def test_admin_cannot_lock_themselves_out(client: AsyncTestClient[Litestar], admin: Account) -> None:
    path = f"{USERS}{admin.id}"
    for change in ({"role": "viewer"}, {"is_active": False}):
        response = await client.patch(path, json=change, headers=admin.auth)
        assert response.status_code == 409 and response.json()["code"] == "SELF_LOCKOUT"
    assert (await client.delete(path, headers=admin.auth)).status_code == 409
    assert (await client.patch(path, json={"last_name": "Still"}, headers=admin.auth)).status_code == 200


async def test_disabling_ends_sessions_at_once(
    client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account, viewer: Account
) -> None:
    await login(client, viewer.email, PASSWORD)
    client.cookies.clear()
    path = f"{USERS}{viewer.id}"
    assert (await client.get(f"{API}/auth/me", headers=viewer.auth)).status_code == 200  # checked moments ago
    assert (await client.get(USERS, headers=viewer.auth)).status_code == 403
    assert (await client.patch(path, json={"is_active": False}, headers=admin.auth)).status_code == 200
    assert (await client.get(f"{API}/auth/me", headers=viewer.auth)).status_code == 401
    live = await session.scalar(
        select(func.count())
        .select_from(RefreshToken)
        .where(RefreshToken.user_id == viewer.id, RefreshToken.revoked_at.is_(None))
    )
    await session.commit()
    assert live == 0
    refused = await client.post(f"{API}/auth/login", json={"email": viewer.email, "password": PASSWORD})
    assert refused.status_code == 400 and refused.json()["code"] == "INVALID_CREDENTIALS"
    # A role change takes effect on the next request, even with an unexpired token.
    await client.patch(path, json={"is_active": True, "role": "admin"}, headers=admin.auth)
    assert (await client.get(USERS, headers=viewer.auth)).status_code == 200
