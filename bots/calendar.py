"""The inline month calendar of the date steps: days that cannot be chosen (outside the allowed range, or on a
closed weekday) are shown struck through and answer with an alert saying why, month navigation crosses year
boundaries, a birth-date calendar also jumps by year, and Cancel is part of the calendar. Typed `DD.MM.YYYY` is
handled by `bots.validators.parse_date` beside it."""

from __future__ import annotations

import calendar as stdcal
from dataclasses import dataclass
from datetime import date

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bots.keyboards import ActCB
from bots.texts import t, words

NOOP = "noop"  # titles, weekday names, blank cells
NAV = "nav"
DAY = "day"
OFF = "off"  # a day shown but not offered
STRIKE = "\u0336"  # combining long stroke: a disabled day reads as struck through


class CalendarCB(CallbackData, prefix="cal"):
    act: str
    y: int = 0
    m: int = 0
    d: int = 0


@dataclass(frozen=True)
class DateRange:
    """The days a calendar allows, and whether it offers year jumps (birth dates span decades)."""

    first: date
    last: date
    year_jumps: bool = False
    closed: frozenset[int] = frozenset()  # weekdays never offered (Monday = 0)

    def clamp(self, year: int, month: int) -> tuple[int, int]:
        """The month to show: (year, month) pulled inside the range."""
        index = min(max(year * 12 + month - 1, _index(self.first)), _index(self.last))
        return index // 12, index % 12 + 1

    def allows(self, day: date) -> bool:
        return self.first <= day <= self.last and day.weekday() not in self.closed


def _index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def _button(text: str, cb: CalendarCB) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def _noop(text: str = " ") -> InlineKeyboardButton:
    return _button(text, CalendarCB(act=NOOP))


def _nav(text: str, year: int, month: int, allowed: DateRange) -> InlineKeyboardButton:
    """A navigation arrow, inert when it would leave the range."""
    target = allowed.clamp(year, month)
    if target != (year, month):
        return _noop()
    return _button(text, CalendarCB(act=NAV, y=year, m=month))


def struck(text: str) -> str:
    return "".join(f"{char}{STRIKE}" for char in text)


def build(lang: str, year: int, month: int, allowed: DateRange, *, today: date | None = None) -> InlineKeyboardMarkup:
    """The keyboard of one month, ending with Cancel; `today` adds a "Today" shortcut when today is allowed."""
    year, month = allowed.clamp(year, month)
    months = words(lang, "cal_months")
    rows: list[list[InlineKeyboardButton]] = []
    if allowed.year_jumps:
        rows.append(
            [
                _nav("«", *allowed.clamp(year - 1, month), allowed) if year > allowed.first.year else _noop(),
                _noop(str(year)),
                _nav("»", *allowed.clamp(year + 1, month), allowed) if year < allowed.last.year else _noop(),
            ]
        )
    rows.append([_noop(t(lang, "cal_title", month=months[month - 1], year=year))])
    rows.append([_noop(name) for name in words(lang, "cal_weekdays")])
    for week in stdcal.Calendar(firstweekday=0).monthdayscalendar(year, month):
        row = []
        for day in week:
            if not day:
                row.append(_noop())
            elif allowed.allows(date(year, month, day)):
                row.append(_button(str(day), CalendarCB(act=DAY, y=year, m=month, d=day)))
            else:
                row.append(_button(struck(str(day)), CalendarCB(act=OFF, y=year, m=month, d=day)))
        rows.append(row)
    prev_y, prev_m = _shift(year, month, -1)
    next_y, next_m = _shift(year, month, 1)
    nav_row = [_nav("‹", prev_y, prev_m, allowed)]
    if today is not None and allowed.allows(today):
        nav_row.append(_button(t(lang, "btn_cal_today"), CalendarCB(act=DAY, y=today.year, m=today.month, d=today.day)))
    nav_row.append(_nav("›", next_y, next_m, allowed))
    rows.append(nav_row)
    rows.append([InlineKeyboardButton(text=t(lang, "btn_cancel"), callback_data=ActCB(name="cancel").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def picked(cb: CalendarCB) -> date | None:
    """The date a DAY button stands for (None when the callback was forged or malformed)."""
    try:
        return date(cb.y, cb.m, cb.d)
    except ValueError:
        return None
