"""Applying through any bot1 section, run from its spec (`bots.bot1.section`): entering it from the main menu, its
questions, then a summary with confirm / start again / cancel. Confirm stores the application in the outbox before
anything is said."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bots import keyboards
from bots.bot1 import menu
from bots.bot1.registration import PROFILE_FIELDS
from bots.bot1.section import Choice, Section
from bots.bot1.sections import BY_ITEM, CONFIRM_STEPS, MENU_LABELS, SECTIONS, main_menu
from bots.catalog_cache import name_in
from bots.deps import Deps
from bots.forms import PROMPTS, Turn, begin, finish, get_form, get_profile, outcome_text, pressed
from bots.routing import Handlers
from bots.steps import reask_withdrawn_choice
from bots.texts import t
from ingest.contracts.kinds import APPLICATION_REGION

router = Handlers("bot1.apply")
menu_keys = Handlers("bot1.menu_keys")  # tried first: a main-menu button works at any step


async def _current(turn: Turn) -> Section:
    return BY_ITEM[(await get_form(turn.state))["section"]]


@router.callback_query(keyboards.MenuCB.filter(F.item.in_(BY_ITEM)))
async def section_button(
    callback: CallbackQuery, callback_data: keyboards.MenuCB, state: FSMContext, deps: Deps
) -> None:
    """An inline menu button (of a menu sent before the menu became a reply keyboard)."""
    await callback.answer()
    await open_section(await Turn.of(callback, deps, state), callback_data.item)


@menu_keys.message(F.text.in_(MENU_LABELS))
async def menu_key(message: Message, state: FSMContext, deps: Deps) -> None:
    """A button of the persistent main menu: open what it names (leaving any form in progress)."""
    turn = await Turn.of(message, deps, state)
    item = MENU_LABELS[message.text]
    if item == "apps":
        await menu.show_applications(turn)
    elif item == "settings":
        await menu.show_settings(turn)
    else:
        await open_section(turn, item)


async def open_section(turn: Turn, item: str) -> None:
    if not await menu.registered(turn):
        return
    section = BY_ITEM[item]
    await begin(turn.state, section.first, section=section.item)
    await turn.say(section.intro)
    await turn.go(section.first)


async def summary(turn: Turn) -> str:
    lang = turn.lang
    form = await get_form(turn.state)
    profile = await get_profile(turn.state)
    section = BY_ITEM[form["section"]]
    none = t(lang, "sum_none")
    return "\n".join(
        [
            t(lang, "confirm_title"),
            t(lang, "sum_kind", value=t(lang, menu.KIND_KEYS[section.kind.batch_kind])),
            t(lang, "sum_name", value=f"{profile.get('first_name', '')} {profile.get('last_name', '')}"),
            t(lang, "sum_phone", value=profile.get("phone") or none),
            *(line.text(form, lang) for line in section.summary),
            t(lang, "sum_region", value=name_in(_region_names(form, profile), lang) or none),
            t(lang, "confirm_hint"),
        ]
    )


def _region_names(form: dict, profile: dict) -> object:
    """The region chosen for the application; the profile's for a form begun before sections asked it."""
    return form.get(f"{APPLICATION_REGION}_names") or profile.get("region_names")


async def _ask_confirm(turn: Turn) -> None:
    await turn.say_text(await summary(turn), keyboards.confirm(turn.lang))


def _register(section: Section) -> None:
    """Its questions' prompts and handlers; its summary is the question of its confirm step."""
    for step, state, then in section.questions():
        step.register(router, state, then)
    PROMPTS.of(section.confirm)(_ask_confirm)


for _section in SECTIONS:
    _register(_section)


@router.callback_query(StateFilter(*CONFIRM_STEPS), keyboards.ActCB.filter(F.name == "confirm"))
async def confirmed(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await pressed(callback)
    turn = await Turn.of(callback, deps, state)
    section = await _current(turn)
    outcome = await turn.submit(section.kind.batch_kind, section.body(await get_profile(state), await get_form(state)))
    choices = {step.name: section.state(step.name) for step in section.steps if isinstance(step, Choice)}
    if await reask_withdrawn_choice(turn, outcome, choices):
        return
    await finish(state)
    text = outcome_text(turn.lang, outcome, settings_fields=PROFILE_FIELDS)
    await turn.say_text(text, main_menu(turn.lang))


@router.callback_query(StateFilter(*CONFIRM_STEPS), keyboards.ActCB.filter(F.name == "restart"))
async def restart(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await pressed(callback)
    turn = await Turn.of(callback, deps, state)
    section = await _current(turn)
    await begin(state, section.first, section=section.item)
    await turn.go(section.first)
