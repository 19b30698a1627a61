"""Time windows from the `from`/`to` query parameters (SPEC §8), one parser for the dashboard lists and for the
analytics, exports and reports: half-open `[from, to)`, ISO dates or datetimes, naive values in CRM_TIMEZONE, a
date-only `to` including that whole day; malformed, impossible or out-of-range values, an empty value and
`from >= to` are 400 INVALID_TIME_RANGE naming the parameter."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Annotated, Any

import msgspec
from litestar.params import QueryParameter
from sqlalchemy import ColumnElement

from ingest.core.problems import ProblemError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Sentinels for an open side; every stored timestamp lies strictly between them.
MIN_US = -(2**62)
MAX_US = 2**62
# Bounds a little inside what datetime can hold: readers convert them to any zone and step a day from them (the
# exports' local dates), which must not overflow into a 500.
EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=2)
LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)

_DATE_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
# A `+05:00` offset typed into a URL without escaping arrives as ` 05:00`: read it the way it was meant.
_SPACE_OFFSET = re.compile(r"^(.*\d)\s(\d{2}(?::?\d{2})?)$")

FromParam = Annotated[
    str | None,
    QueryParameter(name="from", description="start of [from, to): ISO date or datetime; naive values in CRM_TIMEZONE"),
]
ToParam = Annotated[
    str | None, QueryParameter(description="end of [from, to), exclusive; a date alone includes that day")
]


class Window(msgspec.Struct, frozen=True):
    """A half-open interval of instants; a missing side is unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    @property
    def start_us(self) -> int:
        return MIN_US if self.start is None else to_us(self.start)

    @property
    def end_us(self) -> int:
        return MAX_US if self.end is None else to_us(self.end)

    @property
    def is_all_time(self) -> bool:
        return self.start is None and self.end is None

    def key(self) -> tuple[int, int]:
        return (self.start_us, self.end_us)

    def contains(self, instant: datetime) -> bool:
        us = to_us(instant)
        return self.start_us <= us < self.end_us


def to_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime (exact integer arithmetic, no float rounding)."""
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _bad(param: str, detail: str) -> ProblemError:
    return ProblemError(400, "INVALID_TIME_RANGE", detail, field=param)


def _out_of_range(param: str, raw: str) -> ProblemError:
    return _bad(param, f"{param}={raw!r} is out of range.")


def _in_range(instant: datetime, raw: str, param: str) -> datetime:
    """`instant` in UTC, or a 400 when it lies outside [EARLIEST, LATEST]."""
    try:
        utc = instant.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _out_of_range(param, raw) from None
    if not EARLIEST <= utc <= LATEST:
        raise _out_of_range(param, raw)
    return utc


def _local_midnight(day: date, tz: tzinfo, raw: str, param: str, *, next_day: bool) -> datetime:
    try:
        midnight = datetime.combine(day + timedelta(days=int(next_day)), time(0), tzinfo=tz)
    except OverflowError:
        raise _out_of_range(param, raw) from None
    return _in_range(midnight, raw, param)


def parse_bound(raw: str, param: str, tz: tzinfo, *, is_end: bool) -> datetime:
    """One `from`/`to` value as an aware UTC instant. A date alone means local midnight; as `to` it means the
    midnight after, so the whole day is included."""
    value = raw.strip()
    if not value:
        raise _bad(param, f"{param} is empty; give an ISO date (2026-01-31) or datetime (2026-01-31T09:00:00+05:00).")
    if _DATE_ONLY.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise _bad(param, f"{param}={raw!r} is not a valid date ({exc}).") from None
        return _local_midnight(day, tz, raw, param, next_day=is_end)
    spaced = _SPACE_OFFSET.match(value)
    if spaced and ("T" in value or value.count(" ") == 2):
        value = f"{spaced.group(1)}+{spaced.group(2)}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _bad(param, f"{param}={raw!r} is not an ISO date or datetime ({exc}).") from None
    return _in_range(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz), raw, param)


def parse_window(raw_from: str | None, raw_to: str | None, tz: tzinfo) -> Window:
    """The window of a request; both sides optional (all time); `from >= to` is a 400 naming `from`."""
    start = parse_bound(raw_from, "from", tz, is_end=False) if raw_from is not None else None
    end = parse_bound(raw_to, "to", tz, is_end=True) if raw_to is not None else None
    if start is not None and end is not None and start >= end:
        raise _bad("from", "from must be earlier than to.")
    return Window(start, end)


def window_clauses(column: Any, window: Window) -> list[ColumnElement[bool]]:
    """`window` as SQL conditions on `column` (none for an open side)."""
    clauses: list[ColumnElement[bool]] = []
    if window.start is not None:
        clauses.append(column >= window.start)
    if window.end is not None:
        clauses.append(column < window.end)
    return clauses
