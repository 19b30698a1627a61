"""A submission's time is the moment the person confirmed (issue 15, docs/submission-time.md): bot1 application
submits and bot2 surveys take an optional `submitted_at` within bounds (not in the future beyond a small clock skew,
not older than the bots send), on the single endpoints, the batch, and Postgres' one-statement path alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ingest.core.schema import FoundationRequest, PolitoAcademyRequest, RosterEntry, SurveyResponse, utcnow
from tests.ingest_support import API, applicant, catalog, key, tokens  # noqa: F401

TASHKENT = timezone(timedelta(hours=5))
SURVEY = f"{API}/bot2/surveys/submit"


def iso(moment: datetime) -> str:
    return moment.astimezone(TASHKENT).isoformat()  # a bot may send any offset: the instant is what counts


async def stored(db, model):  # type: ignore[no-untyped-def]
    async with db.sessionmaker() as s:
        return (await s.scalars(select(model))).all()


async def test_an_application_keeps_the_moment_of_confirming(client, tokens, db):  # noqa: F811
    confirmed = (utcnow() - timedelta(hours=3)).replace(microsecond=0)
    r = await client.post(
        f"{API}/bot1/foundation/submit", json=applicant(submitted_at=iso(confirmed)), headers=tokens.h1(**key())
    )
    assert r.status_code == 201, r.text
    [row] = await stored(db, FoundationRequest)
    assert row.submitted_at == confirmed and row.created_at > confirmed
    assert datetime.fromisoformat(r.json()["submitted_at"]) == confirmed


async def test_absent_means_now_and_new_keeps_none(client, tokens, db):  # noqa: F811
    before = utcnow()
    r = await client.post(f"{API}/bot1/foundation/submit", json=applicant(), headers=tokens.h1())
    assert r.status_code == 201, r.text
    moment = (utcnow() - timedelta(hours=1)).isoformat()
    r = await client.post(
        f"{API}/bot1/foundation/submit", json=applicant(status="new", submitted_at=moment), headers=tokens.h1()
    )
    assert r.status_code == 201, r.text
    rows = {row.status: row for row in await stored(db, FoundationRequest)}
    assert rows["submitted"].submitted_at >= before and rows["new"].submitted_at is None


@pytest.mark.parametrize(
    ("label", "moment"),
    [
        ("future", lambda now: iso(now + timedelta(minutes=10))),
        ("too old", lambda now: iso(now - timedelta(days=31))),
        ("no offset", lambda now: (now - timedelta(hours=1)).replace(tzinfo=None).isoformat()),
        ("not a time", lambda now: "yesterday"),
    ],
)
async def test_out_of_bounds_is_400_naming_the_field(client, tokens, db, label, moment):  # noqa: F811
    body = applicant(submitted_at=moment(utcnow()))
    r = await client.post(f"{API}/bot1/foundation/submit", json=body, headers=tokens.h1())
    assert r.status_code == 400, (label, r.text)
    assert r.json()["field"] == "$.submitted_at"
    assert await stored(db, FoundationRequest) == []


async def test_a_small_clock_skew_is_taken(client, tokens, db):  # noqa: F811
    ahead = (utcnow() + timedelta(minutes=2)).replace(microsecond=0)
    r = await client.post(f"{API}/bot1/foundation/submit", json=applicant(submitted_at=iso(ahead)), headers=tokens.h1())
    assert r.status_code == 201, r.text
    [row] = await stored(db, FoundationRequest)
    assert row.submitted_at == ahead


async def test_a_survey_keeps_the_moment_of_confirming(client, tokens, catalog, db):  # noqa: F811
    _, program_id = catalog.first("direction")
    async with db.sessionmaker() as s, s.begin():
        s.add(RosterEntry(student_external_id="SE54321", program_id=uuid.UUID(program_id), course_year=2))
    confirmed = (utcnow() - timedelta(days=2)).replace(microsecond=0)
    body = {"student_external_id": "SE54321", "submitted_at": iso(confirmed)}
    r = await client.post(SURVEY, json=body, headers=tokens.h2(**key()))
    assert r.status_code == 201, r.text
    [response] = await stored(db, SurveyResponse)
    assert response.submitted_at == confirmed
    r = await client.post(
        SURVEY, json={**body, "submitted_at": iso(utcnow() + timedelta(hours=1))}, headers=tokens.h2()
    )
    assert r.status_code == 400 and r.json()["field"] == "$.submitted_at"


async def test_the_batch_keeps_each_item_time_and_refuses_only_the_bad_one(client, tokens, catalog, db):  # noqa: F811
    subject_code, _ = catalog.first("subject")
    now = utcnow().replace(microsecond=0)
    times = [now - timedelta(minutes=40), now - timedelta(days=3)]
    items = [
        {
            "kind": "bot1.polito_academy",
            "idempotency_key": str(uuid.uuid4()),
            "payload": applicant(tg=2000 + i, subject_code=subject_code, submitted_at=iso(moment)),
        }
        for i, moment in enumerate(times)
    ]
    items.append(
        {
            "kind": "bot1.foundation",
            "idempotency_key": str(uuid.uuid4()),
            "payload": applicant(tg=2010, submitted_at=iso(now + timedelta(days=1))),
        }
    )
    r = await client.post(f"{API}/ingest/batch", json={"items": items}, headers=tokens.h1())
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["created", "created", "error"]
    assert results[2]["problem"]["field"] == "$.items[2].payload.submitted_at"
    assert sorted(row.submitted_at for row in await stored(db, PolitoAcademyRequest)) == sorted(times)
    assert await stored(db, FoundationRequest) == []


async def test_a_replay_is_answered_whatever_time_the_retry_carries(client, tokens, db):  # noqa: F811
    """The time a submission was made is not what it is: a retry of a stored key (with another time, or with none,
    or with one out of bounds by now) is replayed, never a 422 or a 400."""
    headers = tokens.h1(**key())
    confirmed = (utcnow() - timedelta(days=1)).replace(microsecond=0)
    first = await client.post(
        f"{API}/bot1/foundation/submit", json=applicant(submitted_at=iso(confirmed)), headers=headers
    )
    assert first.status_code == 201, first.text
    for retry in (applicant(), applicant(submitted_at=iso(utcnow() - timedelta(days=40)))):
        r = await client.post(f"{API}/bot1/foundation/submit", json=retry, headers=headers)
        assert r.status_code == 200 and r.headers.get("idempotent-replayed") == "true", r.text
        assert r.json() == first.json()
    [row] = await stored(db, FoundationRequest)
    assert row.submitted_at == confirmed.astimezone(UTC)
