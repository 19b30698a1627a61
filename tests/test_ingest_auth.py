"""Service-token authentication (SPEC §4.1, RS §4.4): scoping per bot, missing/invalid/expired/revoked tokens, the
environment-hash fallback, stray user credentials, `last_used_at` at most once a minute, and the per-token rate
limit."""

from __future__ import annotations

from datetime import timedelta

import msgspec
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from crm.app import create_app
from ingest.auth.service_auth import gate_of
from ingest.auth.service_tokens import hash_token, revoke_token
from ingest.core.schema import FoundationRequest, ServiceToken, utcnow
from tests.ingest_support import API, applicant, catalog, count, tokens  # noqa: F401

FOUNDATION = f"{API}/bot1/foundation/submit"
SURVEY = f"{API}/bot2/surveys/submit"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_missing_and_invalid_tokens_are_403(client, tokens, db):  # noqa: F811
    for headers, code in [
        ({}, "SERVICE_TOKEN_REQUIRED"),
        ({"X-SERVICE-TOKEN": "   "}, "SERVICE_TOKEN_REQUIRED"),
        ({"X-SERVICE-TOKEN": "bot1_not-a-real-token"}, "SERVICE_TOKEN_INVALID"),
        ({"X-SERVICE-TOKEN": "x" * 5000}, "SERVICE_TOKEN_INVALID"),
    ]:
        r = await client.post(FOUNDATION, json=applicant(), headers=headers)
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == code
    assert await count(db, FoundationRequest) == 0


async def test_tokens_work_only_on_their_own_bot(client, tokens):  # noqa: F811
    r = await client.post(FOUNDATION, json=applicant(), headers=tokens.h2())
    assert r.status_code == 403 and r.json()["code"] == "SERVICE_TOKEN_WRONG_BOT"
    r = await client.post(SURVEY, json={"student_external_id": "s1"}, headers=tokens.h1())
    assert r.status_code == 403 and r.json()["code"] == "SERVICE_TOKEN_WRONG_BOT"
    r = await client.get(f"{API}/bot1/applicants/1/applications", headers=tokens.h2())
    assert r.status_code == 403
    for headers in (tokens.h1(), tokens.h2()):
        r = await client.get(f"{API}/bot/catalog?type=region", headers=headers)
        assert r.status_code == 200 and r.json()["count"] > 0


async def test_auth_comes_before_body_validation(client):
    r = await client.post(FOUNDATION, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 403 and r.json()["code"] == "SERVICE_TOKEN_REQUIRED"


async def test_stray_authorization_header_or_cookie_never_breaks_a_service_call(client, tokens):  # noqa: F811
    client.cookies.set("access_token", "garbage.jwt.value")
    client.cookies.set("refresh_token", "garbage")
    headers = tokens.h1(Authorization="Bearer not-a-jwt", **{"X-CSRF-Token": "nope"})
    r = await client.post(FOUNDATION, json=applicant(), headers=headers)
    assert r.status_code == 201, r.text


async def test_revocation_takes_effect_within_the_cache_ttl(app, client, tokens, db):  # noqa: F811
    assert (await client.post(FOUNDATION, json=applicant(), headers=tokens.h1())).status_code == 201
    clock = FakeClock()
    verifier = gate_of(app).verifier
    verifier.clock = clock
    verifier._cache.clear()
    assert (await client.post(FOUNDATION, json=applicant(), headers=tokens.h1())).status_code == 201
    async with db.sessionmaker() as s, s.begin():
        assert await revoke_token(s, tokens.bot1_id)
    # Still inside the cache TTL: this process has not looked again yet (documented: at most `ttl` seconds).
    assert (await client.post(FOUNDATION, json=applicant(), headers=tokens.h1())).status_code == 201
    clock.now += verifier.ttl + 0.1
    r = await client.post(FOUNDATION, json=applicant(), headers=tokens.h1())
    assert r.status_code == 403 and r.json()["code"] == "SERVICE_TOKEN_REVOKED"
    assert (await client.post(SURVEY, json={"student_external_id": "x"}, headers=tokens.h2())).status_code != 403


async def test_expired_token_is_refused(client, tokens, db):  # noqa: F811
    async with db.sessionmaker() as s, s.begin():
        await s.execute(
            update(ServiceToken)
            .where(ServiceToken.id == tokens.bot1_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    r = await client.post(FOUNDATION, json=applicant(), headers=tokens.h1())
    assert r.status_code == 403 and r.json()["code"] == "SERVICE_TOKEN_EXPIRED"


async def test_last_used_at_is_written_at_most_once_a_minute(app, client, tokens, db):  # noqa: F811
    async def last_used():  # type: ignore[no-untyped-def]
        async with db.sessionmaker() as s:
            return await s.scalar(select(ServiceToken.last_used_at).where(ServiceToken.id == tokens.bot1_id))

    assert await last_used() is None
    await client.post(FOUNDATION, json=applicant(), headers=tokens.h1())
    first = await last_used()
    assert first is not None
    clock = FakeClock()
    gate_of(app).verifier.clock = clock
    gate_of(app).verifier._cache.clear()
    for _ in range(3):
        clock.now += 5  # past the cache TTL, so the token row is read again each time
        await client.post(FOUNDATION, json=applicant(), headers=tokens.h1())
    assert await last_used() == first
    async with db.sessionmaker() as s, s.begin():
        await s.execute(
            update(ServiceToken)
            .where(ServiceToken.id == tokens.bot1_id)
            .values(last_used_at=utcnow() - timedelta(minutes=2))
        )
    clock.now += 5
    await client.post(FOUNDATION, json=applicant(), headers=tokens.h1())
    assert await last_used() > first


async def test_environment_hash_fallback(settings, catalog, db):  # noqa: F811
    env_settings = msgspec.structs.replace(
        settings,
        service_token_bot1_hash=hash_token("raw-bot1-secret").upper(),
        service_token_bot2_hash=hash_token("raw-bot2-secret"),
    )
    async with AsyncTestClient(app=create_app(env_settings)) as c:
        r = await c.post(FOUNDATION, json=applicant(), headers={"X-SERVICE-TOKEN": "raw-bot1-secret"})
        assert r.status_code == 201, r.text
        r = await c.post(FOUNDATION, json=applicant(), headers={"X-SERVICE-TOKEN": "raw-bot2-secret"})
        assert r.status_code == 403 and r.json()["code"] == "SERVICE_TOKEN_WRONG_BOT"
        r = await c.post(SURVEY, json={"student_external_id": "s1"}, headers={"X-SERVICE-TOKEN": "raw-bot2-secret"})
        assert r.status_code == 400 and r.json()["code"] == "ROSTER_NOT_FOUND"
        r = await c.post(FOUNDATION, json=applicant(), headers={"X-SERVICE-TOKEN": "raw-bot1-wrong"})
        assert r.status_code == 403 and r.json()["code"] == "SERVICE_TOKEN_INVALID"
    assert await count(db, FoundationRequest) == 1


async def test_rate_limit_is_per_token_with_retry_after(app, client, tokens):  # noqa: F811
    assert (await client.get(f"{API}/bot/catalog", headers=tokens.h1())).status_code == 200
    gate_of(app).per_minute = 3
    statuses = [(await client.get(f"{API}/bot/catalog", headers=tokens.h1())).status_code for _ in range(4)]
    assert 429 in statuses
    r = await client.get(f"{API}/bot/catalog", headers=tokens.h1())
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert r.json()["code"] == "RATE_LIMITED"
    # Another token from the same address is not affected: the limit is never per IP.
    assert (await client.get(f"{API}/bot/catalog", headers=tokens.h2())).status_code == 200
