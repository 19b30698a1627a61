"""Keyboards and the callback data they carry. Inline buttons carry ids (catalog UUIDs, fixed choice values), so a
press is never matched back by its label; labels come from the texts catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bots.catalog_cache import CatalogItem
from bots.texts import LANGS, t
from bots.validators import COURSE_YEARS, TIME_SLOTS


class LangCB(CallbackData, prefix="lang"):
    code: str


class MenuCB(CallbackData, prefix="menu"):
    item: str


class PickCB(CallbackData, prefix="pick"):
    """A fixed choice: `field` is the question (gender, employed, ...), `value` the answer id."""

    field: str
    value: str


class CatalogCB(CallbackData, prefix="cat"):
    type: str
    id: str


class ActCB(CallbackData, prefix="act"):
    """A form action: confirm, restart, cancel, skip, retry."""

    name: str


T = TypeVar("T")
REMOVE = ReplyKeyboardRemove()


def _inline(rows: Sequence[Sequence[tuple[str, CallbackData]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=cb.pack()) for text, cb in row] for row in rows]
    )


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def languages() -> InlineKeyboardMarkup:
    return _inline([[(t(code, f"btn_lang_{code}"), LangCB(code=code)) for code in LANGS]])


def contact(lang: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t(lang, "btn_share_contact"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def gender(lang: str) -> InlineKeyboardMarkup:
    return _inline(
        [[(t(lang, "btn_male"), PickCB(field="gender", value="male")),
          (t(lang, "btn_female"), PickCB(field="gender", value="female"))]]
    )  # fmt: skip


def yes_no(lang: str, field: str) -> InlineKeyboardMarkup:
    return _inline(
        [[(t(lang, "btn_yes"), PickCB(field=field, value="yes")), (t(lang, "btn_no"), PickCB(field=field, value="no"))]]
    )


def skip(lang: str) -> InlineKeyboardMarkup:
    return _inline([[(t(lang, "btn_skip"), ActCB(name="skip"))]])


def confirm(lang: str) -> InlineKeyboardMarkup:
    return _inline(
        [
            [(t(lang, "btn_confirm"), ActCB(name="confirm"))],
            [(t(lang, "btn_restart_form"), ActCB(name="restart")), (t(lang, "btn_cancel"), ActCB(name="cancel"))],
        ]
    )


def retry(lang: str) -> InlineKeyboardMarkup:
    return _inline([[(t(lang, "btn_retry"), ActCB(name="retry")), (t(lang, "btn_cancel"), ActCB(name="cancel"))]])


def catalog(
    lang: str, items: Sequence[CatalogItem], columns: int = 1, *, keep: CatalogItem | None = None
) -> InlineKeyboardMarkup:
    """The items, `columns` to a row; with `keep`, first a row offering that item as the profile's (one tap)."""
    buttons = [(item.label(lang), CatalogCB(type=item.type, id=item.id)) for item in items]
    rows = _chunks(buttons, columns)
    if keep is not None:
        rows.insert(0, [(t(lang, "btn_keep_profile", value=keep.label(lang)), CatalogCB(type=keep.type, id=keep.id))])
    return _inline(rows)


def menu(lang: str, items: Sequence[tuple[str, str]], columns: int = 2) -> InlineKeyboardMarkup:
    """Menu buttons, each a (texts key, menu item) pair, `columns` to a row."""
    return _inline(_chunks([(t(lang, key), MenuCB(item=item)) for key, item in items], columns))


class EditCB(CallbackData, prefix="edit"):
    """Settings: edit one field of the profile."""

    field: str


PROFILE_EDITS = ("name", "phone", "gender", "birth_date", "email", "region")  # what Settings edits, one at a time


def reply_menu(lang: str, items: Sequence[tuple[str, str]], columns: int = 2) -> ReplyKeyboardMarkup:
    """A persistent reply keyboard of (texts key, item) buttons; a press arrives as the button's text."""
    keys = [KeyboardButton(text=t(lang, key)) for key, _item in items]
    return ReplyKeyboardMarkup(keyboard=_chunks(keys, columns), resize_keyboard=True, is_persistent=True)


def settings(lang: str) -> InlineKeyboardMarkup:
    """The language and each field of the profile, two to a row, then the main menu."""
    buttons = [(t(lang, "btn_change_lang"), MenuCB(item="lang"))]
    buttons += [(t(lang, f"btn_edit_{name}"), EditCB(field=name)) for name in PROFILE_EDITS]
    return _inline([*_chunks(buttons, 2), [(t(lang, "btn_main_menu"), MenuCB(item="home"))]])


def home(lang: str) -> InlineKeyboardMarkup:
    return _inline([[(t(lang, "btn_main_menu"), MenuCB(item="home"))]])


def time_slots(lang: str, slots: Sequence[str] = TIME_SLOTS) -> InlineKeyboardMarkup:
    """The slot buttons (on today, only those not yet begun)."""
    buttons = [(slot, PickCB(field="time", value=slot.replace(":", ""))) for slot in slots]
    return _inline(_chunks(buttons, 3))


def course_years(lang: str) -> InlineKeyboardMarkup:
    buttons = [(t(lang, "btn_course_year", n=n), PickCB(field="year", value=str(n))) for n in COURSE_YEARS if n != 5]
    rows = _chunks(buttons, 2)
    rows.append([(t(lang, "btn_graduated"), PickCB(field="year", value="5"))])
    return _inline(rows)


def link(text: str, url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=text, url=url)]])
