"""Bot1's sections, in main-menu order, and the main menu that offers them (SPEC §10). A new section is a spec
module beside this one (see `bots.bot1.section`) added to `SECTIONS`."""

from __future__ import annotations

from aiogram.fsm.state import State
from aiogram.types import InlineKeyboardMarkup

from bots import keyboards
from bots.bot1 import admissions, campus_tour, foundation, polito_academy
from bots.bot1.section import Section

SECTIONS: tuple[Section, ...] = (
    campus_tour.SECTION,
    admissions.SECTION,
    foundation.SECTION,
    polito_academy.SECTION,
)
BY_ITEM: dict[str, Section] = {section.item: section for section in SECTIONS}
CONFIRM_STEPS: tuple[State, ...] = tuple(section.confirm for section in SECTIONS)


def main_menu(lang: str) -> InlineKeyboardMarkup:
    """The sections two to a row, then "My applications" and "Settings"."""
    items = [*((section.button, section.item) for section in SECTIONS), ("btn_menu_apps", "apps")]
    return keyboards.menu(lang, [*items, ("btn_menu_settings", "settings")])
