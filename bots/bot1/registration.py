"""Bot1 registration: language, own contact, names, gender, birth date (calendar or typed), e-mail, region. The
answers become the profile only when the last step is done, then the applicant upsert is queued in the outbox."""

from __future__ import annotations

from datetime import date

from aiogram import F
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bots import calendar, keyboards, validators
from bots.bot1 import menu, payloads
from bots.bot1.states import Registration
from bots.catalog_cache import names_of
from bots.deps import Deps
from bots.forms import PROMPTS, Turn, begin, drop_keyboard, finish, get_profile, outcome_text, put, set_lang
from bots.routing import Handlers
from bots.steps import (
    ask_catalog,
    ask_date,
    birth_example,
    birth_range,
    calendar_day,
    calendar_nav,
    invalid,
    own_contact_phone,
    picked_item,
)

router = Handlers("bot1.registration")


# --- prompts -----------------------------------------------------------------------------------------------------


@PROMPTS.of(Registration.language)
async def _ask_language(turn: Turn) -> None:
    await turn.say("choose_language", keyboards.languages())


@PROMPTS.of(Registration.contact)
async def _ask_contact(turn: Turn) -> None:
    await turn.say("ask_contact", keyboards.contact(turn.lang))


@PROMPTS.of(Registration.first_name)
async def _ask_first_name(turn: Turn) -> None:
    await turn.say("ask_first_name")


@PROMPTS.of(Registration.last_name)
async def _ask_last_name(turn: Turn) -> None:
    await turn.say("ask_last_name")


@PROMPTS.of(Registration.gender)
async def _ask_gender(turn: Turn) -> None:
    await turn.say("ask_gender", keyboards.gender(turn.lang))


@PROMPTS.of(Registration.birth_date)
async def _ask_birth_date(turn: Turn) -> None:
    today = turn.deps.today()
    await ask_date(turn, "ask_birth_date", birth_range(today), birth_example(today), today)


@PROMPTS.of(Registration.email)
async def _ask_email(turn: Turn) -> None:
    await turn.say("ask_email", keyboards.skip(turn.lang))


@PROMPTS.of(Registration.region)
async def _ask_region(turn: Turn) -> None:
    await ask_catalog(turn, "region", "ask_region", columns=2)


# --- entry points ------------------------------------------------------------------------------------------------


@router.message(CommandStart())
async def start(message: Message, state: FSMContext, deps: Deps) -> None:
    """Registered users get the menu; others register (the language step first)."""
    profile = await get_profile(state)
    if profile.get("registered"):
        await finish(state)
        await menu.show(await Turn.of(message, deps, state))
        return
    await begin(state, Registration.language)
    turn = await Turn.of(message, deps, state)
    await turn.say("welcome_bot1")
    await turn.go(Registration.language)


async def edit_profile(turn: Turn) -> None:
    """Settings → update my profile: the registration again, from the contact step."""
    await begin(turn.state, Registration.contact)
    await turn.go(Registration.contact)


# --- steps -------------------------------------------------------------------------------------------------------


@router.callback_query(Registration.language, keyboards.LangCB.filter())
async def language_chosen(
    callback: CallbackQuery, callback_data: keyboards.LangCB, state: FSMContext, deps: Deps
) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    await set_lang(state, callback_data.code)
    turn = await Turn.of(callback, deps, state)
    await turn.say("language_set")
    await turn.go(Registration.contact)


@router.message(Registration.contact, ~F.text.startswith("/"))
async def contact_shared(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    phone = await own_contact_phone(turn, message)
    if phone is None:
        return
    await put(state, phone=phone, telegram_chat_id=message.chat.id, username=message.from_user.username or "")
    await turn.go(Registration.first_name)


@router.message(Registration.first_name, F.text, ~F.text.startswith("/"))
async def first_name_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    try:
        await put(state, first_name=validators.person_name(message.text, "bad_first_name"))
    except validators.Invalid as error:
        return await invalid(turn, error)
    await turn.go(Registration.last_name)


@router.message(Registration.last_name, F.text, ~F.text.startswith("/"))
async def last_name_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    try:
        await put(state, last_name=validators.person_name(message.text, "bad_last_name"))
    except validators.Invalid as error:
        return await invalid(turn, error)
    await turn.go(Registration.gender)


@router.callback_query(Registration.gender, keyboards.PickCB.filter(F.field == "gender"))
async def gender_chosen(
    callback: CallbackQuery, callback_data: keyboards.PickCB, state: FSMContext, deps: Deps
) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    await put(state, gender=callback_data.value if callback_data.value in ("male", "female") else "unspecified")
    await (await Turn.of(callback, deps, state)).go(Registration.birth_date)


@router.callback_query(Registration.birth_date, calendar.CalendarCB.filter(F.act == calendar.NAV))
async def birth_calendar_nav(
    callback: CallbackQuery, callback_data: calendar.CalendarCB, state: FSMContext, deps: Deps
) -> None:
    turn = await Turn.of(callback, deps, state)
    await calendar_nav(callback, callback_data, turn, birth_range(deps.today()))


@router.callback_query(Registration.birth_date, calendar.CalendarCB.filter(F.act == calendar.DAY))
async def birth_day_picked(
    callback: CallbackQuery, callback_data: calendar.CalendarCB, state: FSMContext, deps: Deps
) -> None:
    turn = await Turn.of(callback, deps, state)
    day = await calendar_day(callback, callback_data, turn, birth_range(deps.today()))
    if day is not None:
        await _birth_date(turn, day)


@router.message(Registration.birth_date, F.text, ~F.text.startswith("/"))
async def birth_date_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    try:
        day = validators.parse_date(message.text)
    except validators.Invalid as error:
        return await invalid(turn, error, example=birth_example(deps.today()))
    await _birth_date(turn, day)


async def _birth_date(turn: Turn, day: date) -> None:
    today = turn.deps.today()
    try:
        validators.birth_date(day, today)
    except validators.Invalid as error:
        return await invalid(turn, error, example=birth_example(today))
    await put(turn.state, birth_date=day.isoformat())
    await turn.say("date_chosen", date=day.strftime("%d.%m.%Y"))
    await turn.go(Registration.email)


@router.message(Registration.email, F.text, ~F.text.startswith("/"))
async def email_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    try:
        await put(state, email=validators.email(message.text))
    except validators.Invalid as error:
        return await invalid(turn, error)
    await turn.go(Registration.region)


@router.callback_query(Registration.email, keyboards.ActCB.filter(F.name == "skip"))
async def email_skipped(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    await put(state, email="")
    await (await Turn.of(callback, deps, state)).go(Registration.region)


@router.callback_query(Registration.region, keyboards.ActCB.filter(F.name == "retry"))
async def region_retry(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    await (await Turn.of(callback, deps, state)).reask()


@router.callback_query(Registration.region, keyboards.CatalogCB.filter())
async def region_chosen(
    callback: CallbackQuery, callback_data: keyboards.CatalogCB, state: FSMContext, deps: Deps
) -> None:
    turn = await Turn.of(callback, deps, state)
    item = await picked_item(turn, callback, callback_data, "region")
    if item is None:
        return
    answers = await put(state, region_id=item.id, region_names=names_of(item))
    profile = await get_profile(state)
    profile.update(answers, registered=True, telegram_user_id=turn.user.id, language=turn.lang)
    await state.update_data(profile=profile)
    outcome = await turn.submit("bot1.applicant", payloads.applicant(profile))
    await finish(state)
    if outcome.state == "rejected":
        await turn.say_text(outcome_text(turn.lang, outcome), keyboards.main_menu(turn.lang))
        return
    await turn.say("registration_done", keyboards.main_menu(turn.lang))
