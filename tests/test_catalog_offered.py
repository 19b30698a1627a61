"""Catalog items as the bots offer them (issue 15): an inactive item is refused for a new submission (400
INVALID_CATALOG_REF naming the field, saying it is no longer offered) while a replay of a stored key is answered as
before; and the seed's tracks are called tracks in uz and ru, renamed in place by `crm seed catalog`."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select, update

from ingest.catalog.refs import catalog_of
from ingest.core.db import Database
from ingest.core.schema import Applicant, CatalogItem, FoundationRequest, PolitoAcademyRequest, RosterEntry
from tests.ingest_support import API, applicant, catalog, count, key, tokens  # noqa: F401
from tests.test_cli import crm  # noqa: F401

POLITO = f"{API}/bot1/polito-academy/submit"


async def retire(db, app, type_: str, code: str) -> None:  # type: ignore[no-untyped-def]
    async with db.sessionmaker() as s, s.begin():
        await s.execute(
            update(CatalogItem).where(CatalogItem.type == type_, CatalogItem.code == code).values(is_active=False)
        )
    catalog_of(app).invalidate()  # what the dashboard's catalog writes do


async def test_an_inactive_subject_is_refused_for_a_new_submission(client, app, tokens, catalog, db):  # noqa: F811
    await retire(db, app, "subject", "SUBJ-PHYSICS")
    r = await client.post(POLITO, json=applicant(subject_code="SUBJ-PHYSICS"), headers=tokens.h1(**key()))
    assert r.status_code == 400, r.text
    problem = r.json()
    assert problem["code"] == "INVALID_CATALOG_REF" and problem["field"] == "$.subject_code"
    assert "no longer offered" in problem["detail"]
    by_id = applicant(subject_id=catalog.id("subject", "SUBJ-PHYSICS"))
    r = await client.post(POLITO, json=by_id, headers=tokens.h1())
    assert r.status_code == 400 and r.json()["field"] == "$.subject_id"
    item = {"kind": "bot1.polito_academy", "idempotency_key": str(uuid.uuid4()), "payload": by_id}
    r = await client.post(f"{API}/ingest/batch", json={"items": [item]}, headers=tokens.h1())
    [result] = r.json()["results"]
    assert result["status"] == "error" and result["problem"]["code"] == "INVALID_CATALOG_REF"
    assert await count(db, PolitoAcademyRequest) == 0 and await count(db, Applicant) == 0


async def test_a_replay_of_a_stored_key_is_unaffected(client, app, tokens, catalog, db):  # noqa: F811
    headers = tokens.h1(**key())
    first = await client.post(POLITO, json=applicant(subject_code="SUBJ-PHYSICS"), headers=headers)
    assert first.status_code == 201, first.text
    await retire(db, app, "subject", "SUBJ-PHYSICS")
    r = await client.post(POLITO, json=applicant(subject_code="SUBJ-PHYSICS"), headers=headers)
    assert r.status_code == 200 and r.headers["idempotent-replayed"] == "true" and r.json() == first.json()
    item = {
        "kind": "bot1.polito_academy",
        "idempotency_key": headers["Idempotency-Key"],
        "payload": applicant(subject_code="SUBJ-PHYSICS"),
    }
    r = await client.post(f"{API}/ingest/batch", json={"items": [item]}, headers=tokens.h1())
    assert r.json()["results"][0]["status"] == "replayed"
    assert await count(db, PolitoAcademyRequest) == 1


async def test_a_retired_profile_region_never_blocks_an_application(client, app, tokens, catalog, db):  # noqa: F811
    """An application carries the applicant's profile region, chosen at registration: a region retired since is
    kept; choosing it anew (registration, Settings, a survey) is refused."""
    region_code, _ = catalog.first("region")
    await retire(db, app, "region", region_code)
    r = await client.post(f"{API}/bot1/foundation/submit", json=applicant(region_code=region_code), headers=tokens.h1())
    assert r.status_code == 201, r.text
    assert await count(db, FoundationRequest) == 1
    r = await client.post(f"{API}/bot1/applicants/upsert", json=applicant(region_code=region_code), headers=tokens.h1())
    assert r.status_code == 400 and r.json()["field"] == "$.region_code"


async def test_an_inactive_program_is_refused_for_a_survey(client, app, tokens, catalog, db):  # noqa: F811
    program_code, _ = catalog.first("program")
    await retire(db, app, "program", program_code)
    body = {"student_external_id": "SE1000", "program_code": program_code, "course_year": 2}
    r = await client.post(f"{API}/bot2/surveys/submit", json=body, headers=tokens.h2())
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "INVALID_CATALOG_REF" and r.json()["field"] == "$.program_code"
    assert await count(db, RosterEntry) == 0


def test_tracks_are_tracks_and_the_seed_renames_stored_rows(crm, settings):  # noqa: F811
    async def in_db(statement):  # type: ignore[no-untyped-def]
        database = Database(settings.database_url, pool_size=1)
        try:
            async with database.sessionmaker() as s, s.begin():
                return (await s.execute(statement)).all() if statement.is_select else None
        finally:
            await database.dispose()

    crm("seed", "catalog")
    renamed = {"name_uz": "O'zbek yo'nalishi", "name_ru": "Узбекское направление"}
    asyncio.run(in_db(update(CatalogItem).where(CatalogItem.code == "TRACK-UZBEK").values(**renamed)))
    crm("seed", "catalog")
    query = select(CatalogItem.code, CatalogItem.name_uz, CatalogItem.name_ru).where(CatalogItem.type == "track")
    names = {code: (uz, ru) for code, uz, ru in asyncio.run(in_db(query))}
    assert names == {
        "TRACK-UZBEK": ("O'zbek treki", "Узбекский трек"),
        "TRACK-ITALIAN": ("Italiya treki", "Итальянский трек"),
    }
