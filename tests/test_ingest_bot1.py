"""Bot1 service endpoints on SQLite and Postgres: upsert (partial), the four submits, catalog references by id or code,
the submitted_at rule, campus-tour dates, "my applications", and audit rows with PII masked."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from ingest.audit.rows import REDACTED
from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    AuditLog,
    CampusTourRequest,
    FoundationRequest,
    PolitoAcademyRequest,
)
from tests.ingest_support import API, applicant, catalog, count, key, latest_audit, tokens  # noqa: F401


async def test_upsert_creates_then_updates_partially(client, tokens, catalog, db):  # noqa: F811
    region_code, region_id = catalog.first("region")
    body = applicant(
        telegram_chat_id=55,
        username="ali",
        first_name="Ali",
        last_name="Valiyev",
        phone="+998901234567",
        email="ali@example.uz",
        gender="male",
        birth_date="2005-03-01",
        language="uz",
        region_code=region_code,
    )
    r = await client.post(f"{API}/bot1/applicants/upsert", json=body, headers=tokens.h1())
    assert r.status_code == 201, r.text
    first = r.json()
    # The answer is ids and state only (it is kept as the idempotent replay): the row holds the data.
    assert set(first) == {"id", "telegram_user_id", "created_at", "updated_at"}
    async with db.sessionmaker() as s:
        row = await s.get(Applicant, uuid.UUID(first["id"]))
    assert row is not None and str(row.region_id) == region_id and row.first_name == "Ali"
    assert row.birth_date.isoformat() == "2005-03-01"

    # Absent and blank fields keep what is stored; given ones change.
    r = await client.post(
        f"{API}/bot1/applicants/upsert",
        json=applicant(first_name="", last_name="  ", phone="+998907654321", gender="unspecified"),
        headers=tokens.h1(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == first["id"]
    async with db.sessionmaker() as s:
        row = await s.get(Applicant, uuid.UUID(first["id"]))
    assert row is not None and row.first_name == "Ali" and row.last_name == "Valiyev"
    assert row.phone == "+998907654321"
    assert row.email == "ali@example.uz" and str(row.region_id) == region_id
    assert row.gender == "male" and row.telegram_chat_id == 55 and row.birth_date.isoformat() == "2005-03-01"
    assert await count(db, Applicant) == 1


async def test_upsert_audit_masks_pii(client, tokens, db):  # noqa: F811
    r = await client.post(
        f"{API}/bot1/applicants/upsert",
        json=applicant(email="a@b.uz", phone="+998901112233", first_name="Ali", birth_date="2001-01-01"),
        headers=tokens.h1(**{"User-Agent": "bot1-test"}),
    )
    assert r.status_code == 201
    audit = await latest_audit(db)
    assert audit.actor_type == "service" and audit.actor_service == "bot1"
    assert audit.entity_table == "bot1_applicant" and str(audit.entity_id) == r.json()["id"]
    assert audit.action == "create"
    for field in ("email", "phone", "first_name", "birth_date"):
        assert audit.after_data[field] == REDACTED
    assert audit.after_data["telegram_user_id"] == 1001
    assert audit.user_agent == "bot1-test" and audit.request_id == r.headers["x-request-id"]
    assert audit.ip


async def test_admissions_submit_by_code_and_by_id(client, tokens, catalog, db):  # noqa: F811
    direction_code, direction_id = catalog.first("direction")
    _, track_id = catalog.first("track")
    r = await client.post(
        f"{API}/bot1/admissions-2026/submit",
        json=applicant(direction_code=direction_code, track_id=track_id, answers={"birth_date": "2006-01-01"}),
        headers=tokens.h1(),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["kind"] == "admissions-2026" and body["status"] == "submitted" and body["submitted_at"]
    assert body["direction_id"] == direction_id and body["track_id"] == track_id
    r = await client.post(
        f"{API}/bot1/admissions-2026/submit",
        json=applicant(direction_id=direction_id, status="new"),
        headers=tokens.h1(),
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "new" and r.json()["submitted_at"] is None
    assert await count(db, Admissions2026Application) == 2
    assert await count(db, Admissions2026Application, Admissions2026Application.submitted_at.is_(None)) == 1
    audit = await latest_audit(db)
    assert audit.action == "create" and audit.entity_table == "bot1_admissions_2026"


async def test_admissions_catalog_reference_errors(client, tokens, catalog, db):  # noqa: F811
    _, region_id = catalog.first("region")
    track_code, _ = catalog.first("track")
    cases = [
        ({"direction_id": region_id}, "$.direction_id"),  # an item of the wrong type
        ({"direction_id": str(uuid.uuid4())}, "$.direction_id"),  # unknown id
        ({"direction_code": "NO-SUCH"}, "$.direction_code"),
        ({"direction_code": track_code}, "$.direction_code"),  # a track code given as a direction
    ]
    for refs, field in cases:
        r = await client.post(f"{API}/bot1/admissions-2026/submit", json=applicant(**refs), headers=tokens.h1())
        assert r.status_code == 400, (refs, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "INVALID_CATALOG_REF" and r.json()["field"] == field
    r = await client.post(f"{API}/bot1/admissions-2026/submit", json=applicant(), headers=tokens.h1())
    assert r.status_code == 400 and r.json()["field"] == "$.direction_id"
    r = await client.post(
        f"{API}/bot1/admissions-2026/submit", json=applicant(direction_id="TRACK-ITALIAN"), headers=tokens.h1()
    )
    assert r.status_code == 400 and r.json()["field"] == "$.direction_id"
    assert await count(db, Admissions2026Application) == 0
    assert await count(db, Applicant) == 0  # a refused submit writes nothing, not even the applicant


async def test_campus_tour_stores_preferred_date(client, tokens, db):  # noqa: F811
    r = await client.post(
        f"{API}/bot1/campus-tour/submit",
        json=applicant(preferred_date="2026-05-20", answers={"organization": "School 5", "visitor_count": 3}),
        headers=tokens.h1(),
    )
    assert r.status_code == 201, r.text
    assert r.json()["preferred_date"] == "2026-05-20"
    async with db.sessionmaker() as s:
        row = (await s.scalars(select(CampusTourRequest))).one()
    assert str(row.preferred_date) == "2026-05-20" and row.answers["visitor_count"] == 3
    audit = await latest_audit(db)
    assert audit.after_data["answers"] == {"organization": REDACTED, "visitor_count": REDACTED}
    r = await client.post(
        f"{API}/bot1/campus-tour/submit", json=applicant(preferred_date="20.05.2026"), headers=tokens.h1()
    )
    assert r.status_code == 400 and r.json()["field"] == "$.preferred_date"


async def test_foundation_and_polito_submits(client, tokens, catalog, db):  # noqa: F811
    r = await client.post(f"{API}/bot1/foundation/submit", json=applicant(status="in_progress"), headers=tokens.h1())
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "in_progress" and r.json()["submitted_at"]
    subject_code, subject_id = catalog.first("subject")
    r = await client.post(
        f"{API}/bot1/polito-academy/submit", json=applicant(subject_code=subject_code), headers=tokens.h1()
    )
    assert r.status_code == 201, r.text
    assert r.json()["subject_id"] == subject_id
    r = await client.post(f"{API}/bot1/polito-academy/submit", json=applicant(), headers=tokens.h1())
    assert r.status_code == 201 and "subject_id" not in r.json()
    assert await count(db, FoundationRequest) == 1 and await count(db, PolitoAcademyRequest) == 2
    r = await client.post(f"{API}/bot1/foundation/submit", json=applicant(status="done"), headers=tokens.h1())
    assert r.status_code == 400 and r.json()["field"] == "$.status"


async def test_submit_never_erases_applicant_data(client, tokens, catalog, db):  # noqa: F811
    region_code, region_id = catalog.first("region")
    await client.post(
        f"{API}/bot1/applicants/upsert",
        json=applicant(email="x@y.uz", region_code=region_code, first_name="Ali"),
        headers=tokens.h1(),
    )
    r = await client.post(f"{API}/bot1/foundation/submit", json=applicant(), headers=tokens.h1())
    assert r.status_code == 201
    async with db.sessionmaker() as s:
        row = (await s.scalars(select(Applicant))).one()
    assert row.email == "x@y.uz" and str(row.region_id) == region_id and row.first_name == "Ali"


async def test_applicant_applications_lists_all_kinds_with_status(client, tokens, catalog):  # noqa: F811
    direction_code, direction_id = catalog.first("direction")
    await client.post(
        f"{API}/bot1/admissions-2026/submit", json=applicant(direction_code=direction_code), headers=tokens.h1()
    )
    await client.post(
        f"{API}/bot1/campus-tour/submit", json=applicant(preferred_date="2026-06-01"), headers=tokens.h1()
    )
    await client.post(f"{API}/bot1/foundation/submit", json=applicant(tg=2002), headers=tokens.h1())
    r = await client.get(f"{API}/bot1/applicants/1001/applications", headers=tokens.h1())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 2 and {a["kind"] for a in body["results"]} == {"admissions-2026", "campus-tour"}
    admissions = next(a for a in body["results"] if a["kind"] == "admissions-2026")
    assert admissions["status"] == "submitted" and admissions["direction"]["id"] == direction_id
    assert admissions["direction"]["name_uz"] and admissions["direction"]["code"] == direction_code
    tour = next(a for a in body["results"] if a["kind"] == "campus-tour")
    assert tour["preferred_date"] == "2026-06-01"
    r = await client.get(f"{API}/bot1/applicants/999/applications/", headers=tokens.h1())
    assert r.status_code == 200 and r.json() == {
        "telegram_user_id": 999,
        "applicant_id": None,
        "count": 0,
        "results": [],
    }
    r = await client.get(f"{API}/bot1/applicants/{2**70}/applications", headers=tokens.h1())
    assert r.status_code == 400
    r = await client.get(f"{API}/bot1/applicants/1001/applications", headers=tokens.h2())
    assert r.status_code == 403


async def test_trailing_slash_is_optional(client, tokens, catalog):  # noqa: F811
    r = await client.post(f"{API}/bot1/foundation/submit/", json=applicant(), headers=tokens.h1())
    assert r.status_code == 201
    r = await client.get(f"{API}/bot/catalog/?type=region", headers=tokens.h1())
    assert r.status_code == 200


async def test_audit_row_per_write_and_none_for_refusals(client, tokens, db):  # noqa: F811
    await client.post(f"{API}/bot1/foundation/submit", json=applicant(), headers=tokens.h1())
    await client.post(f"{API}/bot1/foundation/submit", json=applicant(status="bogus"), headers=tokens.h1())
    await client.post(f"{API}/bot1/applicants/upsert", json=applicant(first_name="Ali"), headers=tokens.h1())
    assert await count(db, AuditLog) == 2
    assert await count(db, AuditLog, AuditLog.action == "update", AuditLog.entity_table == "bot1_applicant") == 1
