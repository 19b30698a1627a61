"""The region of each application (issue 15, docs/region-per-application.md), on SQLite and Postgres: every kind
takes `application_region_id` / `application_region_code`, stores it in its own column and never changes the
applicant's profile region; bad or withdrawn regions are 400s naming the field and store nothing; a body without it
(the reference clients') stores NULL."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete, select

from ingest.contracts.kinds import APPLICATION_KINDS, BY_SLUG
from ingest.core.schema import APPLICATION_MODELS, Applicant, AuditLog, CatalogItem
from tests.dashboard_support import admin, viewer  # noqa: F401
from tests.ingest_support import API, applicant, catalog, count, key, tokens  # noqa: F401
from tests.test_catalog_offered import retire

# What each kind needs besides the applicant (admissions cannot do without a direction).
NEEDS = {"admissions-2026": {"direction_code": "DIR-SOFT-UZ"}}
REGION_A, REGION_B = "REG-TASHCITY", "REG-SAMARKAND"


def submit(slug: str) -> str:
    return f"{API}/bot1{BY_SLUG[slug].path}"


async def stored(db, slug: str, application_id: str):  # type: ignore[no-untyped-def]
    async with db.sessionmaker() as s:
        return await s.get(APPLICATION_MODELS[slug], uuid.UUID(application_id))


async def profile_region(db, tg: int = 1001) -> uuid.UUID | None:  # type: ignore[no-untyped-def]
    async with db.sessionmaker() as s:
        return await s.scalar(select(Applicant.region_id).where(Applicant.telegram_user_id == tg))


@pytest.mark.parametrize("slug", [k.slug for k in APPLICATION_KINDS])
async def test_each_kind_stores_its_region_and_keeps_the_profile(client, tokens, catalog, db, slug):  # noqa: F811
    body = applicant(region_code=REGION_A, application_region_code=REGION_B, **NEEDS.get(slug, {}))
    r = await client.post(submit(slug), json=body, headers=tokens.h1(**key()))
    assert r.status_code == 201, r.text
    assert r.json()["application_region_id"] == catalog.id("region", REGION_B)
    row = await stored(db, slug, r.json()["id"])
    assert str(row.application_region_id) == catalog.id("region", REGION_B)
    assert str(await profile_region(db)) == catalog.id("region", REGION_A)

    # By id, without the profile's region: the profile keeps A.
    body = applicant(application_region_id=catalog.id("region", REGION_B), **NEEDS.get(slug, {}))
    r = await client.post(submit(slug), json=body, headers=tokens.h1())
    assert r.status_code == 201, r.text
    assert str((await stored(db, slug, r.json()["id"])).application_region_id) == catalog.id("region", REGION_B)
    assert str(await profile_region(db)) == catalog.id("region", REGION_A)

    # Absent (what the reference clients send): NULL, and the answer does not mention it.
    body = applicant(region_code=REGION_A, **NEEDS.get(slug, {}))
    r = await client.post(submit(slug), json=body, headers=tokens.h1())
    assert r.status_code == 201, r.text
    assert "application_region_id" not in r.json()
    assert (await stored(db, slug, r.json()["id"])).application_region_id is None

    async with db.sessionmaker() as s:
        audit = (await s.scalars(select(AuditLog).where(AuditLog.entity_id == uuid.UUID(r.json()["id"])))).one()
    assert "application_region_id" in audit.after_data


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"application_region_code": "NO-SUCH"}, "$.application_region_code"),
        ({"application_region_code": "DIR-SOFT-UZ"}, "$.application_region_code"),  # a direction, not a region
        ({"application_region_id": str(uuid.uuid4())}, "$.application_region_id"),
        ({"application_region_id": "not-a-uuid"}, "$.application_region_id"),
    ],
)
async def test_a_bad_application_region_is_a_400_naming_it(client, tokens, catalog, db, extra, field):  # noqa: F811
    r = await client.post(submit("foundation"), json=applicant(region_code=REGION_A, **extra), headers=tokens.h1())
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field
    assert r.headers["content-type"].startswith("application/problem+json")
    assert await count(db, APPLICATION_MODELS["foundation"]) == 0 and await count(db, Applicant) == 0


async def test_a_withdrawn_region_is_refused_for_a_new_application_only(client, app, tokens, catalog, db):  # noqa: F811
    headers = tokens.h1(**key())
    body = applicant(application_region_code=REGION_B)
    first = await client.post(submit("campus-tour"), json=body, headers=headers)
    assert first.status_code == 201, first.text
    await retire(db, app, "region", REGION_B)
    replay = await client.post(submit("campus-tour"), json=body, headers=headers)
    assert replay.status_code == 200 and replay.json() == first.json()
    r = await client.post(submit("campus-tour"), json=body, headers=tokens.h1(**key()))
    assert r.status_code == 400 and r.json()["code"] == "INVALID_CATALOG_REF"
    assert r.json()["field"] == "$.application_region_code" and "no longer offered" in r.json()["detail"]
    assert await count(db, APPLICATION_MODELS["campus-tour"]) == 1


async def test_a_batch_stores_each_items_region(client, tokens, catalog, db):  # noqa: F811
    items = [
        {
            "kind": "bot1.polito_academy",
            "idempotency_key": str(uuid.uuid4()),
            "payload": applicant(tg, region_code=REGION_A, **region),
        }
        for tg, region in ((1, {"application_region_code": REGION_B}), (2, {}), (3, {"application_region_code": "X"}))
    ]
    r = await client.post(f"{API}/ingest/batch", json={"items": items}, headers=tokens.h1())
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == ["created", "created", "error"]
    assert results[2]["problem"]["field"] == "$.items[2].payload.application_region_code"
    assert str((await stored(db, "polito-academy", results[0]["id"])).application_region_id) == catalog.id(
        "region", REGION_B
    )
    assert (await stored(db, "polito-academy", results[1]["id"])).application_region_id is None
    assert str(await profile_region(db, 1)) == catalog.id("region", REGION_A)


async def test_deleting_the_region_leaves_the_application_with_none(client, tokens, catalog, db):  # noqa: F811
    """ON DELETE SET NULL, like the applicant's region (the dashboard refuses to delete an item in use, below)."""
    r = await client.post(submit("foundation"), json=applicant(application_region_code=REGION_B), headers=tokens.h1())
    assert r.status_code == 201
    async with db.sessionmaker() as s, s.begin():
        await s.execute(delete(CatalogItem).where(CatalogItem.code == REGION_B, CatalogItem.type == "region"))
    assert (await stored(db, "foundation", r.json()["id"])).application_region_id is None


async def test_the_dashboard_shows_and_filters_the_region_and_keeps_it_in_use(client, tokens, catalog, viewer, admin):  # noqa: F811
    body = applicant(region_code=REGION_A, application_region_code=REGION_B, direction_code="DIR-SOFT-UZ")
    assert (await client.post(submit("admissions-2026"), json=body, headers=tokens.h1())).status_code == 201
    assert (await client.post(submit("admissions-2026"), json=applicant(2, **NEEDS["admissions-2026"]),
                              headers=tokens.h1())).status_code == 201  # fmt: skip
    lists = f"{API}/bot1/applications/admissions-2026/"
    r = await client.get(lists, params={"application_region": catalog.id("region", REGION_B)}, headers=viewer.auth)
    assert r.status_code == 200, r.text
    [row] = r.json()["results"]
    assert row["application_region"] == row["application_region_id"] == catalog.id("region", REGION_B)
    assert row["application_region_details"]["code"] == REGION_B
    assert row["applicant_details"]["region_details"]["code"] == REGION_A

    mine = (await client.get(f"{API}/bot1/applicants/1001/applications", headers=tokens.h1())).json()
    assert mine["results"][0]["application_region"]["code"] == REGION_B

    r = await client.delete(f"{API}/catalog/items/{catalog.id('region', REGION_B)}", headers=admin.auth)
    assert r.status_code == 409 and "admissions 2026 applications (application region)" in r.json()["detail"]


async def test_the_openapi_document_shows_the_new_fields(client):
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    for kind in APPLICATION_KINDS:
        properties = schemas[kind.struct.__name__]["properties"]
        assert {"application_region_id", "application_region_code", "region_id", "region_code"} <= set(properties)
