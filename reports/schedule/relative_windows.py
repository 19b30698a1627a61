"""Named windows relative to now for scheduled reports (SPEC §9: `last_7_days`, `this_month`, ...); windows from
query parameters are parsed by `ingest.http.windows`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ingest.http.windows import Window

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
