"""Bot2's survey: language, own contact, names, gender, region, student ID, programme, course year (1-4 or
graduated), employment (company and role, or help and consent to share), optional suggestions, then a summary to
confirm. Confirm stores the response in the outbox before anything is said (RS §9.2 with its defects fixed)."""

from __future__ import annotations

from typing import Any

import msgspec
from aiogram import F
from aiogram.filters import CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bots import keyboards, validators
from bots.bot2.states import Survey
from bots.catalog_cache import name_in, names_of
from bots.deps import Deps
from bots.forms import PROMPTS, Turn, begin, drop_keyboard, finish, get_form, has_lang, outcome_text, put, set_lang
from bots.routing import Handlers
from bots.steps import ask_catalog, invalid, own_contact_phone, picked_item
from bots.texts import t
from ingest.contracts import SurveySubmit

router = Handlers("bot2.survey")
TEXT = (F.text, ~F.text.startswith("/"))
PROGRAM_TYPE = "program"
MAX_SUGGESTIONS = 2000


async def home(turn: Turn) -> None:
    await turn.say("survey_again")


# --- prompts -----------------------------------------------------------------------------------------------------


@PROMPTS.of(Survey.language)
async def _ask_language(turn: Turn) -> None:
    await turn.say("choose_language", keyboards.languages())


@PROMPTS.of(Survey.contact)
async def _ask_contact(turn: Turn) -> None:
    await turn.say("ask_contact", keyboards.contact(turn.lang))


@PROMPTS.of(Survey.first_name)
async def _ask_first_name(turn: Turn) -> None:
    await turn.say("ask_first_name")


@PROMPTS.of(Survey.last_name)
async def _ask_last_name(turn: Turn) -> None:
    await turn.say("ask_last_name")


@PROMPTS.of(Survey.gender)
async def _ask_gender(turn: Turn) -> None:
    await turn.say("ask_gender", keyboards.gender(turn.lang))


@PROMPTS.of(Survey.region)
async def _ask_region(turn: Turn) -> None:
    await ask_catalog(turn, "region", "ask_region", columns=2)


@PROMPTS.of(Survey.student_id)
async def _ask_student_id(turn: Turn) -> None:
    await turn.say("ask_student_id")


@PROMPTS.of(Survey.program)
async def _ask_program(turn: Turn) -> None:
    if await ask_catalog(turn, PROGRAM_TYPE, "ask_program") == []:
        await turn.say("catalog_unavailable", keyboards.retry(turn.lang))


@PROMPTS.of(Survey.course_year)
async def _ask_course_year(turn: Turn) -> None:
    await turn.say("ask_course_year", keyboards.course_years(turn.lang))


@PROMPTS.of(Survey.employed)
async def _ask_employed(turn: Turn) -> None:
    await turn.say("ask_employed", keyboards.yes_no(turn.lang, "employed"))


@PROMPTS.of(Survey.company)
async def _ask_company(turn: Turn) -> None:
    await turn.say("ask_company")


@PROMPTS.of(Survey.role)
async def _ask_role(turn: Turn) -> None:
    await turn.say("ask_role")


@PROMPTS.of(Survey.want_help)
async def _ask_want_help(turn: Turn) -> None:
    await turn.say("ask_want_help", keyboards.yes_no(turn.lang, "help"))


@PROMPTS.of(Survey.share)
async def _ask_share(turn: Turn) -> None:
    await turn.say("ask_share_consent", keyboards.yes_no(turn.lang, "share"))


@PROMPTS.of(Survey.suggestions)
async def _ask_suggestions(turn: Turn) -> None:
    await turn.say("ask_suggestions", keyboards.skip(turn.lang))


@PROMPTS.of(Survey.confirm)
async def _ask_confirm(turn: Turn) -> None:
    await turn.say_text(await summary(turn), keyboards.confirm(turn.lang))


# --- steps -------------------------------------------------------------------------------------------------------


@router.message(CommandStart())
async def start(message: Message, state: FSMContext, deps: Deps) -> None:
    """Every /start is a new survey run (a new response); the language is asked only once."""
    first = Survey.contact if await has_lang(state) else Survey.language
    await begin(state, first)
    turn = await Turn.of(message, deps, state)
    await turn.say("welcome_bot2")
    await turn.go(first)


@router.callback_query(Survey.language, keyboards.LangCB.filter())
async def language_chosen(
    callback: CallbackQuery, callback_data: keyboards.LangCB, state: FSMContext, deps: Deps
) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    await set_lang(state, callback_data.code)
    turn = await Turn.of(callback, deps, state)
    await turn.say("language_set")
    await turn.go(Survey.contact)


@router.message(Survey.contact, ~F.text.startswith("/"))
async def contact_shared(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    phone = await own_contact_phone(turn, message)
    if phone is not None:
        await put(state, phone=phone, username=message.from_user.username or "")
        await turn.go(Survey.first_name)


@router.message(Survey.first_name, *TEXT)
async def first_name_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    try:
        await put(state, first_name=validators.person_name(message.text, "bad_first_name"))
    except validators.Invalid as error:
        return await invalid(turn, error)
    await turn.go(Survey.last_name)


@router.message(Survey.last_name, *TEXT)
async def last_name_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    try:
        await put(state, last_name=validators.person_name(message.text, "bad_last_name"))
    except validators.Invalid as error:
        return await invalid(turn, error)
    await turn.go(Survey.gender)


@router.callback_query(Survey.gender, keyboards.PickCB.filter(F.field == "gender"))
async def gender_chosen(
    callback: CallbackQuery, callback_data: keyboards.PickCB, state: FSMContext, deps: Deps
) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    await put(state, gender=callback_data.value if callback_data.value in ("male", "female") else "unspecified")
    await (await Turn.of(callback, deps, state)).go(Survey.region)


@router.callback_query(StateFilter(Survey.region, Survey.program), keyboards.ActCB.filter(F.name == "retry"))
async def catalog_retry(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    await (await Turn.of(callback, deps, state)).reask()


@router.callback_query(Survey.region, keyboards.CatalogCB.filter())
async def region_chosen(
    callback: CallbackQuery, callback_data: keyboards.CatalogCB, state: FSMContext, deps: Deps
) -> None:
    turn = await Turn.of(callback, deps, state)
    item = await picked_item(turn, callback, callback_data, "region")
    if item is not None:
        await put(state, region_id=item.id, region_names=names_of(item))
        await turn.go(Survey.student_id)


@router.message(Survey.student_id, *TEXT)
async def student_id_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    try:
        await put(state, student_id=validators.student_id(message.text))
    except validators.Invalid as error:
        return await invalid(turn, error)
    await turn.go(Survey.program)


@router.callback_query(Survey.program, keyboards.CatalogCB.filter())
async def program_chosen(
    callback: CallbackQuery, callback_data: keyboards.CatalogCB, state: FSMContext, deps: Deps
) -> None:
    turn = await Turn.of(callback, deps, state)
    item = await picked_item(turn, callback, callback_data, PROGRAM_TYPE)
    if item is not None:
        await put(state, program_id=item.id, program_names=names_of(item))
        await turn.go(Survey.course_year)


@router.callback_query(Survey.course_year, keyboards.PickCB.filter(F.field == "year"))
async def year_picked(callback: CallbackQuery, callback_data: keyboards.PickCB, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    await _course_year(await Turn.of(callback, deps, state), callback_data.value)


@router.message(Survey.course_year, *TEXT)
async def year_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    await _course_year(await Turn.of(message, deps, state), message.text)


async def _course_year(turn: Turn, text: str) -> None:
    try:
        await put(turn.state, course_year=validators.course_year(text))
    except validators.Invalid as error:
        return await invalid(turn, error)
    await turn.go(Survey.employed)


@router.callback_query(Survey.employed, keyboards.PickCB.filter(F.field == "employed"))
async def employed_answered(
    callback: CallbackQuery, callback_data: keyboards.PickCB, state: FSMContext, deps: Deps
) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    employed = callback_data.value == "yes"
    # Switching branch drops the other branch's answers, so the summary and the body never mix them.
    if employed:
        await put(state, employed=True, want_help=False, share=False)
    else:
        await put(state, employed=False, company="", role="")
    await (await Turn.of(callback, deps, state)).go(Survey.company if employed else Survey.want_help)


@router.message(Survey.company, *TEXT)
async def company_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    try:
        await put(state, company=validators.free_text(message.text, "bad_company"))
    except validators.Invalid as error:
        return await invalid(turn, error)
    await turn.go(Survey.role)


@router.message(Survey.role, *TEXT)
async def role_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    try:
        await put(state, role=validators.free_text(message.text, "bad_role"))
    except validators.Invalid as error:
        return await invalid(turn, error)
    await turn.go(Survey.suggestions)


@router.callback_query(Survey.want_help, keyboards.PickCB.filter(F.field == "help"))
async def help_answered(
    callback: CallbackQuery, callback_data: keyboards.PickCB, state: FSMContext, deps: Deps
) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    wants = callback_data.value == "yes"
    await put(state, want_help=wants, share=False)
    await (await Turn.of(callback, deps, state)).go(Survey.share if wants else Survey.suggestions)


@router.callback_query(Survey.share, keyboards.PickCB.filter(F.field == "share"))
async def share_answered(
    callback: CallbackQuery, callback_data: keyboards.PickCB, state: FSMContext, deps: Deps
) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    await put(state, share=callback_data.value == "yes")
    turn = await Turn.of(callback, deps, state)
    await turn.say("career_center", keyboards.link(t(turn.lang, "btn_career_center"), deps.config.career_center_url))
    await turn.go(Survey.suggestions)


@router.message(Survey.suggestions, *TEXT)
async def suggestions_typed(message: Message, state: FSMContext, deps: Deps) -> None:
    turn = await Turn.of(message, deps, state)
    try:
        await put(
            state, suggestions=validators.free_text(message.text, "bad_suggestions", min_len=1, max_len=MAX_SUGGESTIONS)
        )
    except validators.Invalid as error:
        return await invalid(turn, error)
    await turn.go(Survey.confirm)


@router.callback_query(Survey.suggestions, keyboards.ActCB.filter(F.name == "skip"))
async def suggestions_skipped(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    await put(state, suggestions="")
    await (await Turn.of(callback, deps, state)).go(Survey.confirm)


# --- summary, confirmation, body ---------------------------------------------------------------------------------


async def summary(turn: Turn) -> str:
    lang, form = turn.lang, await get_form(turn.state)
    yes_no = {True: t(lang, "yes"), False: t(lang, "no")}
    year = form.get("course_year")
    lines = [
        t(lang, "survey_confirm_title"),
        t(lang, "sum_name", value=f"{form.get('first_name', '')} {form.get('last_name', '')}"),
        t(lang, "sum_phone", value=form.get("phone", "")),
        t(lang, "sum_gender", value=t(lang, f"gender_{form.get('gender', 'male')}")),
        t(lang, "sum_region", value=name_in(form.get("region_names"), lang)),
        t(lang, "sum_student_id", value=form.get("student_id", "")),
        t(lang, "sum_program", value=name_in(form.get("program_names"), lang)),
        t(lang, "sum_course_year", value=t(lang, "sum_graduated") if year == 5 else year),
        t(lang, "sum_employed", value=yes_no[bool(form.get("employed"))]),
    ]
    if form.get("employed"):
        lines += [
            t(lang, "sum_company", value=form.get("company", "")),
            t(lang, "sum_role", value=form.get("role", "")),
        ]
    else:
        lines.append(t(lang, "sum_want_help", value=yes_no[bool(form.get("want_help"))]))
        if form.get("want_help"):
            lines.append(t(lang, "sum_share", value=yes_no[bool(form.get("share"))]))
    lines.append(t(lang, "sum_suggestions", value=form.get("suggestions") or t(lang, "sum_none")))
    lines.append(t(lang, "confirm_hint"))
    return "\n".join(lines)


def body(form: dict[str, Any], *, telegram_user_id: int, lang: str, campaign: str) -> dict[str, Any]:
    """The survey body through the ingestion contract; the roster decides program and year for known students."""
    employed = bool(form.get("employed"))
    fields = {
        "student_external_id": form["student_id"],
        "telegram_user_id": telegram_user_id,
        "username": form.get("username", ""),
        "first_name": form.get("first_name", ""),
        "last_name": form.get("last_name", ""),
        "phone": form.get("phone", ""),
        "gender": form.get("gender", ""),
        "region_id": form.get("region_id"),
        "program_id": form.get("program_id"),
        "course_year": form.get("course_year"),
        "survey_campaign": campaign,
        "employment_status": "employed" if employed else "unemployed",
        "employment_company": form.get("company", "") if employed else "",
        "employment_role": form.get("role", "") if employed else "",
        "suggestions": form.get("suggestions", ""),
        "consents": {"share_with_employers": bool(form.get("share")), "want_help": bool(form.get("want_help"))},
        "answers": {"language": lang, "course_year": form.get("course_year")},
    }
    clean = {k: v for k, v in fields.items() if v not in (None, "")}
    return msgspec.to_builtins(msgspec.convert(clean, SurveySubmit))


@router.callback_query(Survey.confirm, keyboards.ActCB.filter(F.name == "confirm"))
async def confirmed(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    turn = await Turn.of(callback, deps, state)
    form = await get_form(state)
    payload = body(form, telegram_user_id=turn.user.id, lang=turn.lang, campaign=deps.config.survey_campaign)
    outcome = await turn.submit("bot2.survey", payload)
    await finish(state)
    await turn.say_text(outcome_text(turn.lang, outcome))
    await home(turn)


@router.callback_query(Survey.confirm, keyboards.ActCB.filter(F.name == "restart"))
async def restart(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    await drop_keyboard(callback)
    await begin(state, Survey.contact)
    await (await Turn.of(callback, deps, state)).go(Survey.contact)
