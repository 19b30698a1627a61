"""Bot1 dashboard lists (SPEC §5, RS §3.5): filters, search, ordering, pagination, nested uz/ru/en labels without a
query per row, and half-open time windows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    CampusTourRequest,
    FoundationRequest,
    PolitoAcademyRequest,
)
from tests.dashboard_support import API, Account, StatementCounter, seeded_catalog, viewer

__all__ = ["viewer"]

BASE = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # 17:00 in Tashkent


async def add_applicants(session: AsyncSession, ids: dict[str, uuid.UUID], n: int) -> list[Applicant]:
    regions = ["REG-TASHCITY", "REG-SAMARKAND", "REG-FERGANA"]
    people = [
        Applicant(
            telegram_user_id=1000 + i,
            username=f"user{i}",
            first_name=f"First{i}",
            last_name=f"Last{i}",
            phone=f"+99890{i:07d}",
            region_id=ids[regions[i % 3]],
            created_at=BASE + timedelta(minutes=i),
        )
        for i in range(n)
    ]
    session.add_all(people)
    await session.flush()
    return people


async def add_admissions(session: AsyncSession, ids: dict[str, uuid.UUID], people: list[Applicant]) -> None:
    directions = ["DIR-SOFT-UZ", "DIR-MECH-IT"]
    for i, person in enumerate(people):
        submitted = None if i % 5 == 4 else BASE + timedelta(hours=6 * i)
        session.add(
            Admissions2026Application(
                applicant_id=person.id,
                direction_id=ids[directions[i % 2]],
                track_id=ids["TRACK-UZBEK"] if i % 2 == 0 else None,
                status="new" if submitted is None else "submitted",
                submitted_at=submitted,
                answers={"score": i},
            )
        )
    await session.commit()


@pytest.fixture
async def admissions(session: AsyncSession) -> dict[str, uuid.UUID]:
    ids = await seeded_catalog(session)
    people = await add_applicants(session, ids, 10)
    await add_admissions(session, ids, people)
    return ids


async def get(client: AsyncTestClient[Litestar], account: Account, path: str) -> Any:
    response = await client.get(f"{API}{path}", headers=account.auth)
    assert response.status_code == 200, response.text
    return response.json()


async def test_applicants_list(
    client: AsyncTestClient[Litestar], viewer: Account, admissions: dict[str, uuid.UUID]
) -> None:
    body = await get(client, viewer, "/bot1/applicants/")
    assert body["count"] == 10
    first = body["results"][0]
    assert first["telegram_user_id"] == 1009  # newest first
    assert first["region_details"]["code"] == "REG-TASHCITY"
    assert first["region_details"]["name_uz"] == "Toshkent shahri"
    assert first["region_details"]["name_ru"] == "город Ташкент"
    assert first["region_id"] == first["region"] == str(admissions["REG-TASHCITY"])
    found = await get(client, viewer, "/bot1/applicants/?search=USER7")
    assert [r["username"] for r in found["results"]] == ["user7"]
    by_region = await get(client, viewer, f"/bot1/applicants/?region={admissions['REG-SAMARKAND']}")
    assert {r["region_details"]["code"] for r in by_region["results"]} == {"REG-SAMARKAND"}
    assert by_region["count"] == 3
    one = await get(client, viewer, f"/bot1/applicants/{first['id']}")
    assert one == first
    missing = await client.get(f"{API}/bot1/applicants/{uuid.uuid4()}", headers=viewer.auth)
    assert missing.status_code == 404


async def test_admissions_nested_labels_and_filters(
    client: AsyncTestClient[Litestar], viewer: Account, admissions: dict[str, uuid.UUID]
) -> None:
    body = await get(client, viewer, "/bot1/applications/admissions-2026/")
    assert body["count"] == 10
    row = body["results"][0]
    assert row["kind"] == "admissions-2026"
    assert set(row["direction_details"]) == {"id", "type", "code", "name", "name_uz", "name_ru", "name_en"}
    assert row["direction"] == row["direction_id"] == row["direction_details"]["id"]
    assert row["applicant"] == row["applicant_id"] == row["applicant_details"]["id"]
    assert row["applicant_details"]["region_details"]["type"] == "region"
    soft = await get(client, viewer, f"/bot1/applications/admissions-2026/?direction={admissions['DIR-SOFT-UZ']}")
    assert soft["count"] == 5 and {r["direction_details"]["code"] for r in soft["results"]} == {"DIR-SOFT-UZ"}
    tracked = await get(client, viewer, f"/bot1/applications/admissions-2026/?track={admissions['TRACK-UZBEK']}")
    assert {r["track_details"]["name_en"] for r in tracked["results"]} == {"Uzbek Track"}
    new = await get(client, viewer, "/bot1/applications/admissions-2026/?status=new")
    assert new["count"] == 2 and all(r["submitted_at"] is None for r in new["results"])
    searched = await get(client, viewer, "/bot1/applications/admissions-2026/?search=last3")
    assert [r["applicant_details"]["last_name"] for r in searched["results"]] == ["Last3"]


async def test_default_order_puts_unsubmitted_last(
    client: AsyncTestClient[Litestar], viewer: Account, admissions: dict[str, uuid.UUID]
) -> None:
    rows = (await get(client, viewer, "/bot1/applications/admissions-2026/?page_size=100"))["results"]
    stamps = [r["submitted_at"] for r in rows]
    assert stamps[-2:] == [None, None]
    assert stamps[:-2] == sorted(stamps[:-2], reverse=True)
    ascending = (await get(client, viewer, "/bot1/applications/admissions-2026/?ordering=submitted_at"))["results"]
    assert [r["submitted_at"] for r in ascending][-2:] == [None, None]


async def test_time_window_is_half_open_in_local_time(
    client: AsyncTestClient[Litestar], viewer: Account, admissions: dict[str, uuid.UUID]
) -> None:
    # Submissions at BASE + 6h·i (i = 0..8 except 4): 12:00Z, 18:00Z, 00:00Z next day, ...
    path = "/bot1/applications/admissions-2026/"
    exact = await get(client, viewer, f"{path}?from=2026-03-10T12:00:00Z&to=2026-03-10T18:00:00Z")
    assert exact["count"] == 1  # [12:00, 18:00) holds i=0 only
    # A date-only `to` includes that whole local day: 2026-03-10 in Tashkent ends at 19:00Z.
    day = await get(client, viewer, f"{path}?from=2026-03-10&to=2026-03-10")
    assert day["count"] == 2
    naive = await get(client, viewer, f"{path}?from=2026-03-10T23:00:00")  # 18:00Z
    assert naive["count"] == 7  # i = 1, 2, 3, 5, 6, 7, 8 (i = 4 and 9 are unsubmitted)
    for query, field in [
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("from=2026-03-11&to=2026-03-10", "from"),
    ]:
        response = await client.get(f"{API}{path}?{query}", headers=viewer.auth)
        assert response.status_code == 400 and response.json()["field"] == field, query


async def test_lists_make_no_query_per_row(
    app: Litestar, client: AsyncTestClient[Litestar], viewer: Account, admissions: dict[str, uuid.UUID]
) -> None:
    counts = []
    for size in (2, 10):
        for path in ("/bot1/applications/admissions-2026/", "/bot1/applicants/"):
            with StatementCounter(app.state.db.engine) as counter:
                body = await get(client, viewer, f"{path}?page_size={size}")
            assert len(body["results"]) == size
            counts.append(counter.selects() - counter.selects_from("app_user"))
    # Count and page: the same two statements however many rows come back. (The guard's user check is left out:
    # it is cached per token for a few seconds, so whether it runs depends on timing, not on the page.)
    assert counts == [2, 2, 2, 2]


async def test_other_kinds(client: AsyncTestClient[Litestar], session: AsyncSession, viewer: Account) -> None:
    ids = await seeded_catalog(session)
    (person,) = await add_applicants(session, ids, 1)
    session.add_all(
        [
            CampusTourRequest(
                applicant_id=person.id, status="submitted", submitted_at=BASE, preferred_date=BASE.date()
            ),
            FoundationRequest(applicant_id=person.id, status="submitted", submitted_at=BASE),
            PolitoAcademyRequest(
                applicant_id=person.id, status="submitted", submitted_at=BASE, subject_id=ids["SUBJ-MATH"]
            ),
        ]
    )
    await session.commit()
    tour = await get(client, viewer, "/bot1/applications/campus-tour/")
    assert tour["results"][0]["preferred_date"] == "2026-03-10" and "direction" not in tour["results"][0]
    polito = await get(client, viewer, f"/bot1/applications/polito-academy/?subject={ids['SUBJ-MATH']}")
    assert polito["results"][0]["subject_details"]["name_uz"] == "Matematika"
    foundation = await get(client, viewer, "/bot1/applications/foundation/")
    assert foundation["count"] == 1
    wrong = await client.get(f"{API}/bot1/applications/foundation/?direction={ids['DIR-SOFT-UZ']}", headers=viewer.auth)
    assert wrong.status_code == 400 and wrong.json()["field"] == "direction"
    unknown = await client.get(f"{API}/bot1/applications/visa/", headers=viewer.auth)
    assert unknown.status_code == 404
    detail = await get(client, viewer, f"/bot1/applications/foundation/{foundation['results'][0]['id']}")
    assert detail["id"] == foundation["results"][0]["id"]
    bad_status = await client.get(f"{API}/bot1/applications/foundation/?status=done", headers=viewer.auth)
    assert bad_status.status_code == 400 and bad_status.json()["field"] == "status"
