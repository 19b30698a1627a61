"""`POST /ingest/batch` (SPEC §4.3) on SQLite and Postgres: good and bad items together, results in item order,
replays across the batch and single endpoints, per-bot kinds, limits."""

from __future__ import annotations

from sqlalchemy import select

from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    AuditLog,
    CampusTourRequest,
    FoundationRequest,
    SurveyResponse,
)
from tests.ingest_support import API, applicant, catalog, count, tokens  # noqa: F401

BATCH = f"{API}/ingest/batch"


def item(kind: str, key: str, payload: dict) -> dict:  # type: ignore[type-arg]
    return {"kind": kind, "idempotency_key": key, "payload": payload}


async def test_good_and_bad_items(client, tokens, catalog, db):  # noqa: F811
    direction_code, _ = catalog.first("direction")
    items = [
        item("bot1.admissions_2026", "a1", applicant(1, direction_code=direction_code, answers={"x": 1})),
        item("bot1.admissions_2026", "a2", applicant(2, direction_code="NO-SUCH")),
        item("bot1.foundation", "f1", applicant(3, first_name="Ali")),
        item("bot1.foundation", "f2", {"telegram_user_id": "not-a-number"}),
        item("bot2.survey", "s1", {"student_external_id": "x"}),
        item("bot1.campus_tour", "c1", applicant(4, preferred_date="2026-09-01")),
        item("bot1.foundation", "f1", applicant(3, first_name="Ali")),  # repeated key, same body
        item("bot1.foundation", "f1", applicant(3, first_name="Other")),  # repeated key, other body
        item("bot1.applicant", "u1", applicant(3, last_name="Valiyev", unknown_field=1)),
        item("bot1.applicant", "u2", applicant(3, last_name="Valiyev")),
    ]
    r = await client.post(BATCH, json={"items": items}, headers=tokens.h1())
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["idempotency_key"] for x in results] == [i["idempotency_key"] for i in items]
    assert [x["status"] for x in results] == [
        "created",
        "error",
        "created",
        "error",
        "error",
        "created",
        "replayed",
        "error",
        "error",
        "created",
    ]
    assert results[1]["problem"]["code"] == "INVALID_CATALOG_REF"
    assert results[1]["problem"]["field"] == "$.items[1].payload.direction_code"
    assert results[3]["problem"]["code"] == "VALIDATION_ERROR"
    assert results[3]["problem"]["field"] == "$.items[3].payload.telegram_user_id"
    assert results[4]["problem"]["status"] == 403 and results[4]["problem"]["code"] == "SERVICE_TOKEN_WRONG_BOT"
    assert results[6]["id"] == results[2]["id"]
    assert results[7]["problem"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert results[8]["problem"]["field"] == "$.items[8].payload.unknown_field"
    assert all("problem" not in x for x in results if x["status"] != "error")
    assert await count(db, Admissions2026Application) == 1
    assert await count(db, FoundationRequest) == 1
    assert await count(db, CampusTourRequest) == 1
    assert await count(db, Applicant) == 3
    assert await count(db, AuditLog) == 4
    async with db.sessionmaker() as s:
        tour = (await s.scalars(select(CampusTourRequest))).one()
        a3 = (await s.scalars(select(Applicant).where(Applicant.telegram_user_id == 3))).one()
    assert str(tour.preferred_date) == "2026-09-01"
    assert a3.first_name == "Ali" and a3.last_name == "Valiyev"

    # The whole batch again: stored items replay, errors stay errors, nothing new is written.
    again = (await client.post(BATCH, json={"items": items}, headers=tokens.h1())).json()["results"]
    assert [x["status"] for x in again] == [
        "replayed",
        "error",
        "replayed",
        "error",
        "error",
        "replayed",
        "replayed",
        "error",
        "error",
        "replayed",
    ]
    assert [x.get("id") for x in again if x["status"] == "replayed"] == [
        x.get("id") for x in results if x["status"] in ("created", "replayed")
    ]
    assert await count(db, Admissions2026Application) == 1 and await count(db, AuditLog) == 4


async def test_batch_and_single_endpoint_share_keys(client, tokens, catalog):  # noqa: F811
    body = applicant(5, status="new")
    single = await client.post(
        f"{API}/bot1/foundation/submit", json=body, headers=tokens.h1(**{"Idempotency-Key": "k-shared"})
    )
    assert single.status_code == 201
    r = await client.post(BATCH, json={"items": [item("bot1.foundation", "k-shared", body)]}, headers=tokens.h1())
    assert r.json()["results"][0] == {"idempotency_key": "k-shared", "status": "replayed", "id": single.json()["id"]}
    r = await client.post(BATCH, json={"items": [item("bot1.foundation", "k-b", body)]}, headers=tokens.h1())
    batch_id = r.json()["results"][0]["id"]
    single = await client.post(
        f"{API}/bot1/foundation/submit", json=body, headers=tokens.h1(**{"Idempotency-Key": "k-b"})
    )
    assert single.status_code == 200 and single.json()["id"] == batch_id and single.json()["status"] == "new"


async def test_bot2_batch_of_surveys(client, tokens, catalog, db):  # noqa: F811
    _, program_id = catalog.first("program")
    items = [
        item("bot2.survey", "s1", {"student_external_id": "st1", "program_id": program_id, "course_year": 2}),
        item("bot2.survey", "s2", {"student_external_id": "st2"}),
        item("bot2.survey", "s3", {"student_external_id": "st1", "employment_status": "employed"}),
        item("bot1.foundation", "f1", applicant()),
    ]
    r = await client.post(BATCH, json={"items": items}, headers=tokens.h2())
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["created", "error", "created", "error"]
    assert results[1]["problem"]["code"] == "ROSTER_NOT_FOUND"
    assert results[3]["problem"]["code"] == "SERVICE_TOKEN_WRONG_BOT"
    assert await count(db, SurveyResponse) == 2


async def test_batch_limits(client, tokens):  # noqa: F811
    too_many = [item("bot1.foundation", f"k{i}", applicant(i + 1)) for i in range(1001)]
    r = await client.post(BATCH, json={"items": too_many}, headers=tokens.h1())
    assert r.status_code == 400 and r.json()["field"] == "$.items"
    r = await client.post(BATCH, json={"items": []}, headers=tokens.h1())
    assert r.status_code == 400
    r = await client.post(
        BATCH, json={"items": [{"kind": "bot3.x", "idempotency_key": "k", "payload": {}}]}, headers=tokens.h1()
    )
    assert r.status_code == 400 and r.json()["field"] == "$.items[0].kind"
    r = await client.post(BATCH, json={"items": [item("bot1.foundation", "", applicant())]}, headers=tokens.h1())
    assert r.status_code == 400 and r.json()["field"] == "$.items[0].idempotency_key"


async def test_full_batch_of_one_thousand(client, tokens, catalog, db):  # noqa: F811
    direction_code, _ = catalog.first("direction")
    items = [
        item("bot1.admissions_2026", f"k{i}", applicant(1 + i % 300, direction_code=direction_code))
        for i in range(1000)
    ]
    r = await client.post(BATCH, json={"items": items}, headers=tokens.h1())
    assert r.status_code == 200
    assert {x["status"] for x in r.json()["results"]} == {"created"}
    assert await count(db, Admissions2026Application) == 1000 and await count(db, Applicant) == 300


async def test_catalog_item_removed_behind_the_cache_is_a_conflict_then_a_bad_ref(client, tokens, catalog, db):  # noqa: F811
    from sqlalchemy import delete

    from ingest.core.schema import CatalogItem

    subject_code, subject_id = catalog.first("subject")
    assert (
        await client.post(f"{API}/bot1/polito-academy/submit", json=applicant(), headers=tokens.h1())
    ).status_code == 201
    async with db.sessionmaker() as s, s.begin():  # the API's cache still knows the item
        await s.execute(delete(CatalogItem).where(CatalogItem.code == subject_code, CatalogItem.type == "subject"))
    items = [
        item("bot1.polito_academy", "p1", applicant(7, subject_code=subject_code)),
        item("bot1.polito_academy", "p2", applicant(8)),
    ]
    r = await client.post(BATCH, json={"items": items}, headers=tokens.h1())
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["error", "created"]
    assert results[0]["problem"]["status"] in (400, 409)
    r = await client.post(
        f"{API}/bot1/polito-academy/submit", json=applicant(9, subject_id=subject_id), headers=tokens.h1()
    )
    assert r.status_code == 400 and r.json()["code"] == "INVALID_CATALOG_REF"


async def test_openapi_documents_the_ingestion_bodies(client):
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    for path in ("/api/v1/bot1/admissions-2026/submit", "/api/v1/bot2/surveys/submit", "/api/v1/ingest/batch"):
        assert path in doc["paths"], path
        assert "requestBody" in doc["paths"][path]["post"]
    schemas = doc["components"]["schemas"]
    assert {"Admissions2026Submit", "SurveySubmit", "BatchRequest", "ApplicationCreated"} <= set(schemas)
    assert schemas["ApplicantUpsert"]["required"] == ["telegram_user_id"]
