"""Time windows (SPEC §8): half-open [from, to), ISO dates or datetimes, naive values in the configured zone, a
date-only `to` including its whole day, 400 naming the parameter for anything malformed; relative report windows."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ingest.core.problems import ProblemError
from reports.windows import Window, parse_window, relative_window, to_us

TZ = ZoneInfo("Asia/Tashkent")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw_from", "raw_to", "start", "end"),
    [
        (None, None, None, None),
        ("2026-01-01", "2026-01-01", utc(2025, 12, 31, 19), utc(2026, 1, 1, 19)),  # the whole local day
        ("2026-01-01", None, utc(2025, 12, 31, 19), None),
        (None, "2026-01-31", None, utc(2026, 1, 31, 19)),
        ("2026-01-01T10:00:00", "2026-01-01T12:30:00", utc(2026, 1, 1, 5), utc(2026, 1, 1, 7, 30)),  # naive = local
        ("2026-01-01T10:00:00Z", "2026-01-02T00:00:00+05:00", utc(2026, 1, 1, 10), utc(2026, 1, 1, 19)),
        ("2026-01-01 10:00", "2026-01-01 11:00:00.5", utc(2026, 1, 1, 5), utc(2026, 1, 1, 6, 0, 0, 500000)),
        # an unescaped `+05:00` arrives as ` 05:00`
        ("2026-01-01T10:00:00 05:00", "2026-01-01T11:00:00 0500", utc(2026, 1, 1, 5), utc(2026, 1, 1, 6)),
        ("20260101", "20260102", utc(2025, 12, 31, 19), utc(2026, 1, 2, 19)),
    ],
)
def test_parse_window(raw_from, raw_to, start, end) -> None:
    assert parse_window(raw_from, raw_to, TZ) == Window(start, end)


@pytest.mark.parametrize(
    ("raw_from", "raw_to", "field"),
    [
        ("yesterday", None, "from"),
        ("2026-13-01", None, "from"),
        ("2026-02-30", None, "from"),
        (None, "2026-01-01T25:00:00Z", "to"),
        (None, "2026-13-01T00:00:00Z", "to"),
        ("", None, "from"),
        (None, "  ", "to"),
        ("2026-01-01T10:00:00+24:00", None, "from"),
        (None, "9999-12-31", "to"),
        ("0001-01-01", None, "from"),
        ("2026-01-02", "2026-01-01", "from"),  # from >= to
        ("2026-01-01T12:00:00Z", "2026-01-01T12:00:00Z", "from"),  # empty window
        ("2026-01-01\x00", None, "from"),
    ],
)
def test_bad_windows_are_400_naming_the_parameter(raw_from, raw_to, field) -> None:
    with pytest.raises(ProblemError) as err:
        parse_window(raw_from, raw_to, TZ)
    assert err.value.status == 400
    assert err.value.code == "INVALID_TIME_RANGE"
    assert err.value.field == field


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
