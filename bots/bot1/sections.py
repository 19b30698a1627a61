"""Bot1's sections, in main-menu order, and the main menu that offers them (SPEC §10). A new section is a spec
module beside this one (see `bots.bot1.section`) added to `SECTIONS`."""

from __future__ import annotations

from aiogram.fsm.state import State
from aiogram.types import ReplyKeyboardMarkup

from bots import keyboards
from bots.bot1 import admissions, campus_tour, foundation, polito_academy
from bots.bot1.section import Section
from bots.texts import LANGS, t

SECTIONS: tuple[Section, ...] = (
    campus_tour.SECTION,
    admissions.SECTION,
    foundation.SECTION,
    polito_academy.SECTION,
)
BY_ITEM: dict[str, Section] = {section.item: section for section in SECTIONS}
CONFIRM_STEPS: tuple[State, ...] = tuple(section.confirm for section in SECTIONS)


MENU_ITEMS: tuple[tuple[str, str], ...] = (
    *((section.button, section.item) for section in SECTIONS),
    ("btn_menu_apps", "apps"),
    ("btn_menu_settings", "settings"),
)  # (texts key of the button, menu item)
# A main-menu button's label in any language -> its item (a reply keyboard button arrives as its text).
MENU_LABELS: dict[str, str] = {t(lang, key): item for lang in LANGS for key, item in MENU_ITEMS}


def main_menu(lang: str) -> ReplyKeyboardMarkup:
    """The persistent main menu (as the reference bot's): the sections two to a row, then "My applications" and
    "Settings"."""
    return keyboards.reply_menu(lang, MENU_ITEMS)
