"""Every route of the app × {anonymous, viewer, admin, bot1 token, bot2 token} (SPEC §5/§11, RS §4.5).

Routes are read from `app.routes`, so a route added later is covered without touching this file; each path family
has one rule. Bot calls also carry a stray, invalid JWT (header and cookie): it must never cause a 401 there.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.dashboard_support import Account, admin, viewer
from tests.ingest_support import Tokens, catalog, tokens

__all__ = ["admin", "catalog", "tokens", "viewer"]

CALLERS = ("anonymous", "viewer", "admin", "bot1", "bot2")
OK = "ok"  # anything but 401/403
# Who may call each family: the answer for each caller, in CALLERS order.
RULES: dict[str, tuple[object, ...]] = {
    "public": (OK, OK, OK, OK, OK),
    "viewer": (401, OK, OK, 401, 401),
    "admin": (401, 403, OK, 401, 401),
    "bot1": (403, 403, 403, OK, 403),
    "bot2": (403, 403, 403, 403, OK),
    "bots": (403, 403, 403, OK, OK),
}
_BOT1_SERVICE = re.compile(
    r"^/bot1/(applicants/upsert|[a-z0-9-]+/submit|applicants/\{telegram_user_id:int\}/applications)$"
)
# Answered the same for every caller (credentials decide, not roles); covered by tests/test_auth.py.
_UNGUARDED = {"/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout"}


def family(path: str, method: str) -> str:
    if not path.startswith("/api/v1/"):
        return "public"
    p = path.removeprefix("/api/v1")
    if p == "/bot2/surveys/submit":
        return "bot2"
    if _BOT1_SERVICE.match(p):
        return "bot1"
    if p.startswith(("/bot/", "/ingest/")):
        return "bots"
    if p.startswith(("/users", "/audit-log", "/admin/")):
        return "admin"
    return "viewer" if method == "GET" else "admin"


_SAMPLES = {"uuid": lambda: str(uuid.uuid4()), "int": lambda: "1", "path": lambda: "x.js"}
_NAMED = {"kind": "foundation", "name": "applications.csv", "run_id": "x"}


def concrete(path: str) -> str:
    """The route with sample values for its path parameters."""

    def fill(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2)
        return _NAMED.get(name, "x") if kind == "str" else _SAMPLES[kind]()

    return re.sub(r"\{(\w+):(\w+)\}", fill, path)


def caller_headers(who: str, viewer: Account, admin: Account, tokens: Tokens) -> dict[str, str]:
    stray = {"Authorization": "Bearer not.a.jwt", "Cookie": "access_token=stale.jwt.value; csrf_token=x"}
    return {
        "anonymous": {},
        "viewer": viewer.auth,
        "admin": admin.auth,
        "bot1": tokens.h1(**stray),
        "bot2": tokens.h2(**stray),
    }[who]


async def test_every_route_for_every_caller(
    app: Litestar, client: AsyncTestClient[Litestar], viewer: Account, admin: Account, tokens: Tokens
) -> None:
    seen: set[str] = set()
    failures: list[str] = []
    for route in app.routes:
        for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
            if route.path in _UNGUARDED:
                continue
            rule = RULES[family(route.path, method)]
            seen.add(family(route.path, method))
            url = concrete(route.path)
            for who, expected in zip(CALLERS, rule, strict=True):
                kwargs: dict[str, Any] = {"headers": caller_headers(who, viewer, admin, tokens)}
                if method in ("POST", "PUT", "PATCH"):
                    kwargs["json"] = {}
                client.cookies.clear()
                response = await client.request(method, url, **kwargs)
                status = response.status_code
                wrong = status in (401, 403) if expected == OK else status != expected
                if wrong or status == 500:
                    failures.append(f"{method} {url} as {who}: {status} (expected {expected}) {response.text[:120]}")
    assert not failures, "\n".join(failures)
    assert seen == set(RULES)  # every family was exercised


async def test_viewer_token_cannot_write_anything(
    app: Litestar, client: AsyncTestClient[Litestar], viewer: Account
) -> None:
    """RS §4.5: a viewer reads everything and writes nothing (a stricter restatement for the unsafe methods)."""
    for route in app.routes:
        for method in route.methods & {"POST", "PUT", "PATCH", "DELETE"}:
            if not route.path.startswith("/api/v1/") or route.path in _UNGUARDED:
                continue
            if family(route.path, method) != "admin":
                continue
            response = await client.request(method, concrete(route.path), headers=viewer.auth, json={})
            assert response.status_code == 403, (method, route.path, response.status_code)
