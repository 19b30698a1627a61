"""Idempotency-Key (SPEC §4.2) on SQLite and Postgres: replay, reuse with another body, in flight, concurrent
duplicates, per-bot scoping, bad keys, and pruning."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import insert, select

from ingest.core.db import Database
from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    AuditLog,
    FoundationRequest,
    IdempotencyRecord,
    SurveyResponse,
    utcnow,
)
from ingest.submissions.idempotency import lock_id, prune_idempotency
from tests.conftest import pg_admin_dsn
from tests.ingest_support import API, applicant, catalog, count, live, tokens  # noqa: F401

FOUNDATION = f"{API}/bot1/foundation/submit"
ADMISSIONS = f"{API}/bot1/admissions-2026/submit"


async def test_same_key_same_body_replays(client, tokens, db):  # noqa: F811
    headers = tokens.h1(**{"Idempotency-Key": "k-1"})
    first = await client.post(FOUNDATION, json=applicant(answers={"a": 1, "b": [1, 2]}), headers=headers)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    # The same content with keys in another order is the same request.
    again = await client.post(
        FOUNDATION, json={"answers": {"b": [1, 2], "a": 1}, "telegram_user_id": 1001}, headers=headers
    )
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await count(db, FoundationRequest) == 1
    assert await count(db, AuditLog) == 1
    assert await count(db, IdempotencyRecord) == 1


async def test_same_key_other_body_is_422(client, tokens, db):  # noqa: F811
    headers = tokens.h1(**{"Idempotency-Key": "k-2"})
    assert (await client.post(FOUNDATION, json=applicant(), headers=headers)).status_code == 201
    r = await client.post(FOUNDATION, json=applicant(status="new"), headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    # The same key on another endpoint is another request too.
    r = await client.post(f"{API}/bot1/applicants/upsert", json=applicant(), headers=headers)
    assert r.status_code == 422
    assert await count(db, FoundationRequest) == 1


async def test_keys_are_scoped_per_bot(client, tokens, catalog, db):  # noqa: F811
    _, program_id = catalog.first("program")
    k = {"Idempotency-Key": "shared-key"}
    assert (await client.post(FOUNDATION, json=applicant(), headers=tokens.h1(**k))).status_code == 201
    body = {"student_external_id": "s1", "program_id": program_id}
    r = await client.post(f"{API}/bot2/surveys/submit", json=body, headers=tokens.h2(**k))
    assert r.status_code == 201, r.text
    assert await count(db, SurveyResponse) == 1


async def test_upsert_and_survey_replay(client, tokens, catalog):  # noqa: F811
    _, program_id = catalog.first("program")
    h = tokens.h1(**{"Idempotency-Key": "u-1"})
    first = await client.post(f"{API}/bot1/applicants/upsert", json=applicant(first_name="A"), headers=h)
    again = await client.post(f"{API}/bot1/applicants/upsert", json=applicant(first_name="A"), headers=h)
    assert (first.status_code, again.status_code) == (201, 200) and first.json() == again.json()
    h2 = tokens.h2(**{"Idempotency-Key": "s-1"})
    body = {"student_external_id": "s1", "program_id": program_id}
    first = await client.post(f"{API}/bot2/surveys/submit", json=body, headers=h2)
    again = await client.post(f"{API}/bot2/surveys/submit", json=body, headers=h2)
    assert (first.status_code, again.status_code) == (201, 200) and first.json() == again.json()
    assert again.headers["idempotent-replayed"] == "true"


PII = {
    "first_name": "Dilnoza",
    "last_name": "Karimova",
    "username": "dilnoza_k",
    "phone": "+998901234567",
    "email": "dilnoza@example.uz",
    "birth_date": "2006-04-05",
}


async def test_stored_answers_hold_no_personal_data(client, tokens, catalog, db):  # noqa: F811
    """Every bot write with a key, carrying an applicant's or student's personal data: the answer kept for replays
    (7 days) holds none of it, and the replay is byte-equal to the first answer."""
    _, program_id = catalog.first("program")
    direction_code, _ = catalog.first("direction")
    person = applicant(**PII, telegram_chat_id=77)
    survey = {k: v for k, v in PII.items() if k not in ("email", "birth_date")}
    writes = [
        (f"{API}/bot1/applicants/upsert", person, tokens.h1),
        (FOUNDATION, person, tokens.h1),
        (ADMISSIONS, {**person, "direction_code": direction_code}, tokens.h1),
        (
            f"{API}/bot2/surveys/submit",
            {"student_external_id": "SP-1002", "program_id": program_id, **survey, "suggestions": "call +998901234567"},
            tokens.h2,
        ),
    ]
    for n, (path, body, headers) in enumerate(writes):
        h = headers(**{"Idempotency-Key": f"pii-{n}"})
        first = await client.post(path, json=body, headers=h)
        again = await client.post(path, json=body, headers=h)
        assert first.status_code in (200, 201) and again.status_code == 200, first.text
        assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
        assert not [v for v in PII.values() if v in first.text], (path, first.text)
    async with db.sessionmaker() as s:
        stored = (await s.scalars(select(IdempotencyRecord.response_body))).all()
    assert len(stored) == len(writes)
    dumped = json.dumps(stored)
    assert not [v for v in PII.values() if v in dumped], dumped


@pytest.mark.parametrize("bad", ["", " ", "x" * 256, "ключ".encode(), "a b", b"\xff\xfe"])
async def test_bad_keys_are_400(client, tokens, db, bad):  # noqa: F811
    r = await client.post(FOUNDATION, json=applicant(), headers=tokens.h1(**{"Idempotency-Key": bad}))
    assert r.status_code == 400 and r.json()["code"] == "INVALID_IDEMPOTENCY_KEY"
    assert r.json()["field"] == "Idempotency-Key"
    assert await count(db, FoundationRequest) == 0


async def test_a_refused_request_stores_no_key(client, tokens, catalog, db):  # noqa: F811
    headers = tokens.h1(**{"Idempotency-Key": "k-3"})
    r = await client.post(ADMISSIONS, json=applicant(direction_code="NOPE"), headers=headers)
    assert r.status_code == 400
    direction_code, _ = catalog.first("direction")
    r = await client.post(ADMISSIONS, json=applicant(direction_code=direction_code), headers=headers)
    assert r.status_code == 201  # the corrected request goes through under the same key
    assert await count(db, IdempotencyRecord) == 1


async def test_twenty_concurrent_identical_requests_store_one_row(live, tokens, catalog, db):  # noqa: F811
    client = live
    direction_code, _ = catalog.first("direction")
    headers = tokens.h1(**{"Idempotency-Key": str(uuid.uuid4())})
    body = applicant(direction_code=direction_code, answers={"q": "x"})
    responses = await asyncio.gather(*(client.post(ADMISSIONS, json=body, headers=headers) for _ in range(20)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1, statuses
    assert set(statuses) <= {200, 201, 409}, statuses
    created = next(r for r in responses if r.status_code == 201).json()
    assert all(r.json() == created for r in responses if r.status_code == 200)
    assert all(r.json()["code"] == "IDEMPOTENCY_KEY_IN_FLIGHT" for r in responses if r.status_code == 409)
    assert await count(db, Admissions2026Application) == 1
    assert await count(db, Applicant) == 1
    assert await count(db, AuditLog) == 1
    # Once the first has finished, every retry replays.
    r = await client.post(ADMISSIONS, json=body, headers=headers)
    assert r.status_code == 200 and r.json() == created


async def test_twenty_concurrent_identical_batches_store_one_row(live, tokens, db):  # noqa: F811
    client = live
    item = {"kind": "bot1.foundation", "idempotency_key": "batch-dup", "payload": applicant()}
    responses = await asyncio.gather(
        *(client.post(f"{API}/ingest/batch", json={"items": [item]}, headers=tokens.h1()) for _ in range(20))
    )
    assert all(r.status_code == 200 for r in responses)
    statuses = sorted(r.json()["results"][0]["status"] for r in responses)
    assert statuses.count("created") == 1 and statuses.count("replayed") == 19, statuses
    assert len({r.json()["results"][0]["id"] for r in responses}) == 1
    assert await count(db, FoundationRequest) == 1


async def test_in_flight_key_is_409(client, tokens, settings, db):  # noqa: F811
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time: a second request waits for the first instead")
    key = "in-flight-key"
    # Another transaction holding the key's lock is exactly what a still-running first request looks like.
    async with await psycopg.AsyncConnection.connect(pg_admin_dsn(settings.database_url)) as other:
        await other.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id("bot1", key)])
        r = await client.post(FOUNDATION, json=applicant(), headers=tokens.h1(**{"Idempotency-Key": key}))
        assert r.status_code == 409 and r.json()["code"] == "IDEMPOTENCY_KEY_IN_FLIGHT"
        assert "retry-after" in r.headers
        await other.rollback()
    r = await client.post(FOUNDATION, json=applicant(), headers=tokens.h1(**{"Idempotency-Key": key}))
    assert r.status_code == 201
    assert await count(db, FoundationRequest) == 1


async def test_prune_removes_keys_older_than_seven_days(db: Database):
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "created_at": now - timedelta(days=d),
            "updated_at": now,
            "service": "bot1",
            "key": f"k{d}",
            "request_hash": "h",
            "state": "done",
            "response_status": 201,
            "response_body": {},
            "entity_table": "",
            "entity_id": None,
        }
        for d in (0, 6, 8, 30)
    ]
    async with db.sessionmaker() as s, s.begin():
        await s.execute(insert(IdempotencyRecord.__table__), rows)
    async with db.sessionmaker() as s, s.begin():
        assert await prune_idempotency(s) == 2
    assert await count(db, IdempotencyRecord) == 2
    async with db.sessionmaker() as s, s.begin():
        assert await prune_idempotency(s, older_than_days=1) == 1
