"""Building blocks of the form steps both bots use: catalog choices, the shared contact, the calendar date steps,
and re-asking with an example after a bad answer."""

from __future__ import annotations

from datetime import date, timedelta

from aiogram.types import CallbackQuery, Message

from bots import calendar, keyboards, validators
from bots.catalog_cache import CatalogItem
from bots.forms import Turn, drop_keyboard
from bots.texts import t


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def birth_range(today: date) -> calendar.DateRange:
    return calendar.DateRange(
        first=years_before(today, validators.MAX_AGE), last=years_before(today, validators.MIN_AGE), year_jumps=True
    )


def tour_range(today: date) -> calendar.DateRange:
    return calendar.DateRange(first=today, last=today + timedelta(days=validators.TOUR_BOOKING_DAYS))


def birth_example(today: date) -> str:
    return years_before(today, 18).strftime("%d.%m.%Y")


def tour_example(today: date) -> str:
    return (today + timedelta(days=7)).strftime("%d.%m.%Y")


async def invalid(turn: Turn, error: validators.Invalid, **extra: object) -> None:
    """Say what was wrong, with an example, and ask the same step again."""
    await turn.say(error.key, **{**extra, **error.values})
    await turn.reask()


async def ask_catalog(turn: Turn, type_: str, question: str, columns: int = 1) -> list[CatalogItem] | None:
    """Ask to pick an item of a catalog type; None (and a retry button) when the catalog cannot be had."""
    items = await turn.deps.catalog.items(type_)
    if items is None:
        await turn.say("catalog_unavailable", keyboards.retry(turn.lang))
        return None
    if items:
        await turn.say(question, keyboards.catalog(turn.lang, items, columns))
    return items


async def picked_item(turn: Turn, callback: CallbackQuery, cb: keyboards.CatalogCB, type_: str) -> CatalogItem | None:
    """The catalog item a button stands for; re-asks when it is of another type or no longer offered."""
    await callback.answer()
    item = await turn.deps.catalog.get(type_, cb.id) if cb.type == type_ else None
    if item is None:
        await turn.say("catalog_item_gone")
        await turn.reask()
        return None
    await drop_keyboard(callback)
    return item


async def own_contact_phone(turn: Turn, message: Message) -> str | None:
    """The sender's own phone from a shared contact; anything else is re-asked (SPEC §10, RS §13 security 11)."""
    contact = message.contact
    if contact is None:
        await turn.say("contact_expected", keyboards.contact(turn.lang))
        return None
    if contact.user_id != turn.user.id:
        await turn.say("contact_not_own", keyboards.contact(turn.lang))
        return None
    phone = validators.contact_phone(contact.phone_number)
    await turn.say("contact_saved", keyboards.REMOVE, phone=phone)
    return phone


async def ask_date(turn: Turn, question: str, allowed: calendar.DateRange, example: str, today: date) -> None:
    year, month = (allowed.last.year, allowed.last.month) if allowed.year_jumps else (today.year, today.month)
    markup = calendar.build(turn.lang, year, month, allowed, today=None if allowed.year_jumps else today)
    await turn.say(question, markup, example=example)


async def calendar_nav(
    callback: CallbackQuery, cb: calendar.CalendarCB, turn: Turn, allowed: calendar.DateRange
) -> None:
    """Show another month in the same message."""
    await callback.answer()
    if callback.message is not None and hasattr(callback.message, "edit_reply_markup"):
        today = None if allowed.year_jumps else turn.deps.today()
        await callback.message.edit_reply_markup(
            reply_markup=calendar.build(turn.lang, cb.y, cb.m, allowed, today=today)
        )


async def calendar_day(
    callback: CallbackQuery, cb: calendar.CalendarCB, turn: Turn, allowed: calendar.DateRange
) -> date | None:
    """The day pressed, if allowed; otherwise a short alert and the calendar stays."""
    day = calendar.picked(cb)
    if day is None or not allowed.allows(day):
        await callback.answer(t(turn.lang, "cal_day_unavailable"), show_alert=True)
        return None
    await callback.answer()
    await drop_keyboard(callback)
    return day
