"""Sessions tied to the password (issue 17, finding 5 of the attack list): a password change, by an admin or by the
user themselves, ends every access token issued before it at once, as logout does, however the token is sent and
even when this process checked it moments ago; the new password starts new sessions."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.jwt_tokens import ACCESS_TTL, Claims, encode
from ingest.auth.passwords import hash_password
from ingest.core.schema import User, utcnow
from tests.dashboard_support import API, PASSWORD, Account, admin, https_client, login, viewer

__all__ = ["admin", "https_client", "viewer"]

ME = f"{API}/auth/me"
USERS = f"{API}/users/"
NEW_PASSWORD = "a-new-password-99"


async def test_an_admin_changing_a_password_ends_every_access_token_at_once(
    client: AsyncTestClient[Litestar],
    https_client: AsyncTestClient[Litestar],
    admin: Account,
    viewer: Account,
) -> None:
    # the attacker's stolen Bearer token, and the victim's own browser session (cookies)
    stolen = {"Authorization": f"Bearer {viewer.access}"}
    await login(https_client, viewer.email)
    assert (await client.get(ME, headers=stolen)).status_code == 200  # checked (and cached) a moment ago
    assert (await https_client.get(ME)).status_code == 200
    changed = await client.patch(f"{USERS}{viewer.id}", json={"password": NEW_PASSWORD}, headers=admin.auth)
    assert changed.status_code == 200, changed.text
    refused = await client.get(ME, headers=stolen)
    assert refused.status_code == 401 and "password has changed" in refused.json()["detail"]
    assert (await https_client.get(ME)).status_code == 401  # the cookie session too
    assert (await https_client.post(f"{API}/auth/refresh", headers=_csrf(https_client))).status_code == 401
    fresh = await login(client, viewer.email, NEW_PASSWORD)
    assert (await client.get(ME, headers={"Authorization": f"Bearer {fresh['access']}"})).status_code == 200
    assert (await client.get(ME, headers=admin.auth)).status_code == 200  # nobody else is logged out


async def test_changing_your_own_password_ends_your_other_sessions(
    client: AsyncTestClient[Litestar], admin: Account
) -> None:
    other = await login(client, admin.email)  # the same admin on another device
    client.cookies.clear()
    other_auth = {"Authorization": f"Bearer {other['access']}"}
    assert (await client.get(ME, headers=other_auth)).status_code == 200
    changed = await client.patch(f"{USERS}{admin.id}", json={"password": NEW_PASSWORD}, headers=admin.auth)
    assert changed.status_code == 200, changed.text
    assert (await client.get(ME, headers=other_auth)).status_code == 401
    assert (await client.get(ME, headers=admin.auth)).status_code == 401  # the token that made the change too
    old = await client.post(f"{API}/auth/login", json={"email": admin.email, "password": PASSWORD})
    assert old.json()["code"] == "INVALID_CREDENTIALS"  # the old password is refused
    await login(client, admin.email, NEW_PASSWORD)


async def test_a_password_changed_elsewhere_ends_tokens_this_process_has_not_seen(
    client: AsyncTestClient[Litestar], session: AsyncSession, viewer: Account
) -> None:
    await session.execute(update(User).where(User.id == viewer.id).values(password_hash=hash_password(NEW_PASSWORD)))
    await session.commit()  # as the CLI, another API worker or SQL would
    assert (await client.get(ME, headers=viewer.auth)).status_code == 401


async def test_an_access_token_without_the_password_stamp_is_refused(
    client: AsyncTestClient[Litestar], app: Litestar, viewer: Account
) -> None:
    """A token of the old shape (signed with the real key, but tied to no password) is not accepted any more."""
    claims = Claims(viewer.id, "old-shape", "access", utcnow() + ACCESS_TTL, role="viewer")
    token = encode(claims, app.state.settings.effective_secret_key())
    assert (await client.get(ME, headers={"Authorization": f"Bearer {token}"})).status_code == 401


def _csrf(client: AsyncTestClient[Litestar]) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies.get("csrf_token") or ""}
