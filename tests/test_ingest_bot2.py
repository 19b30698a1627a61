"""Bot2 survey submit (SPEC §4.3, RS §3.8 and the RS §11 tests as SPEC decides them): the roster is the source of
truth, unknown students need a program and land in `bot2_auto`, responses are append-only, Telegram ids are never
re-keyed, partial student updates, and masked audit rows."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from ingest.audit.rows import REDACTED
from ingest.core.schema import AuditLog, RosterEntry, Student, SurveyResponse, utcnow
from tests.ingest_support import API, catalog, count, latest_audit, tokens  # noqa: F401

SURVEY = f"{API}/bot2/surveys/submit"


def survey(ext: str = "sen7115", **extra):  # type: ignore[no-untyped-def]
    return {"student_external_id": ext, **extra}


async def add_roster(db, program_id: str, ext: str = "sen7115", year: int = 2) -> uuid.UUID:  # type: ignore[no-untyped-def]
    async with db.sessionmaker() as s, s.begin():
        row = RosterEntry(student_external_id=ext, program_id=uuid.UUID(program_id), course_year=year)
        s.add(row)
    return row.id


async def test_unknown_student_is_enrolled_in_bot2_auto(client, tokens, catalog, db):  # noqa: F811
    direction_code, direction_id = catalog.first("direction")
    region_code, region_id = catalog.first("region")
    body = survey(
        telegram_user_id=777,
        username="stud",
        first_name="Aziza",
        last_name="Karimova",
        gender="female",
        phone="+998901234567",
        region_code=region_code,
        program_code=direction_code,  # a direction is an accepted program vocabulary (RS §7.5)
        course_year=3,
        employment_status="employed",
        employment_company="Acme",
        employment_role="Engineer",
        consents={"share_with_employers": True, "want_help": False},
        answers={"region_label": "Tashkent", "course_year": 3},
    )
    r = await client.post(SURVEY, json=body, headers=tokens.h2())
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["ok"] is True and answer["roster"] == {"program_id": direction_id, "course_year": 3}
    async with db.sessionmaker() as s:
        roster = (await s.scalars(select(RosterEntry))).one()
        student = (await s.scalars(select(Student))).one()
        response = (await s.scalars(select(SurveyResponse))).one()
    assert roster.roster_campaign == "bot2_auto" and roster.course_year == 3 and str(roster.program_id) == direction_id
    assert student.telegram_user_id == 777 and student.username == "stud" and student.gender == "female"
    assert student.first_name == "Aziza" and str(student.region_id) == region_id and student.roster_id == roster.id
    assert str(response.id) == answer["response_id"] and response.employment_company == "Acme"
    assert response.consents == {"share_with_employers": True, "want_help": False}
    assert response.course_year == 3 and response.survey_campaign == "default"


async def test_unknown_student_without_program_is_roster_not_found(client, tokens, db):  # noqa: F811
    r = await client.post(SURVEY, json=survey(course_year=1), headers=tokens.h2())
    assert r.status_code == 400 and r.json()["code"] == "ROSTER_NOT_FOUND"
    assert await count(db, RosterEntry) == 0 and await count(db, Student) == 0


async def test_invalid_program_is_invalid_catalog_ref(client, tokens, catalog, db):  # noqa: F811
    _, region_id = catalog.first("region")
    for program in ({"program_id": str(uuid.UUID(int=0))}, {"program_id": region_id}, {"program_code": "NOPE"}):
        r = await client.post(SURVEY, json=survey(**program), headers=tokens.h2())
        assert r.status_code == 400 and r.json()["code"] == "INVALID_CATALOG_REF", r.text
        assert r.json()["field"] in ("$.program_id", "$.program_code")
    r = await client.post(SURVEY, json=survey(program_id="not-a-uuid"), headers=tokens.h2())
    assert r.status_code == 400 and r.json()["field"] == "$.program_id"
    assert await count(db, RosterEntry) == 0


async def test_roster_is_the_source_of_truth(client, tokens, catalog, db):  # noqa: F811
    _, program_id = catalog.first("program")
    other_code, _ = sorted((c, i) for (t, c), i in catalog.ids.items() if t == "program")[-1]
    roster_id = await add_roster(db, program_id, year=2)
    r = await client.post(SURVEY, json=survey(course_year=4, program_code=other_code), headers=tokens.h2())
    assert r.status_code == 201, r.text
    assert r.json()["roster"] == {"program_id": program_id, "course_year": 2}
    async with db.sessionmaker() as s:
        roster = await s.get(RosterEntry, roster_id)
        response = (await s.scalars(select(SurveyResponse))).one()
        student = (await s.scalars(select(Student))).one()
    assert roster.course_year == 2 and str(roster.program_id) == program_id and roster.roster_campaign == "default"
    assert response.course_year == 2 and str(response.program_id) == program_id and response.roster_id == roster_id
    assert student.roster_id == roster_id


async def test_resubmission_appends_and_updates_the_student_partially(client, tokens, catalog, db):  # noqa: F811
    _, program_id = catalog.first("program")
    regions = sorted(c for t, c in catalog.ids if t == "region")
    await add_roster(db, program_id)
    first = survey(
        telegram_user_id=42,
        first_name="Old",
        last_name="Name",
        gender="male",
        phone="+998900000001",
        region_code=regions[0],
        employment_status="unemployed",
    )
    assert (await client.post(SURVEY, json=first, headers=tokens.h2())).status_code == 201
    second = survey(telegram_user_id=42, first_name="New", region_code=regions[1], employment_status="employed")
    assert (await client.post(SURVEY, json=second, headers=tokens.h2())).status_code == 201
    third = survey(employment_status="employed", employment_company="Acme")  # nothing about the person: keep all
    assert (await client.post(SURVEY, json=third, headers=tokens.h2())).status_code == 201
    assert await count(db, Student) == 1 and await count(db, RosterEntry) == 1
    assert await count(db, SurveyResponse) == 3  # append-only; "latest per student" is the warehouse's job
    async with db.sessionmaker() as s:
        student = (await s.scalars(select(Student))).one()
        statuses = [r.employment_status for r in await s.scalars(select(SurveyResponse))]
    assert student.first_name == "New" and student.last_name == "Name" and student.gender == "male"
    assert student.phone == "+998900000001" and student.telegram_user_id == 42
    assert str(student.region_id) == catalog.id("region", regions[1])
    assert sorted(statuses) == ["employed", "employed", "unemployed"]


async def test_telegram_id_of_another_student_is_a_conflict(client, tokens, catalog, db):  # noqa: F811
    _, program_id = catalog.first("program")
    await add_roster(db, program_id, ext="a1")
    await add_roster(db, program_id, ext="b2")
    assert (await client.post(SURVEY, json=survey("a1", telegram_user_id=5), headers=tokens.h2())).status_code == 201
    r = await client.post(SURVEY, json=survey("b2", telegram_user_id=5), headers=tokens.h2())
    assert r.status_code == 409 and r.json()["code"] == "TELEGRAM_ID_CONFLICT"
    async with db.sessionmaker() as s:
        students = {st.student_external_id: st.telegram_user_id for st in await s.scalars(select(Student))}
    assert students == {"a1": 5}  # never re-keyed
    assert await count(db, SurveyResponse) == 1


async def test_region_must_be_a_region(client, tokens, catalog, db):  # noqa: F811
    _, program_id = catalog.first("program")
    await add_roster(db, program_id)
    r = await client.post(SURVEY, json=survey(region_id=program_id), headers=tokens.h2())
    assert r.status_code == 400 and r.json()["code"] == "INVALID_CATALOG_REF" and r.json()["field"] == "$.region_id"


async def test_bad_course_year_and_gender_are_400(client, tokens, catalog):  # noqa: F811
    _, program_id = catalog.first("program")
    for bad, field in [
        ({"course_year": 6}, "$.course_year"),
        ({"course_year": "2"}, "$.course_year"),
        ({"gender": "zzz"}, "$.gender"),
        ({"student_external_id": ""}, "$.student_external_id"),
    ]:
        r = await client.post(SURVEY, json={**survey(program_id=program_id), **bad}, headers=tokens.h2())
        assert r.status_code == 400 and r.json()["field"] == field, r.text


async def test_survey_audit_masks_pii(client, tokens, catalog, db):  # noqa: F811
    _, program_id = catalog.first("program")
    await add_roster(db, program_id)
    body = survey(
        first_name="Aziza", phone="+998901234567", answers={"birth_date": "2003-02-01", "note": {"email": "a@b.uz"}}
    )
    r = await client.post(SURVEY, json=body, headers=tokens.h2())
    assert r.status_code == 201
    audit: AuditLog = await latest_audit(db)
    assert audit.actor_service == "bot2" and audit.action == "create"
    assert audit.entity_table == "bot2_survey_response" and str(audit.entity_id) == r.json()["response_id"]
    assert audit.after_data["student_external_id"] == "sen7115"
    assert audit.after_data["answers"] == {"birth_date": REDACTED, "note": {"email": REDACTED}}
    assert "Aziza" not in str(audit.after_data) and "+998901234567" not in str(audit.after_data)


async def test_submitted_at_is_set(client, tokens, catalog, db):  # noqa: F811
    _, program_id = catalog.first("program")
    await add_roster(db, program_id)
    before = utcnow()
    await client.post(SURVEY, json=survey(), headers=tokens.h2())
    async with db.sessionmaker() as s:
        response = (await s.scalars(select(SurveyResponse))).one()
    assert response.submitted_at >= before


async def test_language_is_stored_on_the_response_single_and_batch(client, tokens, catalog, db):  # noqa: F811
    """The language the survey was answered in (the reference bot2 always sends it); absent means ""."""
    _, program_id = catalog.first("program")
    await add_roster(db, program_id)
    assert (await client.post(SURVEY, json=survey(language="ru"), headers=tokens.h2())).status_code == 201
    assert (await client.post(SURVEY, json=survey(), headers=tokens.h2())).status_code == 201
    batch = {"items": [{"kind": "bot2.survey", "idempotency_key": "k1", "payload": survey(language="en")}]}
    r = await client.post(f"{API}/ingest/batch", json=batch, headers=tokens.h2())
    assert r.status_code == 200 and r.json()["results"][0]["status"] == "created", r.text
    async with db.sessionmaker() as s:
        languages = (await s.scalars(select(SurveyResponse.language).order_by(SurveyResponse.created_at))).all()
    assert sorted(languages) == ["", "en", "ru"]
