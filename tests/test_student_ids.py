"""One rule for student ids (issue 15): the server applies `contracts.fields`' rule, the bot's, to surveys, roster
bodies and roster files; the roster's own ids always pass (`SE54321`, the demo's `S1-000001`); ids match in any case
everywhere, the unique indexes included, and the stored spelling is the roster's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from ingest.core import migrate
from ingest.core.db import make_sync_engine
from ingest.core.schema import RosterEntry, Student, SurveyResponse
from tests.dashboard_support import Account, admin
from tests.ingest_support import API, catalog, count, tokens  # noqa: F401
from tests.test_migrations import empty_db  # noqa: F401

__all__ = ["admin"]

SURVEY = f"{API}/bot2/surveys/submit"
ROSTER = f"{API}/bot2/roster/"
IMPORT = f"{API}/admin/roster/import"


async def add_roster(db, program_id: str, ext: str) -> uuid.UUID:  # type: ignore[no-untyped-def]
    async with db.sessionmaker() as s, s.begin():
        row = RosterEntry(student_external_id=ext, program_id=uuid.UUID(program_id), course_year=2)
        s.add(row)
    return row.id


async def all_of(db, model) -> list[Any]:  # type: ignore[no-untyped-def]
    async with db.sessionmaker() as s:
        return list((await s.scalars(select(model))).all())


# --- surveys ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["se54321", "SE54321", "Se 54321"])
async def test_a_roster_id_typed_in_any_case_is_that_roster_row(client, tokens, catalog, db, typed):  # noqa: F811
    _, program_id = catalog.first("program")
    roster_id = await add_roster(db, program_id, "SE54321")
    _, direction_id = catalog.first("direction")
    body = {"student_external_id": typed, "telegram_user_id": 4242, "program_id": direction_id, "course_year": 4}
    r = await client.post(SURVEY, json=body, headers=tokens.h2())
    assert r.status_code == 201, r.text
    assert r.json()["roster"] == {"program_id": program_id, "course_year": 2}  # the roster's values, no auto-enrolment
    r = await client.post(SURVEY, json={**body, "student_external_id": "SE54321"}, headers=tokens.h2())
    assert r.status_code == 201, r.text  # the same Telegram account, the same student: no TELEGRAM_ID_CONFLICT
    [roster] = await all_of(db, RosterEntry)
    [student] = await all_of(db, Student)
    assert roster.id == roster_id and student.student_external_id == "SE54321" and student.roster_id == roster_id
    assert {r.roster_id for r in await all_of(db, SurveyResponse)} == {roster_id}


async def test_the_demo_roster_format_works(client, tokens, catalog, db):  # noqa: F811
    _, program_id = catalog.first("program")
    await add_roster(db, program_id, "S1-000001")
    r = await client.post(SURVEY, json={"student_external_id": "s1-000001"}, headers=tokens.h2())
    assert r.status_code == 201, r.text
    [student] = await all_of(db, Student)
    assert student.student_external_id == "S1-000001"


async def test_an_unknown_student_is_enrolled_once_whatever_the_case(client, tokens, catalog, db):  # noqa: F811
    _, direction_id = catalog.first("direction")
    for typed in ("Ab777", "AB777", "ab777"):
        body = {"student_external_id": typed, "program_id": direction_id, "course_year": 2}
        r = await client.post(SURVEY, json=body, headers=tokens.h2())
        assert r.status_code == 201, r.text
    [roster] = await all_of(db, RosterEntry)
    [student] = await all_of(db, Student)
    assert roster.student_external_id == student.student_external_id == "Ab777"
    assert await count(db, SurveyResponse) == 3


@pytest.mark.parametrize("bad", ["x", "SE_54321", "se54321!", "-SE1", "A" * 40])
async def test_an_id_breaking_the_rule_is_400_naming_it(client, tokens, catalog, db, bad):  # noqa: F811
    _, direction_id = catalog.first("direction")
    body = {"student_external_id": bad, "program_id": direction_id}
    r = await client.post(SURVEY, json=body, headers=tokens.h2())
    assert r.status_code == 400 and r.json()["field"] == "$.student_external_id", r.text
    assert await count(db, RosterEntry) == 0


async def test_the_unique_indexes_ignore_case(db, catalog):  # noqa: F811
    _, program_id = catalog.first("program")
    await add_roster(db, program_id, "SE54321")
    with pytest.raises(IntegrityError):
        await add_roster(db, program_id, "se54321")


# --- the roster: CRUD and files ------------------------------------------------------------------------------------


async def test_roster_crud_refuses_an_id_in_another_case(
    client: AsyncTestClient[Litestar],
    admin: Account,
    catalog,  # noqa: F811
    db,
) -> None:
    body = {"student_external_id": "SE54321", "program_code": catalog.first("program")[0], "course_year": 1}
    created = await client.post(ROSTER, json=body, headers=admin.auth)
    assert created.status_code == 201, created.text
    r = await client.post(ROSTER, json={**body, "student_external_id": "se54321"}, headers=admin.auth)
    assert r.status_code == 409 and r.json()["field"] == "$.student_external_id", r.text
    r = await client.post(ROSTER, json={**body, "student_external_id": "SE 54 321 ?"}, headers=admin.auth)
    assert r.status_code == 400 and r.json()["field"] == "$.student_external_id", r.text
    other = await client.post(ROSTER, json={**body, "student_external_id": "S1-000001"}, headers=admin.auth)
    assert other.status_code == 201, other.text
    r = await client.patch(f"{ROSTER}{other.json()['id']}", json={"student_external_id": "se54321"}, headers=admin.auth)
    assert r.status_code == 409, r.text
    assert await count(db, RosterEntry) == 2


async def test_roster_file_matches_stored_ids_in_any_case_and_refuses_two_spellings(
    client: AsyncTestClient[Litestar],
    admin: Account,
    catalog,  # noqa: F811
    db,
) -> None:
    code, program_id = catalog.first("program")
    await add_roster(db, program_id, "SE54321")
    csv = (
        "student_external_id,program,course_year,first_name\n"
        f"se54321,{code},3,Aziz\n"  # the stored row, in another case: updated, its spelling kept
        f"AB1,{code},1,\n"
        f"ab1,{code},2,\n"  # AB1 of row 3 in another case: a per-row error
        f"bad id!,{code},1,\n"
    )
    r = await client.post(IMPORT, content=csv.encode(), headers={**admin.auth, "Content-Type": "text/csv"})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["created"], answer["updated"]) == (1, 1)
    assert [(e["row"], e["field"]) for e in answer["errors"]] == [
        (4, "student_external_id"),
        (5, "student_external_id"),
    ]
    assert "AB1" in answer["errors"][0]["message"]
    rows = {row.student_external_id: row for row in await all_of(db, RosterEntry)}
    assert set(rows) == {"SE54321", "AB1"}
    assert (rows["SE54321"].course_year, rows["SE54321"].first_name) == (3, "Aziz")


# --- the migration ------------------------------------------------------------------------------------------------


def test_the_migration_merges_ids_differing_only_in_case(empty_db: str) -> None:  # noqa: F811
    """What the issue saw: roster row `SE54321` and an auto-enrolled `se54321` whose student answered. After 0003:
    one roster row (the imported one), one student spelled as the roster, its responses on that row."""
    migrate.upgrade(empty_db, "0001")
    engine = make_sync_engine(empty_db)
    ids = {name: uuid.uuid4() for name in ("program", "real", "auto", "student", "response")}
    as_db = (lambda u: u.hex) if empty_db.startswith("sqlite") else str  # how each dialect stores a uuid
    now = "2026-03-10 06:00:00"
    common = "created_at, updated_at"
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO catalog_item (id, {common}, type, code, name, name_uz, name_ru, name_en, sort_order,"
                    " is_active, metadata) VALUES (:id, :t, :t, 'program', 'P1', 'P', 'P', 'P', 'P', 0, true, '{}')"
                ),
                {"id": as_db(ids["program"]), "t": now},
            )
            for key, ext, campaign in (("real", "SE54321", "default"), ("auto", "se54321", "bot2_auto")):
                conn.execute(
                    text(
                        f"INSERT INTO bot2_roster (id, {common}, student_external_id, roster_campaign, program_id,"
                        " course_year, is_active, first_name, last_name, metadata)"
                        " VALUES (:id, :t, :t, :ext, :c, :p, 1, true, '', '', '{}')"
                    ),
                    {"id": as_db(ids[key]), "t": now, "ext": ext, "c": campaign, "p": as_db(ids["program"])},
                )
            conn.execute(
                text(
                    f"INSERT INTO bot2_student (id, {common}, student_external_id, roster_id, telegram_user_id,"
                    " username, first_name, last_name, gender, phone) VALUES"
                    " (:id, :t, :t, 'se54321', :r, 77, '', '', '', 'unspecified', '')"
                ),
                {"id": as_db(ids["student"]), "t": now, "r": as_db(ids["auto"])},
            )
            conn.execute(
                text(
                    f"INSERT INTO bot2_survey_response (id, {common}, student_id, roster_id, program_id, course_year,"
                    " survey_campaign, employment_status, employment_company, employment_role, suggestions,"
                    " consents, answers, submitted_at) VALUES (:id, :t, :t, :s, :r, :p, 1, 'default', '', '', '',"
                    " '', '{}', '{}', :t)"
                ),
                {
                    "id": as_db(ids["response"]),
                    "t": now,
                    "s": as_db(ids["student"]),
                    "r": as_db(ids["auto"]),
                    "p": as_db(ids["program"]),
                },
            )
        migrate.upgrade(empty_db)
        with engine.connect() as conn:
            rosters = conn.execute(text("SELECT id, student_external_id FROM bot2_roster")).all()
            students = conn.execute(text("SELECT student_external_id, roster_id FROM bot2_student")).all()
            responses = conn.execute(text("SELECT roster_id FROM bot2_survey_response")).all()
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(
                text(
                    f"INSERT INTO bot2_roster (id, {common}, student_external_id, roster_campaign, program_id,"
                    " course_year, is_active, first_name, last_name, metadata)"
                    " VALUES (:id, :t, :t, 'sE54321', 'x', :p, 1, true, '', '', '{}')"
                ),
                {"id": as_db(uuid.uuid4()), "t": now, "p": as_db(ids["program"])},
            )
    finally:
        engine.dispose()
    assert [(str(as_db(ids["real"])), "SE54321")] == [(str(r[0]), r[1]) for r in rosters]
    assert [("SE54321", str(as_db(ids["real"])))] == [(s[0], str(s[1])) for s in students]
    assert [str(r[0]) for r in responses] == [str(as_db(ids["real"]))]
