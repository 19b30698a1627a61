"""Roster CRUD (SPEC §3/§5, RS §3.7): admins write, viewers read, program by id or code (program or direction),
409 on duplicate ids and on deleting a row with survey responses, audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.schema import Student, SurveyResponse
from tests.dashboard_support import API, Account, admin, audit_actions, seeded_catalog, viewer

__all__ = ["admin", "viewer"]

ROSTER = f"{API}/bot2/roster/"


@pytest.fixture
async def ids(session: AsyncSession) -> dict[str, uuid.UUID]:
    return await seeded_catalog(session)


async def test_crud(
    client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account, viewer: Account, ids: dict[str, uuid.UUID]
) -> None:
    body = {"student_external_id": " se7115 ", "program_code": "B-UZ-SE", "course_year": 2, "first_name": "Aziz"}
    created = await client.post(ROSTER, json=body, headers=admin.auth)
    assert created.status_code == 201, created.text
    row = created.json()
    assert row["student_external_id"] == "se7115" and row["program_details"]["code"] == "B-UZ-SE"
    assert row["program_id"] == row["program"] == str(ids["B-UZ-SE"]) and row["roster_campaign"] == "default"
    path = f"{ROSTER}{row['id']}"
    by_direction = await client.patch(
        path, json={"program_id": str(ids["DIR-SOFT-UZ"]), "course_year": 5}, headers=admin.auth
    )
    assert by_direction.status_code == 200
    assert by_direction.json()["program_details"]["type"] == "direction" and by_direction.json()["course_year"] == 5
    assert by_direction.json()["first_name"] == "Aziz"  # untouched by a partial update
    listed = await client.get(f"{ROSTER}?search=SE71", headers=viewer.auth)
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert (await client.get(f"{ROSTER}?course_year=5&missing_birth_date=true", headers=viewer.auth)).json()[
        "count"
    ] == 1
    assert (await client.get(f"{ROSTER}?course_year=6", headers=viewer.auth)).status_code == 400
    assert (await client.post(ROSTER, json=body, headers=viewer.auth)).status_code == 403
    assert (await client.delete(path, headers=admin.auth)).status_code == 204
    assert (await client.get(path, headers=viewer.auth)).status_code == 404
    assert await audit_actions(session, "bot2_roster") == ["create", "update", "delete"]


async def test_validation_and_conflicts(
    client: AsyncTestClient[Litestar], admin: Account, ids: dict[str, uuid.UUID]
) -> None:
    base = {"student_external_id": "x1", "program_code": "B-UZ-SE", "course_year": 1}
    assert (await client.post(ROSTER, json=base, headers=admin.auth)).status_code == 201
    dup = await client.post(ROSTER, json=base, headers=admin.auth)
    assert dup.status_code == 409 and dup.json()["code"] == "STUDENT_ID_TAKEN"
    region = await client.post(
        ROSTER,
        json={**base, "student_external_id": "x2", "program_code": None, "program_id": str(ids["REG-ANDIJAN"])},
        headers=admin.auth,
    )
    assert region.status_code == 400 and region.json()["field"] == "$.program_id"
    unknown = await client.post(
        ROSTER, json={**base, "student_external_id": "x3", "program_code": "NOPE"}, headers=admin.auth
    )
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_CATALOG_REF"
    missing = await client.post(ROSTER, json={"student_external_id": "x4", "course_year": 1}, headers=admin.auth)
    assert missing.status_code == 400 and missing.json()["field"] == "$.program_id"
    year = await client.post(ROSTER, json={**base, "student_external_id": "x5", "course_year": 6}, headers=admin.auth)
    assert year.status_code == 400 and year.json()["field"] == "$.course_year"
    blank = await client.post(ROSTER, json={**base, "student_external_id": "   "}, headers=admin.auth)
    assert blank.status_code == 400 and blank.json()["field"] == "$.student_external_id"


async def test_row_with_survey_responses_cannot_be_deleted(
    client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account, ids: dict[str, uuid.UUID]
) -> None:
    created = await client.post(
        ROSTER, json={"student_external_id": "s9", "program_code": "B-UZ-SE", "course_year": 3}, headers=admin.auth
    )
    roster_id = uuid.UUID(created.json()["id"])
    student = Student(student_external_id="s9", roster_id=roster_id, telegram_user_id=99)
    session.add(student)
    await session.flush()
    session.add(
        SurveyResponse(
            student_id=student.id,
            roster_id=roster_id,
            program_id=ids["B-UZ-SE"],
            course_year=3,
            submitted_at=datetime(2026, 2, 1, tzinfo=UTC),
        )
    )
    await session.commit()
    refused = await client.delete(f"{ROSTER}{roster_id}", headers=admin.auth)
    assert refused.status_code == 409 and refused.json()["code"] == "ROSTER_IN_USE"
    assert "is_active=false" in refused.json()["detail"]
    rename = await client.patch(f"{ROSTER}{roster_id}", json={"student_external_id": "s10"}, headers=admin.auth)
    assert rename.status_code == 409
    retire = await client.patch(f"{ROSTER}{roster_id}", json={"is_active": False, "course_year": 4}, headers=admin.auth)
    assert retire.status_code == 200 and retire.json()["is_active"] is False
    kept = (await session.execute(select(SurveyResponse.course_year))).scalar_one()
    await session.commit()
    assert kept == 3  # the response keeps the year it was given with
