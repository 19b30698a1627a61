"""Time windows (SPEC §8): half-open [from, to), ISO dates or datetimes, naive values in the configured zone, a
date-only `to` including its whole day, 400 naming the parameter for anything malformed, empty or out of range.
One parser serves the dashboard lists and the analytics/exports: the same tables run through it and through both
callers over HTTP. Relative report windows at the end."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ingest.catalog.seed import seed_catalog
from ingest.core.problems import ProblemError
from ingest.http.windows import Window, parse_window, to_us
from reports.schedule.relative_windows import relative_window
from tests.analytics_dataset import make_publisher
from tests.dashboard_support import API, admin, viewer  # noqa: F401 (fixtures)

TZ = ZoneInfo("Asia/Tashkent")  # the tests' CRM_TIMEZONE


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


GOOD = [
    (None, None, None, None),
    ("2026-01-01", "2026-01-01", utc(2025, 12, 31, 19), utc(2026, 1, 1, 19)),  # the whole local day
    ("2026-01-01", None, utc(2025, 12, 31, 19), None),
    (None, "2026-01-31", None, utc(2026, 1, 31, 19)),
    ("2026-01-01T10:00:00", "2026-01-01T12:30:00", utc(2026, 1, 1, 5), utc(2026, 1, 1, 7, 30)),  # naive = local
    ("2026-01-01T10:00:00Z", "2026-01-02T00:00:00+05:00", utc(2026, 1, 1, 10), utc(2026, 1, 1, 19)),
    ("2026-01-01 10:00", "2026-01-01 11:00:00.5", utc(2026, 1, 1, 5), utc(2026, 1, 1, 6, 0, 0, 500000)),
    # an unescaped `+05:00` arrives as ` 05:00`, with or without the `T`
    ("2026-01-01T10:00:00 05:00", "2026-01-01T11:00:00 0500", utc(2026, 1, 1, 5), utc(2026, 1, 1, 6)),
    ("2026-01-31 09:00:00 05:00", None, utc(2026, 1, 31, 4), None),
    ("20260101", "20260102", utc(2025, 12, 31, 19), utc(2026, 1, 2, 19)),
    ("0001-01-03T00:00:00Z", "9999-12-29T00:00:00Z", utc(1, 1, 3), utc(9999, 12, 29)),  # extremes still held
]

BAD = [
    ("yesterday", None, "from"),
    ("2026-13-01", None, "from"),
    ("2026-02-30", None, "from"),
    (None, "2026-01-01T25:00:00Z", "to"),
    (None, "2026-13-01T00:00:00Z", "to"),
    ("", None, "from"),  # empty is not absent: the stricter of the two former parsers (see the report)
    (None, "  ", "to"),
    ("2026-01-01T10:00:00+24:00", None, "from"),
    (None, "9999-12-31", "to"),  # a date-only `to` steps past the last representable day
    ("9999-12-31", None, "from"),
    ("0001-01-01", None, "from"),  # local midnight is before year 1 in UTC
    ("0001-01-01T00:00:00Z", None, "from"),
    (None, "9999-12-31T23:59:59-05:00", "to"),
    ("2026-01-02", "2026-01-01", "from"),  # from >= to
    ("2026-01-01T12:00:00Z", "2026-01-01T12:00:00Z", "from"),  # empty window
    ("2026-01-01\x00", None, "from"),
]


@pytest.mark.parametrize(("raw_from", "raw_to", "start", "end"), GOOD)
def test_parse_window(raw_from, raw_to, start, end) -> None:
    assert parse_window(raw_from, raw_to, TZ) == Window(start, end)


@pytest.mark.parametrize(("raw_from", "raw_to", "field"), BAD)
def test_bad_windows_are_400_naming_the_parameter(raw_from, raw_to, field) -> None:
    with pytest.raises(ProblemError) as err:
        parse_window(raw_from, raw_to, TZ)
    assert err.value.status == 400
    assert err.value.code == "INVALID_TIME_RANGE"
    assert err.value.field == field


async def test_the_lists_and_the_analytics_read_windows_alike(app, db, session, settings, client, viewer) -> None:  # noqa: F811
    await seed_catalog(session)
    await session.commit()
    await make_publisher(app, db, session, settings)()
    callers = [f"{API}/bot1/applications/admissions-2026/", f"{API}/analytics/applications/funnel"]

    async def status(url: str, raw_from: str | None, raw_to: str | None) -> tuple[int, str | None, str | None]:
        params = {k: v for k, v in (("from", raw_from), ("to", raw_to)) if v is not None}
        response = await client.get(url, params=params, headers=viewer.auth)
        body = response.json() if response.status_code == 400 else {}
        return response.status_code, body.get("code"), body.get("field")

    for raw_from, raw_to, *_ in GOOD:
        for url in callers:
            assert (await status(url, raw_from, raw_to))[0] == 200, (url, raw_from, raw_to)
    for raw_from, raw_to, field in BAD:
        for url in callers:
            assert await status(url, raw_from, raw_to) == (400, "INVALID_TIME_RANGE", field), (url, raw_from, raw_to)


# Issue 17 finding 4, as the attacker sent it: each was an OverflowError and a 500 before the one parser.
EXTREMES = [
    ("/audit-log/", {"to": "9999-12-31"}, "to"),
    ("/bot1/applications/admissions-2026/", {"from": "0001-01-01"}, "from"),
    ("/bot2/surveys/", {"from": "0001-01-01"}, "from"),
    ("/exports/applications.csv", {"to": "0001-01-01"}, "to"),
]


async def test_extreme_dates_are_400_on_every_caller(app, db, session, settings, client, admin) -> None:  # noqa: F811
    await seed_catalog(session)
    await session.commit()
    await make_publisher(app, db, session, settings)()
    for path, params, field in EXTREMES:
        response = await client.get(f"{API}{path}", params=params, headers=admin.auth)
        assert response.status_code == 400, (path, params, response.text)
        assert (response.json()["code"], response.json()["field"]) == ("INVALID_TIME_RANGE", field), path


def test_adjacent_windows_never_count_an_instant_twice() -> None:
    first = parse_window("2026-01-01", "2026-01-01", TZ)
    second = parse_window("2026-01-02", "2026-01-02", TZ)
    edge = second.start
    assert edge is not None and first.end == edge
    assert not first.contains(edge) and second.contains(edge)
    assert to_us(edge) == first.end_us == second.start_us


def test_relative_windows() -> None:
    now = datetime(2026, 3, 18, 4, 30, tzinfo=UTC)  # 09:30 on Wednesday 2026-03-18 in Tashkent
    local_midnight = lambda y, m, d: datetime(y, m, d, tzinfo=TZ).astimezone(UTC)  # noqa: E731
    assert relative_window("yesterday", now, TZ) == Window(local_midnight(2026, 3, 17), local_midnight(2026, 3, 18))
    assert relative_window("last_7_days", now, TZ) == Window(local_midnight(2026, 3, 11), local_midnight(2026, 3, 18))
    assert relative_window("this_month", now, TZ) == Window(local_midnight(2026, 3, 1), now)
    assert relative_window("last_month", now, TZ) == Window(local_midnight(2026, 2, 1), local_midnight(2026, 3, 1))
    assert relative_window("last_week", now, TZ) == Window(local_midnight(2026, 3, 9), local_midnight(2026, 3, 16))
    assert relative_window("last_year", now, TZ) == Window(local_midnight(2025, 1, 1), local_midnight(2026, 1, 1))
    assert relative_window("all_time", now, TZ) == Window(None, None)
    january = datetime(2026, 1, 10, 12, tzinfo=UTC)
    assert relative_window("last_month", january, TZ) == Window(local_midnight(2025, 12, 1), local_midnight(2026, 1, 1))
    with pytest.raises(ValueError, match="unknown relative window"):
        relative_window("last_fortnight", now, TZ)
    with pytest.raises(ValueError):
        relative_window("last_0_days", now, TZ)
