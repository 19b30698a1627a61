"""Dashboard auth (SPEC §5, RS §3.3/§4 and the RS §11 tests): login/me, cookies and Bearer, CSRF, refresh rotation
with reuse detection, logout revoking both tokens, throttling, disabled users."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.stores.memory import MemoryStore
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm.app import create_app
from ingest.auth.guards import AUTH_CACHE_SECONDS, auth_cache
from ingest.auth.jwt_tokens import Claims, decode, encode, secret_of
from ingest.auth.login_throttle import RollingLimit
from ingest.core.schema import AuditLog, RefreshToken, RevokedToken, User, utcnow
from ingest.core.settings import Settings
from tests.dashboard_support import API, PASSWORD, add_user, https_client, login

__all__ = ["https_client"]


def csrf(client: AsyncTestClient[Litestar]) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies["csrf_token"]}


def set_cookies(response: httpx.Response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


async def test_login_and_me_with_cookies(https_client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    await add_user(session, "ada@example.com", "admin", first_name="Ada", last_name="Lovelace")
    response = await https_client.post(f"{API}/auth/login", json={"email": "Ada@Example.com", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"user", "access", "expires_in"}  # the refresh token never appears in a body
    assert body["expires_in"] == 900
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["role"] == "admin"
    assert body["user"]["full_name"] == "Ada Lovelace"
    cookies = set_cookies(response)
    assert "HttpOnly" in cookies["access_token"] and "Secure" in cookies["access_token"]
    assert "Max-Age=900" in cookies["access_token"]
    assert "HttpOnly" in cookies["refresh_token"] and "Path=/api/v1/auth" in cookies["refresh_token"]
    assert "Max-Age=604800" in cookies["refresh_token"]
    assert "HttpOnly" not in cookies["csrf_token"]  # the page reads it to echo it in X-CSRF-Token

    me = await https_client.get(f"{API}/auth/me")
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com" and me.json()["role"] == "admin"


async def test_bearer_and_anonymous(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    await add_user(session, "v@example.com", "viewer")
    body = await login(client, "v@example.com")
    client.cookies.clear()
    anonymous = await client.get(f"{API}/auth/me")
    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "NOT_AUTHENTICATED"
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    me = await client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {body['access']}"})
    assert me.status_code == 200 and me.json()["role"] == "viewer"


async def test_cookies_not_secure_in_dev(settings: Settings, session: AsyncSession) -> None:
    await add_user(session, "dev@example.com", "viewer")
    app = create_app(msgspec.structs.replace(settings, env="dev"))
    async with AsyncTestClient(app=app) as client:
        response = await client.post(f"{API}/auth/login", json={"email": "dev@example.com", "password": PASSWORD})
    assert response.status_code == 200
    assert all("Secure" not in h for h in set_cookies(response).values())


async def test_same_answer_for_unknown_email_wrong_password_and_disabled(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    await add_user(session, "known@example.com", "viewer")
    await add_user(session, "off@example.com", "viewer")
    await session.execute(update(User).where(User.email == "off@example.com").values(is_active=False))
    await session.commit()
    answers = []
    for email, password in [
        ("known@example.com", "wrong-password"),
        ("nobody@example.com", "wrong-password"),
        ("off@example.com", PASSWORD),
    ]:
        response = await client.post(f"{API}/auth/login", json={"email": email, "password": password})
        body = response.json()
        answers.append((response.status_code, body["code"], body["detail"]))
        assert "set-cookie" not in response.headers
    assert answers == [(400, "INVALID_CREDENTIALS", "Wrong e-mail or password.")] * 3


async def test_login_body_is_validated(client: AsyncTestClient[Litestar]) -> None:
    response = await client.post(f"{API}/auth/login", json={"email": "a@b.c", "password": "x", "remember": True})
    assert response.status_code == 400
    assert response.json()["field"] == "$.remember"
    response = await client.post(f"{API}/auth/login", json={"email": "a@b.c"})
    assert response.status_code == 400


def freeze_login_clock(app: Litestar) -> None:
    """The login limit on a stopped clock, so slow password hashing cannot let an attempt regain credit."""
    app.state["login_limit"] = RollingLimit(MemoryStore(), 10, 60, clock=lambda: 1_000_000.0)


def client_at(app: Litestar, ip: str) -> httpx.AsyncClient:
    """A client whose socket peer is `ip` (the app's lifespan must already run in a test client)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 40000)), base_url="http://test")


async def test_login_throttled_per_email(
    app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    await add_user(session, "target@example.com", "viewer")
    freeze_login_clock(app)
    statuses = []
    for i in range(11):  # each attempt from another address: only the per-email limit can stop them
        async with client_at(app, f"10.0.0.{i + 1}") as c:
            r = await c.post(f"{API}/auth/login", json={"email": "target@example.com", "password": "guess"})
            statuses.append(r.status_code)
    assert statuses == [400] * 10 + [429]
    assert int(r.headers["Retry-After"]) >= 1
    assert r.json()["code"] == "RATE_LIMITED" and r.json()["field"] == "email"
    # Even the right password is refused while the e-mail is throttled.
    async with client_at(app, "10.0.1.1") as c:
        r = await c.post(f"{API}/auth/login", json={"email": "target@example.com", "password": PASSWORD})
    assert r.status_code == 429


async def test_login_throttled_per_ip(app: Litestar, client: AsyncTestClient[Litestar]) -> None:
    freeze_login_clock(app)
    statuses = []
    async with client_at(app, "192.0.2.7") as c:
        for i in range(11):
            r = await c.post(f"{API}/auth/login", json={"email": f"u{i}@example.com", "password": "guess"})
            statuses.append(r.status_code)
    assert statuses == [400] * 10 + [429]
    async with client_at(app, "192.0.2.8") as other:
        r = await other.post(f"{API}/auth/login", json={"email": "u0@example.com", "password": "guess"})
    assert r.status_code == 400


async def test_refresh_rotates_and_reuse_revokes_the_family(
    https_client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    await add_user(session, "r@example.com", "viewer")
    await login(https_client, "r@example.com")
    first_refresh = https_client.cookies["refresh_token"]

    rotated = await https_client.post(f"{API}/auth/refresh", headers=csrf(https_client))
    assert rotated.status_code == 200
    assert set(rotated.json()) == {"user", "access", "expires_in"}
    second_refresh = https_client.cookies["refresh_token"]
    assert second_refresh != first_refresh
    me = await https_client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {rotated.json()['access']}"})
    assert me.status_code == 200

    # A stolen copy of the first token is replayed: refused, and the whole session dies with it.
    token = https_client.cookies["csrf_token"]
    https_client.cookies.set("refresh_token", first_refresh, domain="testserver.local", path="/api/v1/auth")
    replay = await https_client.post(f"{API}/auth/refresh", headers={"X-CSRF-Token": token})
    assert replay.status_code == 401 and replay.json()["code"] == "TOKEN_REUSED"
    assert "Max-Age=0" in set_cookies(replay)["refresh_token"]  # the browser's session is over
    https_client.cookies.set("refresh_token", second_refresh, domain="testserver.local", path="/api/v1/auth")
    https_client.cookies.set("csrf_token", token, domain="testserver.local")
    legit = await https_client.post(f"{API}/auth/refresh", headers={"X-CSRF-Token": token})
    assert legit.status_code == 401
    revoked = await session.scalar(
        select(func.count()).select_from(RefreshToken).where(RefreshToken.revoked_at.is_not(None))
    )
    assert revoked == 2


async def test_refresh_needs_cookie_and_csrf(https_client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    missing = await https_client.post(f"{API}/auth/refresh")
    assert missing.status_code == 401 and missing.json()["code"] == "NOT_AUTHENTICATED"
    await add_user(session, "c@example.com", "viewer")
    await login(https_client, "c@example.com")
    no_csrf = await https_client.post(f"{API}/auth/refresh")
    assert no_csrf.status_code == 403 and no_csrf.json()["code"] == "CSRF_FAILED"
    wrong = await https_client.post(f"{API}/auth/refresh", headers={"X-CSRF-Token": "forged"})
    assert wrong.status_code == 403
    https_client.cookies.set("refresh_token", "not-a-jwt", domain="testserver.local", path="/api/v1/auth")
    garbage = await https_client.post(f"{API}/auth/refresh", headers=csrf(https_client))
    assert garbage.status_code == 401 and garbage.json()["code"] == "TOKEN_INVALID"


async def test_refresh_rechecks_the_user(https_client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    await add_user(session, "gone@example.com", "viewer")
    body = await login(https_client, "gone@example.com")
    await session.execute(update(User).where(User.email == "gone@example.com").values(is_active=False))
    await session.commit()
    refused = await https_client.post(f"{API}/auth/refresh", headers=csrf(https_client))
    assert refused.status_code == 401
    # The disabled user's still-unexpired access token stops working at once as well.
    me = await https_client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {body['access']}"})
    assert me.status_code == 401


async def test_logout_revokes_access_cookie(
    app: Litestar, https_client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    """RS §11 test_logout_revokes_access_cookie: the old access cookie is refused after logout."""
    await add_user(session, "out@example.com", "viewer")
    await login(https_client, "out@example.com")
    access = https_client.cookies["access_token"]
    refresh = https_client.cookies["refresh_token"]
    csrf_token = https_client.cookies["csrf_token"]
    out = await https_client.post(f"{API}/auth/logout", headers=csrf(https_client))
    assert out.status_code == 200 and out.json() == {"success": True}
    assert all("Max-Age=0" in h for h in set_cookies(out).values())
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as fresh:
        fresh.cookies.set("access_token", access, domain="testserver.local")
        assert (await fresh.get(f"{API}/auth/me")).status_code == 401
        fresh.cookies.set("refresh_token", refresh, domain="testserver.local", path="/api/v1/auth")
        fresh.cookies.set("csrf_token", csrf_token, domain="testserver.local")
        again = await fresh.post(f"{API}/auth/refresh", headers={"X-CSRF-Token": csrf_token})
        assert again.status_code == 401
    audit = (await session.execute(select(AuditLog.action, AuditLog.after_data).order_by(AuditLog.created_at))).all()
    assert [a for a, _ in audit] == ["login", "logout"]
    assert audit[0][1] == {"user": "[REDACTED]"}


async def test_logout_with_bearer_revokes_it(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    await add_user(session, "b@example.com", "viewer")
    body = await login(client, "b@example.com")
    client.cookies.clear()
    auth = {"Authorization": f"Bearer {body['access']}"}
    assert (await client.post(f"{API}/auth/logout", headers=auth)).status_code == 200
    assert (await client.get(f"{API}/auth/me", headers=auth)).status_code == 401
    assert await session.scalar(select(func.count()).select_from(RevokedToken)) == 1
    anonymous = await client.post(f"{API}/auth/logout")
    assert anonymous.status_code == 401


async def test_logout_refuses_a_recently_checked_token_at_once(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    """The guard keeps a check per token for a few seconds; a logout in this process still applies at once."""
    await add_user(session, "seen@example.com", "viewer")
    body = await login(client, "seen@example.com")
    client.cookies.clear()
    auth = {"Authorization": f"Bearer {body['access']}"}
    for _ in range(2):
        assert (await client.get(f"{API}/auth/me", headers=auth)).status_code == 200
    assert (await client.post(f"{API}/auth/logout", headers=auth)).status_code == 200
    me = await client.get(f"{API}/auth/me", headers=auth)
    assert me.status_code == 401 and "revoked" in me.json()["detail"]


async def test_changes_made_elsewhere_apply_within_the_cache_bound(
    app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    """A deactivation or revocation written by another process (here: straight into the database) is seen once this
    process's check of the token is AUTH_CACHE_SECONDS old; the clock is moved instead of waiting."""
    await add_user(session, "far@example.com", "viewer")
    await add_user(session, "far2@example.com", "viewer")
    disabled = {"Authorization": f"Bearer {(await login(client, 'far@example.com'))['access']}"}
    revoked_body = await login(client, "far2@example.com")
    revoked = {"Authorization": f"Bearer {revoked_body['access']}"}
    client.cookies.clear()
    for auth in (disabled, revoked):
        assert (await client.get(f"{API}/auth/me", headers=auth)).status_code == 200
    await session.execute(update(User).where(User.email == "far@example.com").values(is_active=False))
    claims = decode(revoked_body["access"], secret_of(app), "access")
    session.add(RevokedToken(jti=claims.jti, token_type="access", expires_at=claims.expires_at))
    await session.commit()
    cache = auth_cache(app)
    now = cache.clock()
    cache.clock = lambda: now + AUTH_CACHE_SECONDS
    assert (await client.get(f"{API}/auth/me", headers=disabled)).status_code == 401
    me = await client.get(f"{API}/auth/me", headers=revoked)
    assert me.status_code == 401 and "revoked" in me.json()["detail"]


async def test_logout_after_access_expired_still_ends_the_session(
    https_client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    user_id = await add_user(session, "late@example.com", "viewer")
    await login(https_client, "late@example.com")
    expired = encode(
        Claims(subject=user_id, jti=uuid.uuid4().hex, token_type="access", expires_at=utcnow() - timedelta(minutes=1)),
        settings.effective_secret_key(),
    )
    https_client.cookies.set("access_token", expired, domain="testserver.local")
    out = await https_client.post(f"{API}/auth/logout", headers=csrf(https_client))
    assert out.status_code == 200
    families = await session.scalar(
        select(func.count()).select_from(RefreshToken).where(RefreshToken.revoked_at.is_(None))
    )
    assert families == 0


async def test_bad_tokens_are_refused(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    user_id = await add_user(session, "t@example.com", "admin")
    secret = settings.effective_secret_key()
    forged = encode(
        Claims(subject=user_id, jti="x", token_type="access", expires_at=utcnow() + timedelta(minutes=5)),
        "another-secret-of-sufficient-length-1234",
    )
    refresh_as_access = encode(
        Claims(
            subject=user_id,
            jti=str(uuid.uuid4()),
            token_type="refresh",
            expires_at=utcnow() + timedelta(days=1),
            family_id=uuid.uuid4(),
        ),
        secret,
    )
    for token in (forged, refresh_as_access, "garbage", ""):
        response = await client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.json()["code"] == "NOT_AUTHENTICATED"


async def test_csrf_needed_for_cookie_writes_not_for_bearer(
    https_client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    await add_user(session, "boss@example.com", "admin")
    other = await add_user(session, "other@example.com", "viewer")
    body = await login(https_client, "boss@example.com")
    path = f"{API}/users/{other}"
    no_header = await https_client.patch(path, json={"first_name": "X"})
    assert no_header.status_code == 403 and no_header.json()["code"] == "CSRF_FAILED"
    with_header = await https_client.patch(path, json={"first_name": "X"}, headers=csrf(https_client))
    assert with_header.status_code == 200
    https_client.cookies.clear()
    bearer = await https_client.patch(
        path, json={"first_name": "Y"}, headers={"Authorization": f"Bearer {body['access']}"}
    )
    assert bearer.status_code == 200
    # Reads never need the header.
    await login(https_client, "boss@example.com")
    assert (await https_client.get(f"{API}/users/")).status_code == 200


async def test_stale_bearer_falls_back_to_the_cookie(
    https_client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    """RS §12: an invalid Bearer header no longer hides a valid cookie session."""
    await add_user(session, "fb@example.com", "viewer")
    await login(https_client, "fb@example.com")
    me = await https_client.get(f"{API}/auth/me", headers={"Authorization": "Bearer expired.or.junk"})
    assert me.status_code == 200 and me.json()["email"] == "fb@example.com"


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "Bearer a.b.c"])
async def test_invalid_header_falls_back_to_nothing(client: AsyncTestClient[Litestar], header: str) -> None:
    response = await client.get(f"{API}/auth/me", headers={"Authorization": header})
    assert response.status_code == 401
