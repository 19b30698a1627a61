"""Query filters of the dashboard lists that need more than a type: booleans and half-open time windows
(`from`/`to` as ISO dates or datetimes, naive values in CRM_TIMEZONE, a date-only `to` includes that day)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar.params import Parameter
from sqlalchemy import ColumnElement

from ingest.core.problems import ProblemError

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})

BoolParam = Annotated[str | None, Parameter(description="true or false")]
FromParam = Annotated[
    str | None,
    Parameter(query="from", description="start of [from, to): ISO date or datetime; naive values in CRM_TIMEZONE"),
]
ToParam = Annotated[str | None, Parameter(description="end of [from, to), exclusive; a date alone includes that day")]


def bool_of(raw: str | None, name: str) -> bool | None:
    """`true`/`false` (also 1/0, yes/no, any case); None when absent; 400 naming the parameter otherwise."""
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ProblemError(400, "INVALID_BOOLEAN", f"{name} must be true or false.", field=name)


def _instant(raw: str, name: str, tz: ZoneInfo, *, is_end: bool) -> datetime:
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            local = datetime.combine(day + timedelta(days=1) if is_end else day, time(), tzinfo=tz)
            return local.astimezone(UTC)
        moment = datetime.fromisoformat(text.replace(" ", "+") if "T" in text else text)
    except ValueError:
        raise ProblemError(
            400,
            "INVALID_DATETIME",
            f"{name} must be an ISO date (2026-03-01) or datetime (2026-03-01T08:00:00+05:00).",
            field=name,
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def time_window(from_raw: str | None, to_raw: str | None, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """UTC bounds of [from, to); 400 naming the parameter for malformed values or from >= to."""
    start = _instant(from_raw, "from", tz, is_end=False) if from_raw and from_raw.strip() else None
    end = _instant(to_raw, "to", tz, is_end=True) if to_raw and to_raw.strip() else None
    if start is not None and end is not None and start >= end:
        raise ProblemError(400, "INVALID_TIME_RANGE", "from must be earlier than to.", field="from")
    return start, end


def window_clauses(column: Any, start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if start is not None:
        clauses.append(column >= start)
    if end is not None:
        clauses.append(column < end)
    return clauses
