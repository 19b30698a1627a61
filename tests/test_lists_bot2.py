"""Bot2 dashboard lists and headcounts (SPEC §5, RS §3.7), and the audit log list (admin only)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.schema import RosterEntry, Student
from tests.dashboard_support import API, Account, StatementCounter, admin, seeded_catalog, viewer
from tests.survey_rows import response_for

__all__ = ["admin", "viewer"]

T0 = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
async def data(session: AsyncSession) -> dict[str, uuid.UUID]:
    ids = await seeded_catalog(session)
    programs = ["B-UZ-SE", "B-IT-ME"]
    for i in range(6):
        entry = RosterEntry(student_external_id=f"st{i}", program_id=ids[programs[i % 2]], course_year=i % 3 + 1)
        session.add(entry)
        await session.flush()
        student = Student(
            student_external_id=f"st{i}",
            roster_id=entry.id,
            telegram_user_id=500 + i,
            username=f"tg{i}",
            gender="female" if i % 2 else "male",
            region_id=ids["REG-BUKHARA"],
        )
        session.add(student)
        await session.flush()
        for k in range(2):  # two responses each, append-only
            status = "employed" if k else "unemployed"
            session.add(response_for(student.id, entry, T0 + timedelta(days=i, hours=k), employment_status=status))
    await session.commit()
    return ids


async def test_students(client: AsyncTestClient[Litestar], viewer: Account, data: dict[str, uuid.UUID]) -> None:
    body = (await client.get(f"{API}/bot2/students/", headers=viewer.auth)).json()
    assert body["count"] == 6
    first = body["results"][0]
    assert first["student_external_id"] == "st0" and first["program_details"]["code"] == "B-UZ-SE"
    assert first["region_details"]["name_ru"] == "Бухара" and first["course_year"] == 1
    women = (await client.get(f"{API}/bot2/students/?gender=female", headers=viewer.auth)).json()
    assert women["count"] == 3
    by_program = await client.get(f"{API}/bot2/students/?program={data['B-IT-ME']}&search=tg3", headers=viewer.auth)
    assert [s["username"] for s in by_program.json()["results"]] == ["tg3"]
    assert (await client.get(f"{API}/bot2/students/?gender=robot", headers=viewer.auth)).status_code == 400


async def test_surveys(
    app: Litestar, client: AsyncTestClient[Litestar], viewer: Account, data: dict[str, uuid.UUID]
) -> None:
    with StatementCounter(app.state.db.engine) as counter:
        body = (await client.get(f"{API}/bot2/surveys/?page_size=12", headers=viewer.auth)).json()
    assert counter.selects() - counter.selects_from("app_user") == 2  # count and page (the guard's check aside)
    assert body["count"] == 12
    assert body["results"][0]["student_external_id"] == "st5"  # newest first
    assert body["results"][0]["program_details"]["name_uz"]
    employed = (await client.get(f"{API}/bot2/surveys/?employment_status=employed", headers=viewer.auth)).json()
    assert employed["count"] == 6
    window = await client.get(
        f"{API}/bot2/surveys/?from=2026-04-02T06:00:00Z&to=2026-04-03T06:00:00Z", headers=viewer.auth
    )
    assert window.json()["count"] == 2  # st1's two responses at 06:00 and 07:00 on the 2nd
    year = (await client.get(f"{API}/bot2/surveys/?course_year=1&survey_campaign=default", headers=viewer.auth)).json()
    assert year["count"] == 4
    one = body["results"][0]
    assert (await client.get(f"{API}/bot2/surveys/{one['id']}", headers=viewer.auth)).json() == one


async def test_enrollments_crud(
    client: AsyncTestClient[Litestar], admin: Account, viewer: Account, data: dict[str, uuid.UUID]
) -> None:
    path = f"{API}/bot2/enrollments/"
    body = {"program_code": "B-UZ-SE", "course_year": 1, "student_count": 120}
    created = await client.post(path, json=body, headers=admin.auth)
    assert created.status_code == 201, created.text
    assert created.json()["program_details"]["code"] == "B-UZ-SE" and created.json()["academic_year"] == "2025-2026"
    dup = await client.post(path, json=body, headers=admin.auth)
    assert dup.status_code == 409 and dup.json()["code"] == "ENROLLMENT_EXISTS"
    other = await client.post(path, json={**body, "academic_year": "2026-2027"}, headers=admin.auth)
    assert other.status_code == 201
    negative = await client.post(path, json={**body, "student_count": -1}, headers=admin.auth)
    assert negative.status_code == 400 and negative.json()["field"] == "$.student_count"
    assert (await client.post(path, json=body, headers=viewer.auth)).status_code == 403
    item = f"{path}{created.json()['id']}"
    clash = await client.patch(item, json={"academic_year": "2026-2027"}, headers=admin.auth)
    assert clash.status_code == 409
    patched = await client.patch(item, json={"student_count": 130, "notes": "after appeals"}, headers=admin.auth)
    assert patched.json()["student_count"] == 130
    listed = (await client.get(f"{path}?search=appeals", headers=viewer.auth)).json()
    assert listed["count"] == 1
    ordered = (await client.get(f"{path}?ordering=-student_count", headers=viewer.auth)).json()["results"]
    assert [r["student_count"] for r in ordered] == [130, 120]
    assert (await client.delete(item, headers=admin.auth)).status_code == 204
    assert (await client.get(item, headers=viewer.auth)).status_code == 404


async def test_audit_log_is_admin_only(
    client: AsyncTestClient[Litestar], admin: Account, viewer: Account, data: dict[str, uuid.UUID]
) -> None:
    await client.post(
        f"{API}/bot2/roster/",
        json={"student_external_id": "au1", "program_code": "B-UZ-SE", "course_year": 1, "first_name": "Secret"},
        headers=admin.auth,
    )
    assert (await client.get(f"{API}/audit-log/", headers=viewer.auth)).status_code == 403
    body = (await client.get(f"{API}/audit-log/?entity_table=bot2_roster", headers=admin.auth)).json()
    assert body["count"] == 1
    entry = body["results"][0]
    assert entry["action"] == "create" and entry["actor_email"] == "admin@example.com"
    logins = (await client.get(f"{API}/audit-log/?action=login", headers=admin.auth)).json()
    assert logins["count"] == 2  # the admin's and the viewer's logins in the fixtures
    assert (await client.get(f"{API}/audit-log/?action=explode", headers=admin.auth)).status_code == 400
    one = await client.get(f"{API}/audit-log/{entry['id']}", headers=admin.auth)
    assert one.json() == entry
