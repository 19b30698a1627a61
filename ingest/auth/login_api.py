"""Dashboard login, refresh, logout and me (SPEC §5, RS §3.3/§4 with the defects of RS §13 "Security" fixed).

- login answers `{user, access, expires_in}` and sets three cookies: `access_token` (HttpOnly), `refresh_token`
  (HttpOnly, only sent to /api/v1/auth) and `csrf_token` (readable by the page, echoed as `X-CSRF-Token`);
- refresh reads only the cookie, rotates the refresh token on every use and, when a used token comes back, revokes
  its whole family (someone replayed a stolen copy); it re-checks that the user is still active;
- logout revokes the access token (Bearer or cookie) and the refresh token's family, even if the access token has
  already expired; this process refuses the access token at once, other processes within `AUTH_CACHE_SECONDS`;
- login is throttled per IP and per e-mail (10/min) and answers the same for an unknown e-mail, a wrong password
  and a disabled account, in about the same time.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import Meta
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.audit.dashboard import audit_user_action
from ingest.auth.guards import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    REFRESH_COOKIE,
    auth_cache,
    bearer_token,
    check_csrf,
    current_user,
    forget_user,
    requires_viewer,
)
from ingest.auth.jwt_tokens import (
    ACCESS_TTL,
    REFRESH_TTL,
    Claims,
    TokenInvalid,
    decode,
    new_access,
    new_refresh,
    secret_of,
)
from ingest.auth.login_throttle import ATTEMPTS_PER_MINUTE, RollingLimit
from ingest.auth.passwords import hash_password, needs_rehash, verify_password
from ingest.auth.users import normalize_email
from ingest.core.problems import ProblemError, problem_response
from ingest.core.schema import RefreshToken, RevokedToken, User, utcnow
from ingest.core.settings import Settings
from ingest.core.upsert import dialect_insert
from ingest.http.client_ip import client_ip
from ingest.http.rate_limit import make_store

LOGIN_LIMIT_PER_MINUTE = ATTEMPTS_PER_MINUTE
REFRESH_COOKIE_PATH = "/api/v1/auth"
_LIMITER_KEY = "login_limit"
_DUMMY_HASH: list[str] = []


class LoginIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Annotated[str, Meta(min_length=1, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=1024)]


class UserOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    role: str
    first_name: str
    last_name: str
    full_name: str
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TokenOut(msgspec.Struct, kw_only=True):
    """`access` is also set as the HttpOnly `access_token` cookie; the refresh token only ever travels as a cookie."""

    user: UserOut
    access: str
    expires_in: int


class LogoutOut(msgspec.Struct, kw_only=True):
    success: bool


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        role=user.role,
        first_name=user.first_name,
        last_name=user.last_name,
        full_name=f"{user.first_name} {user.last_name}".strip(),
        is_active=user.is_active,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


# --- cookies -----------------------------------------------------------------------------------------------------


def _cookie(response: Response[Any], settings: Settings, key: str, value: str, max_age: int, **kw: Any) -> None:
    response.set_cookie(
        key, value, max_age=max_age, secure=settings.cookies_secure, samesite="lax", **{"path": "/", **kw}
    )


def set_session_cookies(response: Response[Any], settings: Settings, access: str, refresh: str, csrf: str) -> None:
    _cookie(response, settings, ACCESS_COOKIE, access, int(ACCESS_TTL.total_seconds()), httponly=True)
    _cookie(
        response,
        settings,
        REFRESH_COOKIE,
        refresh,
        int(REFRESH_TTL.total_seconds()),
        httponly=True,
        path=REFRESH_COOKIE_PATH,
    )
    _cookie(response, settings, CSRF_COOKIE, csrf, int(REFRESH_TTL.total_seconds()), httponly=False)


def clear_session_cookies(response: Response[Any], settings: Settings) -> None:
    _cookie(response, settings, ACCESS_COOKIE, "", 0, httponly=True)
    _cookie(response, settings, REFRESH_COOKIE, "", 0, httponly=True, path=REFRESH_COOKIE_PATH)
    _cookie(response, settings, CSRF_COOKIE, "", 0, httponly=False)


# --- helpers -----------------------------------------------------------------------------------------------------


def limiter_of(request: Request[Any, Any, Any]) -> RollingLimit:
    """The app's login limit (one store per app; Redis when configured, so every worker shares the counts)."""
    limiter = request.app.state.get(_LIMITER_KEY)
    if limiter is None:
        store = make_store(request.app.state.settings.redis_url)
        limiter = RollingLimit(store, LOGIN_LIMIT_PER_MINUTE, 60)
        request.app.state[_LIMITER_KEY] = limiter
    return limiter


async def _throttle_login(request: Request[Any, Any, Any], email: str) -> None:
    settings: Settings = request.app.state.settings
    limiter = limiter_of(request)
    ip = client_ip(request, settings.trusted_proxies) or "unknown"
    # The e-mail is hashed so that no address ends up as a key in Redis.
    email_key = hashlib.sha256(email.encode()).hexdigest()[:32]
    await limiter.hit(f"login-ip:{ip}")
    await limiter.hit(f"login-email:{email_key}", field="email")


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(16)))
    return _DUMMY_HASH[0]


async def _password_ok(user: User | None, password: str) -> bool:
    """Verify off the event loop; an unknown e-mail costs the same argon2 work as a wrong password."""
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = await anyio.to_thread.run_sync(verify_password, stored, password)
    return ok and user is not None and user.is_active


async def _start_refresh(session: AsyncSession, user: User, secret: str, family: uuid.UUID | None = None) -> str:
    """Store a new refresh token (a new family at login, the same family on rotation) and return its JWT."""
    token_id = uuid.uuid4()
    raw, claims = new_refresh(user.id, family or uuid.uuid4(), token_id, secret)
    session.add(RefreshToken(id=token_id, user_id=user.id, family_id=claims.family_id, expires_at=claims.expires_at))
    await session.flush()
    return raw


def _session_response(
    request: Request[Any, Any, Any], user: User, refresh: str, csrf: str | None = None
) -> Response[TokenOut]:
    settings: Settings = request.app.state.settings
    access, _ = new_access(user.id, user.role, secret_of(request.app))
    response = Response(TokenOut(user=user_out(user), access=access, expires_in=int(ACCESS_TTL.total_seconds())))
    set_session_cookies(response, settings, access, refresh, csrf or secrets.token_urlsafe(32))
    return response


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def _refused(request: Request[Any, Any, Any], code: str, detail: str) -> Response[Any]:
    """A 401 that also clears the session cookies (the browser's session is over)."""
    response = problem_response(request, 401, code, detail)
    clear_session_cookies(response, request.app.state.settings)
    return response


# --- endpoints ---------------------------------------------------------------------------------------------------


@post("/login", status_code=200, summary="Log in with e-mail and password")
async def login(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], data: JSONBody[LoginIn]
) -> Response[TokenOut]:
    """Sets the `access_token`, `refresh_token` and `csrf_token` cookies. 400 INVALID_CREDENTIALS whether the
    e-mail is unknown, the password wrong or the account disabled (400, not 401, as in RS §3.3: the reference
    dashboard takes any 401 for an expired session and would drop the message); 429 after 10 attempts a minute per
    IP or e-mail."""
    email = normalize_email(data.email)
    await _throttle_login(request, email)
    user = await db_session.scalar(select(User).where(User.email == email))
    if not await _password_ok(user, data.password):
        raise ProblemError(400, "INVALID_CREDENTIALS", "Wrong e-mail or password.")
    assert user is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(data.password)
    user.last_login_at = utcnow()
    refresh = await _start_refresh(db_session, user, secret_of(request.app))
    await audit_user_action(
        db_session,
        request,
        action="login",
        entity_table="app_user",
        entity_id=user.id,
        after={"user": user.email},
        actor_user_id=user.id,
    )
    return _session_response(request, user, refresh)


@post("/refresh", status_code=200, summary="Rotate the refresh cookie and get a new access token")
async def refresh(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Response[Any]:
    """Reads only the `refresh_token` cookie (with the `X-CSRF-Token` header). A refresh token works once: a second
    use revokes every token of its login session."""
    raw = request.cookies.get(REFRESH_COOKIE)
    if not raw:
        return _refused(request, "NOT_AUTHENTICATED", "Refresh token missing: log in again.")
    check_csrf(request)
    try:
        claims = decode(raw, secret_of(request.app), "refresh")
        token_id = uuid.UUID(claims.jti)
    except (TokenInvalid, ValueError):
        return _refused(request, "TOKEN_INVALID", "Invalid or expired refresh token: log in again.")
    stored = await db_session.get(RefreshToken, token_id)
    if stored is None or stored.user_id != claims.subject or stored.revoked_at is not None:
        return _refused(request, "TOKEN_INVALID", "This refresh token has been revoked: log in again.")
    # Conditional update: of two concurrent uses of one token, exactly one wins; the other is a replay.
    marked = await db_session.execute(
        update(RefreshToken).where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None)).values(used_at=utcnow())
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        await _revoke_family(db_session, stored.family_id)
        return _refused(
            request, "TOKEN_REUSED", "This refresh token was already used; the session has been ended for safety."
        )
    user = await db_session.get(User, stored.user_id)
    if user is None or not user.is_active:
        forget_user(request.app, db_session, stored.user_id)  # disabled elsewhere: stop its access tokens here too
        await _revoke_family(db_session, stored.family_id)
        return _refused(request, "NOT_AUTHENTICATED", "This account does not exist or is disabled.")
    new_raw = await _start_refresh(db_session, user, secret_of(request.app), stored.family_id)
    return _session_response(request, user, new_raw, request.cookies.get(CSRF_COOKIE))


def _claims_or_none(raw: str | None, secret: str, token_type: str) -> Claims | None:
    if not raw:
        return None
    try:
        return decode(raw, secret, token_type)
    except TokenInvalid:
        return None


@post("/logout", status_code=200, summary="Revoke the access token and the refresh token's session")
async def logout(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> Response[LogoutOut]:
    """Works with an expired access token as long as the refresh cookie is valid; clears the cookies."""
    secret = secret_of(request.app)
    bearer = bearer_token(request)
    access = _claims_or_none(bearer or request.cookies.get(ACCESS_COOKIE), secret, "access")
    refresh_claims = _claims_or_none(request.cookies.get(REFRESH_COOKIE), secret, "refresh")
    if access is None and refresh_claims is None:
        raise ProblemError(401, "NOT_AUTHENTICATED", "Nothing to log out: no valid access or refresh token.")
    if not bearer:
        check_csrf(request)
    if access is not None:
        auth_cache(request.app).revoke(access.jti, access.expires_at.timestamp())  # refused here from now on
        stmt = dialect_insert(db_session, RevokedToken.__table__)
        now = utcnow()
        await db_session.execute(
            stmt.values(
                id=uuid.uuid4(),
                jti=access.jti,
                token_type="access",
                expires_at=access.expires_at,
                created_at=now,
                updated_at=now,
            ).on_conflict_do_nothing(index_elements=["jti"])
        )
    if refresh_claims is not None and refresh_claims.family_id is not None:
        await _revoke_family(db_session, refresh_claims.family_id)
    await _prune_expired(db_session)
    user_id = (access or refresh_claims).subject  # type: ignore[union-attr]
    user = await db_session.get(User, user_id)
    if user is not None:
        await audit_user_action(
            db_session,
            request,
            action="logout",
            entity_table="app_user",
            entity_id=user.id,
            after={"user": user.email},
            actor_user_id=user.id,
        )
    response = Response(LogoutOut(success=True))
    clear_session_cookies(response, request.app.state.settings)
    return response


async def _prune_expired(session: AsyncSession) -> None:
    """Denylist rows and refresh tokens past their expiry are useless; logout is a cheap moment to drop them."""
    now = utcnow()
    await session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
    await session.execute(delete(RefreshToken).where(RefreshToken.expires_at < now))


@get("/me", guards=[requires_viewer], summary="The logged-in user")
async def me(request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]) -> UserOut:
    user = await db_session.get(User, current_user(request).id)
    if user is None:
        raise ProblemError(401, "NOT_AUTHENTICATED", "This account no longer exists.")
    return user_out(user)


def auth_router() -> Router:
    return Router(path="/auth", route_handlers=[login, refresh, logout, me], tags=["auth"])
