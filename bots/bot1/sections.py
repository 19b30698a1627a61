"""Bot1's four sections: Campus Tour, Admissions 2026, Foundation Year and Polito Academy. Each ends on a summary
with confirm / start again / cancel; confirm stores the application in the outbox before anything is said."""

from __future__ import annotations

from datetime import date
from functools import partial

from aiogram import F
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message

from bots import keyboards, validators
from bots.bot1 import menu, payloads
from bots.bot1.states import Admissions, CampusTour, Foundation, Polito
from bots.catalog_cache import name_in
from bots.deps import Deps
from bots.forms import PROMPTS, Turn, begin, finish, get_form, get_profile, outcome_text, pressed, put
from bots.routing import Handlers
from bots.steps import TEXT, TOUR, ask_catalog, catalog_step, date_step, invalid, text_step
from bots.texts import t

router = Handlers("bot1.sections")

SECTIONS: dict[str, tuple[State, str, str]] = {  # menu item -> (first step, intro text, outbox kind)
    "campus": (CampusTour.organization, "campus_intro", "bot1.campus_tour"),
    "admissions": (Admissions.track, "admissions_intro", "bot1.admissions_2026"),
    "foundation": (Foundation.extra_phone, "foundation_intro", "bot1.foundation"),
    "polito": (Polito.subject, "polito_intro", "bot1.polito_academy"),
}
CONFIRM_STEPS = (CampusTour.confirm, Admissions.confirm, Foundation.confirm, Polito.confirm)


# --- entering a section ------------------------------------------------------------------------------------------


@router.callback_query(keyboards.MenuCB.filter(F.item.in_(SECTIONS)))
async def open_section(callback: CallbackQuery, callback_data: keyboards.MenuCB, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    turn = await Turn.of(callback, deps, state)
    if not await menu.registered(turn):
        return
    first, intro, _ = SECTIONS[callback_data.item]
    await begin(state, first, section=callback_data.item)
    await turn.say(intro)
    await turn.go(first)


# --- prompts -----------------------------------------------------------------------------------------------------


@PROMPTS.of(CampusTour.time)
async def _ask_tour_time(turn: Turn) -> None:
    hours = {"opens": validators.OPENS.strftime("%H:%M"), "closes": validators.CLOSES.strftime("%H:%M")}
    await turn.say("ask_tour_time", keyboards.time_slots(turn.lang), **hours)


@PROMPTS.of(Admissions.track)
async def _ask_track(turn: Turn) -> None:
    items = await ask_catalog(turn, "track", "ask_track")
    if items == []:  # no tracks offered: the track is optional, go on
        await turn.go(Admissions.direction)


@PROMPTS.of(Admissions.direction)
async def _ask_direction(turn: Turn) -> None:
    items = await ask_catalog(turn, "direction", "ask_direction")
    if items == []:
        await turn.say("catalog_unavailable", keyboards.retry(turn.lang))


@PROMPTS.of(Polito.subject)
async def _ask_subject(turn: Turn) -> None:
    items = await ask_catalog(turn, "subject", "ask_subject", columns=2)
    if items == []:  # the subject is optional
        await turn.go(Polito.confirm)


async def _ask_confirm(turn: Turn) -> None:
    await turn.say_text(await summary(turn), keyboards.confirm(turn.lang))


for _step in CONFIRM_STEPS:
    PROMPTS.of(_step)(_ask_confirm)


# --- Campus Tour -------------------------------------------------------------------------------------------------


text_step(
    router,
    CampusTour.organization,
    "ask_org",
    "organization",
    partial(validators.free_text, key="bad_org", max_len=200),
    CampusTour.position,
)
text_step(
    router,
    CampusTour.position,
    "ask_position",
    "position",
    partial(validators.free_text, key="bad_position", max_len=100),
    CampusTour.extra_phone,
)
for _step, _then in (
    (CampusTour.extra_phone, CampusTour.visitors),
    (Admissions.extra_phone, Admissions.confirm),
    (Foundation.extra_phone, Foundation.confirm),
):
    text_step(router, _step, "ask_extra_phone", "extra_phone", validators.uz_phone, _then, skip=True)
text_step(router, CampusTour.visitors, "ask_visitors", "visitors", validators.visitor_count, CampusTour.date)
date_step(router, CampusTour.date, "ask_tour_date", "date", TOUR, CampusTour.time)


@router.callback_query(CampusTour.time, keyboards.PickCB.filter(F.field == "time"))
async def slot_picked(callback: CallbackQuery, callback_data: keyboards.PickCB, state: FSMContext, deps: Deps) -> None:
    await pressed(callback)
    value = callback_data.value
    await _tour_time(await Turn.of(callback, deps, state), f"{value[:2]}:{value[2:]}")


@router.message(CampusTour.time, *TEXT)
async def time_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    await _tour_time(await Turn.of(message, deps, state), message.text)


async def _tour_time(turn: Turn, text: str) -> None:
    form = await get_form(turn.state)
    try:
        value = validators.tour_time(text, date.fromisoformat(form["date"]), turn.deps.now().replace(tzinfo=None))
    except validators.Invalid as error:
        return await invalid(turn, error)
    await put(turn.state, time=value)
    await turn.go(CampusTour.confirm)


# --- Admissions 2026 and Polito Academy: catalog choices ------------------------------------------------------------


catalog_step(router, Admissions.track, "track", Admissions.direction)
catalog_step(router, Admissions.direction, "direction", Admissions.extra_phone)
catalog_step(router, Polito.subject, "subject", Polito.confirm)


# --- summary and confirmation ------------------------------------------------------------------------------------


async def summary(turn: Turn) -> str:
    lang = turn.lang
    form = await get_form(turn.state)
    profile = await get_profile(turn.state)
    _, _, kind = SECTIONS[form["section"]]
    none = t(lang, "sum_none")
    lines = [
        t(lang, "confirm_title"),
        t(lang, "sum_kind", value=t(lang, menu.KIND_KEYS[kind])),
        t(lang, "sum_name", value=f"{profile.get('first_name', '')} {profile.get('last_name', '')}"),
        t(lang, "sum_phone", value=profile.get("phone") or none),
    ]
    if form["section"] == "campus":
        lines += [
            t(lang, "sum_org", value=form.get("organization", "")),
            t(lang, "sum_position", value=form.get("position", "")),
            t(lang, "sum_visitors", value=form.get("visitors", "")),
            t(lang, "sum_date", value=date.fromisoformat(form["date"]).strftime("%d.%m.%Y")),
            t(lang, "sum_time", value=form.get("time", "")),
        ]
    if form["section"] == "admissions":
        lines.append(t(lang, "sum_track", value=name_in(form.get("track_names"), lang) or none))
        lines.append(t(lang, "sum_direction", value=name_in(form.get("direction_names"), lang)))
    if form["section"] == "polito":
        lines.append(t(lang, "sum_subject", value=name_in(form.get("subject_names"), lang) or none))
    if form["section"] in ("campus", "admissions", "foundation"):
        lines.append(t(lang, "sum_extra_phone", value=form.get("extra_phone") or none))
    lines.append(t(lang, "sum_region", value=name_in(profile.get("region_names"), lang) or none))
    lines.append(t(lang, "confirm_hint"))
    return "\n".join(lines)


BUILDERS = {
    "campus": payloads.campus_tour,
    "admissions": payloads.admissions,
    "foundation": payloads.foundation,
    "polito": payloads.polito_academy,
}


@router.callback_query(StateFilter(*CONFIRM_STEPS), keyboards.ActCB.filter(F.name == "confirm"))
async def confirmed(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await pressed(callback)
    turn = await Turn.of(callback, deps, state)
    form = await get_form(state)
    _, _, kind = SECTIONS[form["section"]]
    body = BUILDERS[form["section"]](await get_profile(state), form)
    outcome = await turn.submit(kind, body)
    await finish(state)
    await turn.say_text(outcome_text(turn.lang, outcome), keyboards.main_menu(turn.lang))


@router.callback_query(StateFilter(*CONFIRM_STEPS), keyboards.ActCB.filter(F.name == "restart"))
async def restart(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await pressed(callback)
    section = (await get_form(state))["section"]
    first, _, _ = SECTIONS[section]
    await begin(state, first, section=section)
    await (await Turn.of(callback, deps, state)).go(first)
