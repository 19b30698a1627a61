"""Validation of the bots' typed answers (SPEC §10). Each validator returns the clean value or raises `Invalid`
carrying the texts-catalogue key of the re-ask message (which always shows an example)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from ingest.contracts.fields import normalise_student_id

MIN_AGE = 17
MAX_AGE = 100
MAX_VISITORS = 50
OPENS = time(9, 0)
CLOSES = time(18, 0)
TOUR_BOOKING_DAYS = 180
TIME_SLOTS = ("10:00", "11:30", "14:00", "15:30", "17:00")
CLOSED_WEEKDAYS = frozenset({6})  # no campus tours on Sundays (Monday = 0)
COURSE_YEARS = (1, 2, 3, 4, 5)  # 5 = graduated

_UZ_PHONE = re.compile(r"^\+998\d{9}$")
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-ʻʼ’`][^\W\d_]+)*$")
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,}$"
)
_DATE = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$")
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")


class Invalid(ValueError):
    """A bad answer; `key` names the re-ask text, `values` fill its placeholders."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def uz_phone(text: str) -> str:
    """An Uzbek mobile number as +998XXXXXXXXX (spaces, dashes and brackets are tolerated)."""
    compact = re.sub(r"[\s\-()]", "", text)
    if not _UZ_PHONE.match(compact):
        raise Invalid("bad_phone")
    return compact


def contact_phone(raw: str) -> str:
    """Telegram gives contact numbers with or without '+': store them in one form."""
    digits = re.sub(r"\D", "", raw)
    return f"+{digits}"


def person_name(text: str, key: str) -> str:
    """A first or last name: 2..50 letters, single spaces, hyphens or apostrophes between parts."""
    value = " ".join(text.split())
    if not 2 <= len(value) <= 50 or not _NAME.match(value):
        raise Invalid(key)
    return value


def email(text: str) -> str:
    value = text.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise Invalid("bad_email")
    return value


def parse_date(text: str) -> date:
    """A typed date `DD.MM.YYYY` (dots, slashes or dashes)."""
    match = _DATE.match(text.strip())
    if not match:
        raise Invalid("bad_date")
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise Invalid("bad_date") from None


def age_on(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def birth_date(value: date, today: date) -> date:
    """Old enough (≥ 17) and plausible (≤ 100 years)."""
    age = age_on(value, today)
    if age < MIN_AGE:
        raise Invalid("too_young", min_age=MIN_AGE)
    if age > MAX_AGE:
        raise Invalid("birth_too_old")
    return value


def open_slots(day: date, now: datetime) -> tuple[str, ...]:
    """The time slots still bookable on `day` (`now` is local time): all of them, or on today those not yet begun."""
    if day != now.date():
        return TIME_SLOTS
    return tuple(slot for slot in TIME_SLOTS if slot > now.strftime("%H:%M"))


def tour_date(value: date, now: datetime) -> date:
    """A campus-tour day: an open weekday from today (while a time slot is left today) within the booking horizon."""
    today = now.date()
    if value < today:
        raise Invalid("date_in_past")
    if value > today + timedelta(days=TOUR_BOOKING_DAYS):
        raise Invalid("date_too_far", days=TOUR_BOOKING_DAYS)
    if value.weekday() in CLOSED_WEEKDAYS:
        raise Invalid("day_closed")
    if not open_slots(value, now):
        raise Invalid("today_full")
    return value


def tour_time(text: str, day: date, now: datetime) -> str:
    """`HH:MM` within opening hours, and not already past when the visit is today (`now` is local time)."""
    match = _TIME.match(text.strip())
    if not match:
        raise Invalid("bad_time")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise Invalid("bad_time")
    chosen = time(hour, minute)
    if not OPENS <= chosen <= CLOSES:
        raise Invalid("time_outside_hours", opens=OPENS.strftime("%H:%M"), closes=CLOSES.strftime("%H:%M"))
    if day == now.date() and chosen <= now.time():
        raise Invalid("time_passed", example=CLOSES.strftime("%H:%M"))
    return chosen.strftime("%H:%M")


def visitor_count(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or not 1 <= int(value) <= MAX_VISITORS:
        raise Invalid("bad_visitors")
    return int(value)


def free_text(text: str, key: str, *, min_len: int = 2, max_len: int = 200) -> str:
    value = " ".join(text.split())
    if not min_len <= len(value) <= max_len:
        raise Invalid(key)
    return value


def course_year(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or int(value) not in COURSE_YEARS:
        raise Invalid("bad_course_year")
    return int(value)


def student_id(text: str) -> str:
    """A university student id by the contract's one rule (`SE54321`, `S1-000001`), spelled as typed: the server
    matches it with the roster case-insensitively."""
    value = normalise_student_id(text)
    if value is None:
        raise Invalid("bad_student_id")
    return value
