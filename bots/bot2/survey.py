"""Bot2's survey: language, own contact, names, gender, region, student ID, programme, course year (1-4 or
graduated), employment (company and role, or help and consent to share), optional suggestions, then a summary to
confirm. Confirm stores the response in the outbox before anything is said (RS §9.2 with its defects fixed)."""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec
from aiogram import F
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bots import keyboards, validators
from bots.catalog_cache import name_in
from bots.deps import Deps
from bots.forms import PROMPTS, Turn, begin, finish, get_form, has_lang, outcome_text, pressed, put
from bots.routing import Handlers
from bots.steps import TEXT, catalog_step, identity_steps, invalid, reask_withdrawn_choice, text_step, yes_no_step
from bots.texts import t
from ingest.contracts.api import SurveySubmit

router = Handlers("bot2.survey")
PROGRAM_TYPE = "program"
MAX_SUGGESTIONS = 2000


class Survey(StatesGroup):
    """Stored as "Survey:<step>" in users' FSM storage: never rename."""

    language = State()
    contact = State()
    first_name = State()
    last_name = State()
    gender = State()
    region = State()
    student_id = State()
    program = State()
    course_year = State()
    employed = State()
    company = State()
    role = State()
    want_help = State()
    share = State()
    suggestions = State()
    confirm = State()


async def home(turn: Turn) -> None:
    """Where /menu and /cancel lead: how to take the survey (not "again": they may never have begun)."""
    await turn.say("survey_start_hint")


# --- prompts -----------------------------------------------------------------------------------------------------


PROMPTS.say(Survey.course_year, "ask_course_year", keyboards.course_years)
PROMPTS.typed(Survey.course_year)


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


identity_steps(router, Survey, after_gender=Survey.region, after_region=Survey.student_id)
text_step(router, Survey.student_id, "ask_student_id", "student_id", validators.student_id, Survey.program)
catalog_step(router, Survey.program, PROGRAM_TYPE, Survey.course_year, question="ask_program", required=True)


@router.callback_query(Survey.course_year, keyboards.PickCB.filter(F.field == "year"))
async def year_picked(callback: CallbackQuery, callback_data: keyboards.PickCB, state: FSMContext, deps: Deps) -> None:
    await pressed(callback)
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


async def _employed(turn: Turn, employed: bool) -> None:
    # Switching branch drops the other branch's answers, so the summary and the body never mix them.
    if employed:
        await put(turn.state, employed=True, want_help=False, share=False)
    else:
        await put(turn.state, employed=False, company="", role="")
    await turn.go(Survey.company if employed else Survey.want_help)


async def _want_help(turn: Turn, wants: bool) -> None:
    await put(turn.state, want_help=wants, share=False)
    await turn.go(Survey.share if wants else Survey.suggestions)


async def _share(turn: Turn, share: bool) -> None:
    await put(turn.state, share=share)
    link = keyboards.link(t(turn.lang, "btn_career_center"), turn.deps.config.career_center_url)
    await turn.say("career_center", link)
    await turn.go(Survey.suggestions)


yes_no_step(router, Survey.employed, "ask_employed", "employed", _employed)
text_step(
    router,
    Survey.company,
    "ask_company",
    "company",
    partial(validators.free_text, key="bad_company"),
    Survey.role,
)
text_step(router, Survey.role, "ask_role", "role", partial(validators.free_text, key="bad_role"), Survey.suggestions)
yes_no_step(router, Survey.want_help, "ask_want_help", "help", _want_help)
yes_no_step(router, Survey.share, "ask_share_consent", "share", _share)
text_step(
    router,
    Survey.suggestions,
    "ask_suggestions",
    "suggestions",
    partial(validators.free_text, key="bad_suggestions", min_len=1, max_len=MAX_SUGGESTIONS),
    Survey.confirm,
    skip=True,
)


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
    # The bot cannot look the roster up (no endpoint for it), so it says plainly what the server will do.
    lines.append(t(lang, "sum_roster_note"))
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
    await pressed(callback)
    turn = await Turn.of(callback, deps, state)
    form = await get_form(state)
    payload = body(form, telegram_user_id=turn.user.id, lang=turn.lang, campaign=deps.config.survey_campaign)
    outcome = await turn.submit("bot2.survey", payload)
    if await reask_withdrawn_choice(turn, outcome, {"region": Survey.region, PROGRAM_TYPE: Survey.program}):
        return
    await finish(state)
    await turn.say_text(outcome_text(turn.lang, outcome))
    await turn.say("survey_again")


@router.callback_query(Survey.confirm, keyboards.ActCB.filter(F.name == "restart"))
async def restart(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await pressed(callback)
    await begin(state, Survey.contact)
    await (await Turn.of(callback, deps, state)).go(Survey.contact)
