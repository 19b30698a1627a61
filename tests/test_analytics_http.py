"""How the analytics endpoints behave over HTTP: auth, 503 before the first snapshot, snapshot headers, ETag and
304, a new snapshot seen at once, and 400 (never 500) for every bad parameter."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from ingest.catalog.seed import seed_catalog
from ingest.core.schema import CatalogItem, RosterEntry
from reports.analytics.data import DAILY_GROUPINGS, GROUPINGS
from reports.snapshot_http import store_of
from tests.analytics_dataset import auth as auth  # a fixture
from tests.analytics_dataset import publish as publish  # a fixture
from tests.survey_rows import add_answer, add_roster
from tests.test_analytics import dataset as dataset  # a fixture

A = "/api/v1/analytics"
ENDPOINTS = [
    "/admissions-2026/by-direction",
    "/admissions-2026/by-track",
    "/polito-academy/by-subject",
    "/admissions-2026/daily",
    "/applications/funnel",
    "/applications/by-region",
    "/bot2/course-year-coverage",
    "/bot2/program-coverage",
    "/bot2/program-course-matrix",
    "/bot2/program-details-by-year?course_year=1",
    "/bot2/enrollments-overview",
    "/bot2/employment",
]


async def test_analytics_need_a_logged_in_user(client) -> None:
    for path in ENDPOINTS:
        response = await client.get(A + path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "NOT_AUTHENTICATED"


async def test_no_snapshot_yet_is_503_not_500(client, auth) -> None:
    for path in ENDPOINTS:
        response = await client.get(A + path, headers=auth)
        assert response.status_code == 503, path
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "NO_SNAPSHOT"


async def test_snapshot_headers_etag_and_304(client, auth, session, settings, publish) -> None:
    await seed_catalog(session)
    await session.commit()
    first = await publish()
    for path in ENDPOINTS:
        response = await client.get(A + path, headers=auth)
        assert response.status_code == 200, (path, response.text)
        assert response.headers["x-snapshot-id"] == first
        assert datetime.fromisoformat(response.headers["x-data-built-at"]).tzinfo is not None
        etag = response.headers["etag"]
        assert first in etag
        again = await client.get(A + path, headers={**auth, "If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == etag
        stale = await client.get(A + path, headers={**auth, "If-None-Match": '"something-else"'})
        assert stale.status_code == 200
    # another query of the same endpoint is another representation: its own ETag
    a = await client.get(f"{A}/applications/funnel", headers=auth, params={"from": "2026-01-01"})
    b = await client.get(f"{A}/applications/funnel", headers=auth, params={"from": "2026-02-01"})
    assert a.headers["etag"] != b.headers["etag"]


async def test_a_new_snapshot_is_seen_at_once(client, auth, session, settings, publish) -> None:
    program = CatalogItem(type="program", code="PA", name="Program A")
    session.add(program)
    await session.flush()
    roster = await add_roster(session, "s1", 2, "default", program.id)
    await session.commit()
    first = await publish()
    response = await client.get(f"{A}/bot2/course-year-coverage", headers=auth)
    etag = response.headers["etag"]
    assert response.json()[1]["responded"] == 0
    await add_answer(session, roster, datetime.now(UTC), "employed")
    await session.commit()
    second = await publish()
    assert second != first
    response = await client.get(f"{A}/bot2/course-year-coverage", headers={**auth, "If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["x-snapshot-id"] == second
    assert response.json()[1] == {"course_year": 2, "total": 1, "responded": 1, "coverage_percent": 100.0, "planned": 0}
    session.add(RosterEntry(student_external_id="s2", program_id=program.id, course_year=2))
    await session.commit()
    await publish()
    response = await client.get(f"{A}/bot2/course-year-coverage", headers=auth)
    assert response.json()[1]["total"] == 2 and response.json()[1]["coverage_percent"] == 50.0


@pytest.mark.parametrize(
    ("path", "params", "code", "field"),
    [
        ("/admissions-2026/by-direction", {"from": "not-a-date"}, "INVALID_TIME_RANGE", "from"),
        ("/admissions-2026/by-direction", {"to": "2026-13-01T00:00:00Z"}, "INVALID_TIME_RANGE", "to"),
        ("/admissions-2026/by-track", {"from": "2026-02-30"}, "INVALID_TIME_RANGE", "from"),
        ("/polito-academy/by-subject", {"from": "2026-02-02", "to": "2026-02-01"}, "INVALID_TIME_RANGE", "from"),
        ("/admissions-2026/daily", {"group_by": "planet"}, "INVALID_GROUP_BY", "group_by"),
        ("/admissions-2026/daily", {"lang": "de"}, "INVALID_LANG", "lang"),
        ("/applications/by-region", {"kind": "visa"}, "INVALID_KIND", "kind"),
        ("/applications/funnel", {"to": "9999-12-31"}, "INVALID_TIME_RANGE", "to"),
        ("/bot2/program-details-by-year", {}, "COURSE_YEAR_REQUIRED", "course_year"),
        ("/bot2/program-details-by-year", {"course_year": "two"}, "INVALID_COURSE_YEAR", "course_year"),
        ("/bot2/program-details-by-year", {"course_year": "6"}, "INVALID_COURSE_YEAR", "course_year"),
        ("/bot2/program-details-by-year", {"course_year": "0"}, "INVALID_COURSE_YEAR", "course_year"),
        ("/bot2/program-coverage", {"course_year": "1.5"}, "INVALID_COURSE_YEAR", "course_year"),
        ("/bot2/course-year-coverage", {"campaign": "x" * 65}, "INVALID_CAMPAIGN", "campaign"),
        ("/bot2/course-year-coverage", {"campaign": " "}, "INVALID_CAMPAIGN", "campaign"),
        ("/bot2/enrollments-overview", {"academic_year": "y" * 21}, "INVALID_ACADEMIC_YEAR", "academic_year"),
        ("/bot2/employment", {"from": "2026-01-01T10:00:00+99:00"}, "INVALID_TIME_RANGE", "from"),
    ],
)
async def test_bad_parameters_are_400_naming_the_parameter(client, auth, path, params, code, field) -> None:
    response = await client.get(A + path, params=params, headers=auth)
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)


async def test_windows_are_half_open_over_http(client, auth, session, settings, publish) -> None:
    """An answer exactly at `to` belongs to the next window, never to both (RS §13: closed intervals double-count)."""
    program = CatalogItem(type="program", code="PA", name="Program A")
    session.add(program)
    await session.flush()
    at = datetime(2026, 1, 1, 19, 0, tzinfo=UTC)  # 2026-01-02 00:00 in Tashkent
    await add_answer(session, await add_roster(session, "s1", 1, "default", program.id), at)
    await session.commit()
    await publish()

    async def responded(params: dict[str, str]) -> int:
        response = await client.get(f"{A}/bot2/course-year-coverage", params=params, headers=auth)
        return response.json()[0]["responded"]

    assert await responded({"from": "2026-01-01", "to": "2026-01-01"}) == 0
    assert await responded({"from": "2026-01-02", "to": "2026-01-02"}) == 1
    assert await responded({"to": "2026-01-02T00:00:00"}) == 0
    assert await responded({"from": "2026-01-02T00:00:00"}) == 1
    assert await responded({"from": "2026-01-01T19:00:00Z", "to": "2026-01-01T19:00:00.000001Z"}) == 1


async def test_indexes_are_built_off_the_event_loop(app, client, auth, dataset) -> None:
    """A snapshot's indexes are built on first use by a worker thread: a build takes tens of milliseconds at scale,
    and on the event loop it would hold every other request of the process (bots' submissions included)."""
    loop_thread = client.blocking_portal.call(threading.get_ident)  # the thread of the loop the app runs on
    for path in [*ENDPOINTS, *(f"/admissions-2026/daily?group_by={g}" for g in ("direction", "track", "region"))]:
        assert (await client.get(A + path, headers=auth)).status_code == 200, path
    data = store_of(app.state).data()
    assert data is not None
    apps = data.applications.get()
    parts = [data.catalog, data.applications, data.surveys, data.coverage, *apps.parts(GROUPINGS, None)]
    parts += [apps.parts((), name)[0] for name in DAILY_GROUPINGS]
    assert all(part.ready for part in parts)
    assert [part.built_in for part in parts if part.built_in == loop_thread] == []


async def test_a_repeated_query_is_answered_from_the_snapshots_memo(app, client, auth, dataset) -> None:
    """The ETag names a URL at a snapshot, so once a query has come twice its encoded answer is kept and later
    viewers get those bytes; a query asked once is not kept (one-off windows would crowd the memo)."""
    params = {"from": "2026-01-01", "campaign": "default"}
    first = await client.get(f"{A}/bot2/employment", headers=auth, params=params)
    data = store_of(app.state).data()
    assert data is not None and data.answer(first.headers["etag"]) is None
    second = await client.get(f"{A}/bot2/employment", headers=auth, params=params)
    assert data.answer(first.headers["etag"]) == first.content
    third = await client.get(f"{A}/bot2/employment", headers=auth, params=params)
    assert first.status_code == second.status_code == third.status_code == 200
    assert first.content == second.content == third.content
    assert first.headers["etag"] == second.headers["etag"] == third.headers["etag"]
    other = await client.get(f"{A}/bot2/employment", headers=auth, params={**params, "from": "2025-01-01"})
    assert other.headers["etag"] != first.headers["etag"]
    assert data.answer(other.headers["etag"]) is None
