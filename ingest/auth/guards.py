"""Dashboard user guards: `requires_viewer` (any active user) and `requires_admin` (SPEC §5, RS §4.5).

Authentication is evaluated lazily, inside the guards, so it only ever runs on dashboard routes: a stray
`Authorization` header or cookie on a bot path is never looked at. The access token comes as
`Authorization: Bearer <jwt>` or as the HttpOnly `access_token` cookie (a stale Bearer header falls back to a valid
cookie); cookie-authenticated unsafe requests must
echo the `csrf_token` cookie in `X-CSRF-Token` (double submit).

An access token ends when it expires, at logout (the denylist) and when its user's password changes (the token's
password fingerprint no longer matches the stored hash: `ingest.auth.jwt_tokens.password_stamp`).

The user, their password hash and the access-token denylist are read in one query, and the answer is kept per
access token for `AUTH_CACHE_SECONDS` in this process (`AuthCache`), so dashboard reads do not pay a database round
trip each. Changes made through this process take effect at once: logout marks the token revoked here immediately,
and a user change (role, activation, password, deletion) drops that user's entries, again after its transaction
commits. A change made by another process (another API worker, the CLI, SQL) is seen within `AUTH_CACHE_SECONDS`.

After a guard has run, the handler finds the user as `request.user` (a `CurrentUser`) or via `current_user(request)`.
"""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from sqlalchemy import event, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.jwt_tokens import Claims, TokenInvalid, decode, password_stamp, secret_of
from ingest.core.problems import ProblemError
from ingest.core.schema import RevokedToken, User

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
CSRF_COOKIE = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_USER_SCOPE_KEY = "user"
_AUTH_SCOPE_KEY = "auth"
_CACHE_STATE_KEY = "auth_cache"
# How long a user lookup is reused for one access token: the most a logout, deactivation or role change made in
# another process can go unseen here (in this process they apply at once).
AUTH_CACHE_SECONDS = 5.0
_CACHE_MAX_TOKENS = 10_000


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
    Bearer header does not hide a valid cookie session (RS §12). Read from the raw scope headers: building the
    request's header and cookie mappings costs more than the rest of a cached check."""
    authorization, has_cookies = "", False
    for key, value in connection.scope["headers"]:
        name = key.lower()
        if name == b"authorization" and not authorization:
            authorization = value.decode("latin-1")
        elif name == b"cookie":
            has_cookies = True
    found = []
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        found.append((token.strip(), False))
    if has_cookies and (cookie := connection.cookies.get(ACCESS_COOKIE)):
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


@dataclass(frozen=True, slots=True)
class _Checked:
    """An access token whose signature was verified and whose user was active and token not revoked at `at`."""

    claims: Claims
    expires_ts: float
    user: tuple[uuid.UUID, str, str, str, str]  # id, email, role, first name, last name
    at: float


class AuthCache:
    """Per process (one per app): verified access tokens with their user, for `ttl` seconds; and the access tokens
    revoked in this process, refused at once whatever the database or the cache says."""

    def __init__(self, ttl: float = AUTH_CACHE_SECONDS) -> None:
        self.ttl = ttl
        self.clock = time.monotonic
        self._tokens: dict[str, _Checked] = {}
        self._revoked: dict[str, float] = {}  # jti -> the token's expiry (epoch seconds)
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def lookup(self, token: str) -> _Checked | None:
        """The recent check of this exact token string, unless it is stale, expired or revoked here."""
        hit = self._tokens.get(token)
        if hit is None:
            return None
        if self.clock() - hit.at >= self.ttl or time.time() >= hit.expires_ts or hit.claims.jti in self._revoked:
            self._tokens.pop(token, None)
            return None
        return hit

    def store(self, token: str, claims: Claims, user: tuple[uuid.UUID, str, str, str, str], generation: int) -> None:
        """Keep a check made from a database read that started at `generation`; a user change or logout since then
        (in this process) makes it unsafe to keep, so it is dropped."""
        if generation != self._generation:
            return
        if len(self._tokens) >= _CACHE_MAX_TOKENS:
            self._prune()
        self._tokens[token] = _Checked(claims, claims.expires_at.timestamp(), user, self.clock())

    def is_revoked(self, jti: str) -> bool:
        return jti in self._revoked

    def revoke(self, jti: str, expires_ts: float) -> None:
        """Refuse this access token in this process from now on (logout)."""
        self._generation += 1
        self._revoked[jti] = expires_ts
        for token in [t for t, c in self._tokens.items() if c.claims.jti == jti]:
            del self._tokens[token]
        if len(self._revoked) > _CACHE_MAX_TOKENS:
            now = time.time()
            self._revoked = {j: exp for j, exp in self._revoked.items() if exp > now}

    def forget_user(self, user_id: uuid.UUID) -> None:
        """The user changed: the next request of each of their tokens reads the database again."""
        self._generation += 1
        for token in [t for t, c in self._tokens.items() if c.user[0] == user_id]:
            del self._tokens[token]

    def _prune(self) -> None:
        now, wall = self.clock(), time.time()
        self._tokens = {t: c for t, c in self._tokens.items() if now - c.at < self.ttl and wall < c.expires_ts}
        while len(self._tokens) >= _CACHE_MAX_TOKENS:
            del self._tokens[next(iter(self._tokens))]


def auth_cache(app: Litestar) -> AuthCache:
    cache = app.state.get(_CACHE_STATE_KEY)
    if cache is None:
        cache = AuthCache()
        app.state[_CACHE_STATE_KEY] = cache
    return cache


def forget_user(app: Litestar, session: AsyncSession, user_id: uuid.UUID) -> None:
    """Drop `user_id`'s cached checks now and again when `session` commits (a request that reads the user between
    now and the commit still sees the old row, so its check must not outlive the commit)."""
    cache = auth_cache(app)
    cache.forget_user(user_id)
    event.listen(session.sync_session, "after_commit", lambda _session: cache.forget_user(user_id), once=True)


async def _load_user(connection: ASGIConnection[Any, Any, Any, Any], claims: Claims) -> Any:
    revoked = exists().where(RevokedToken.jti == claims.jti)
    query = select(
        User.id,
        User.email,
        User.role,
        User.first_name,
        User.last_name,
        User.is_active,
        User.password_hash,
        revoked.label("revoked"),
    ).where(User.id == claims.subject)
    async with connection.app.state.db.read_engine.connect() as conn:
        return (await conn.execute(query)).first()


def _decoded(
    connection: ASGIConnection[Any, Any, Any, Any], cache: AuthCache
) -> tuple[str, Claims, bool, _Checked | None]:
    """(token, claims, came from the cookie, recent check) of the first candidate that is valid; 401 otherwise."""
    candidates = _candidates(connection)
    if not candidates:
        raise not_authenticated()
    problem = "The token is not valid."
    for token, from_cookie in candidates:
        hit = cache.lookup(token)
        if hit is not None:
            return token, hit.claims, from_cookie, hit
        try:
            return token, decode(token, secret_of(connection.app), "access"), from_cookie, None
        except TokenInvalid as exc:
            problem = str(exc)
    raise not_authenticated(problem)


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser:
    """The request's user, authenticated once per request; 401 NOT_AUTHENTICATED otherwise."""
    cached = connection.scope.get(_USER_SCOPE_KEY)
    if isinstance(cached, CurrentUser):
        return cached
    cache = auth_cache(connection.app)
    token, claims, via_cookie, hit = _decoded(connection, cache)
    if cache.is_revoked(claims.jti):
        raise not_authenticated("This token has been revoked; log in again.")
    if hit is not None:
        fields = hit.user
    else:
        generation = cache.generation
        row = await _load_user(connection, claims)
        if row is None or not row.is_active:
            raise not_authenticated("This account does not exist or is disabled.")
        if row.revoked:
            raise not_authenticated("This token has been revoked; log in again.")
        stamp = password_stamp(row.password_hash, secret_of(connection.app))
        if not hmac.compare_digest(stamp, claims.password_stamp):
            raise not_authenticated("The password has changed since this token was issued; log in again.")
        fields = (row.id, row.email, row.role, row.first_name, row.last_name)
        cache.store(token, claims, fields, generation)
    if via_cookie and connection.scope.get("method", "GET") not in SAFE_METHODS:
        check_csrf(connection)
    user = CurrentUser(*fields, via_cookie, claims)
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
