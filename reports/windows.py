"""Time windows for analytics, exports and reports: half-open `[from, to)` on `submitted_at`, parsed from query
parameters (SPEC §8) or named relative to now (`last_7_days`, `this_month`, ... for scheduled reports)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import msgspec

from ingest.core.problems import ProblemError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Sentinels for an open side; every stored timestamp lies strictly between them.
MIN_US = -(2**62)
MAX_US = 2**62

_DATE_ONLY = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
# A `+05:00` offset typed into a URL without escaping arrives as ` 05:00`: read it the way it was meant.
_SPACE_OFFSET = re.compile(r"^(.*\d)\s(\d{2}(?::?\d{2})?)$")


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


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def _bad(param: str, detail: str) -> ProblemError:
    return ProblemError(400, "INVALID_TIME_RANGE", detail, field=param)


def parse_bound(raw: str, param: str, tz: tzinfo, *, is_end: bool) -> datetime:
    """One `from`/`to` value as an aware UTC instant. A date alone means local midnight; as `to` it means the
    midnight after, so the whole day is included."""
    value = raw.strip()
    if not value:
        raise _bad(param, f"{param} is empty; give an ISO date (2026-01-31) or datetime (2026-01-31T09:00:00+05:00).")
    if _DATE_ONLY.match(value):
        return _local_day_start(_parse_date(value, param), tz, param, next_day=is_end)
    spaced = _SPACE_OFFSET.match(value)
    if spaced and ("T" in value or value.count(" ") == 2):
        value = f"{spaced.group(1)}+{spaced.group(2)}"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _bad(param, f"{param}={raw!r} is not an ISO date or datetime ({exc}).") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _bad(param, f"{param}={raw!r} is out of range.") from None


def _parse_date(value: str, param: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise _bad(param, f"{param}={value!r} is not a valid date ({exc}).") from None


def _local_day_start(day: date, tz: tzinfo, param: str, *, next_day: bool) -> datetime:
    try:
        if next_day:
            day = day + timedelta(days=1)
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    except (OverflowError, ValueError):
        raise _bad(param, f"{param}={day.isoformat()!r} is out of range.") from None


def parse_window(raw_from: str | None, raw_to: str | None, tz: tzinfo) -> Window:
    """The window of a request; both sides optional (all time); `from >= to` is a 400 naming `from`."""
    start = parse_bound(raw_from, "from", tz, is_end=False) if raw_from is not None else None
    end = parse_bound(raw_to, "to", tz, is_end=True) if raw_to is not None else None
    if start is not None and end is not None and start >= end:
        raise _bad("from", "from must be earlier than to.")
    return Window(start, end)


# --- relative windows (scheduled reports) ------------------------------------------------------------------------

_LAST_N_DAYS = re.compile(r"^last_(\d{1,4})_days$")
RELATIVE_WINDOWS = (
    "all_time",
    "today",
    "yesterday",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "this_year",
    "last_year",
    "last_N_days",
)


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def relative_window(name: str, now: datetime, tz: tzinfo) -> Window:
    """A named window relative to `now`, in whole local days: `last_7_days` is the 7 days before today (today
    excluded, so a report run at 06:00 covers complete days); `this_*` runs up to now."""
    today = now.astimezone(tz).date()

    def at(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)

    now_utc = now.astimezone(UTC)
    match = _LAST_N_DAYS.match(name)
    if match:
        days = int(match.group(1))
        if days < 1:
            raise ValueError("last_N_days needs N >= 1")
        return Window(at(today - timedelta(days=days)), at(today))
    monday = today - timedelta(days=today.weekday())
    windows = {
        "all_time": lambda: Window(None, None),
        "today": lambda: Window(at(today), now_utc),
        "yesterday": lambda: Window(at(today - timedelta(days=1)), at(today)),
        "this_week": lambda: Window(at(monday), now_utc),
        "last_week": lambda: Window(at(monday - timedelta(days=7)), at(monday)),
        "this_month": lambda: Window(at(_month_start(today)), now_utc),
        "last_month": lambda: Window(at(_month_start(today, 1)), at(_month_start(today))),
        "this_year": lambda: Window(at(date(today.year, 1, 1)), now_utc),
        "last_year": lambda: Window(at(date(today.year - 1, 1, 1)), at(date(today.year, 1, 1))),
    }
    if name not in windows:
        raise ValueError(f"unknown relative window {name!r}; use one of {', '.join(RELATIVE_WINDOWS)}")
    return windows[name]()
