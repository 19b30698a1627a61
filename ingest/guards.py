"""Dashboard user guards: `requires_viewer` (any active user) and `requires_admin` (SPEC §5, RS §4.5).

Authentication is evaluated lazily, inside the guards, so it only ever runs on dashboard routes: a stray
`Authorization` header or cookie on a bot path is never looked at. The access token comes as
`Authorization: Bearer <jwt>` or as the HttpOnly `access_token` cookie (a stale Bearer header falls back to a valid
cookie); cookie-authenticated unsafe requests must
echo the `csrf_token` cookie in `X-CSRF-Token` (double submit). Every request re-reads the user (so deactivation and
role changes take effect at once) and checks the access-token denylist, in one query.

After a guard has run, the handler finds the user as `request.user` (a `CurrentUser`) or via `current_user(request)`.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import exists, select

from ingest.jwt_tokens import Claims, TokenInvalid, decode, secret_of
from ingest.problems import ProblemError
from ingest.schema import RevokedToken, User

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_USER_SCOPE_KEY = "user"
_AUTH_SCOPE_KEY = "auth"


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """The authenticated dashboard user of this request, and how the access token came."""

    id: uuid.UUID
    email: str
    role: str
    first_name: str
    last_name: str
    via_cookie: bool
    access: Claims

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def not_authenticated(detail: str = "Log in first: send a valid access token.") -> ProblemError:
    return ProblemError(401, "NOT_AUTHENTICATED", detail, headers={"WWW-Authenticate": 'Bearer realm="crm"'})


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _candidates(connection: ASGIConnection[Any, Any, Any, Any]) -> list[tuple[str, bool]]:
    """The access tokens to try, as (token, came from the cookie): Bearer first, then the cookie, so that a stale
    Bearer header does not hide a valid cookie session (RS §12)."""
    found = []
    if token := bearer_token(connection):
        found.append((token, False))
    if cookie := connection.cookies.get(ACCESS_COOKIE):
        found.append((cookie, True))
    return found


def check_csrf(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Double-submit check: the header must equal the `csrf_token` cookie (constant-time)."""
    cookie = connection.cookies.get(CSRF_COOKIE, "")
    header = connection.headers.get(CSRF_HEADER, "")
    if not cookie or not header or not hmac.compare_digest(cookie.encode(), header.encode()):
        raise ProblemError(
            403,
            "CSRF_FAILED",
            "Cookie-authenticated changes need the X-CSRF-Token header equal to the csrf_token cookie.",
            field="X-CSRF-Token",
        )


async def _load_user(connection: ASGIConnection[Any, Any, Any, Any], claims: Claims) -> Any:
    revoked = exists().where(RevokedToken.jti == claims.jti)
    query = select(
        User.id, User.email, User.role, User.first_name, User.last_name, User.is_active, revoked.label("revoked")
    ).where(User.id == claims.subject)
    async with connection.app.state.db.read_engine.connect() as conn:
        return (await conn.execute(query)).first()


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    """The request's user, authenticated once per request; 401 NOT_AUTHENTICATED otherwise."""
    cached = connection.scope.get(_USER_SCOPE_KEY)
    if isinstance(cached, CurrentUser):
        return cached
    candidates = _candidates(connection)
    if not candidates:
        raise not_authenticated()
    claims, via_cookie, problem = None, False, "The token is not valid."
    for token, from_cookie in candidates:
        try:
            claims, via_cookie = decode(token, secret_of(connection.app), "access"), from_cookie
            break
        except TokenInvalid as exc:
            problem = str(exc)
    if claims is None:
        raise not_authenticated(problem)
    row = await _load_user(connection, claims)
    if row is None or not row.is_active:
        raise not_authenticated("This account does not exist or is disabled.")
    if row.revoked:
        raise not_authenticated("This token has been revoked; log in again.")
    if via_cookie and connection.scope.get("method", "GET") not in SAFE_METHODS:
        check_csrf(connection)
    user = CurrentUser(row.id, row.email, row.role, row.first_name, row.last_name, via_cookie, claims)
    connection.scope[_USER_SCOPE_KEY] = user  # type: ignore[literal-required]
    connection.scope[_AUTH_SCOPE_KEY] = claims  # type: ignore[literal-required]
    return user


async def requires_viewer(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Any active dashboard user (viewer or admin)."""
    await authenticate(connection)


async def requires_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    user = await authenticate(connection)
    if not user.is_admin:
        raise ProblemError(403, "FORBIDDEN", "This action needs the admin role.")


def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    """The user set by a guard; only valid in handlers protected by `requires_viewer` / `requires_admin`."""
    user = connection.scope.get(_USER_SCOPE_KEY)
    if not isinstance(user, CurrentUser):
        raise not_authenticated()
    return user
