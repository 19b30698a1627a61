"""Building blocks of the form steps both bots use: catalog choices, the shared contact, the calendar date steps,
re-asking with an example after a bad answer, and builders that register a whole step (its question and the
handlers that read its answer) so each kind of step is written once: typed answers, catalog choices, dates, and
the identity steps both bots' forms begin with."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Protocol

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message

from bots import calendar, keyboards, validators
from bots.catalog_cache import CatalogItem, names_of
from bots.delivery import Outcome
from bots.deps import Deps
from bots.forms import (
    FORM_KEY,
    PROMPTS,
    Turn,
    drop_keyboard,
    get_profile,
    pressed,
    problem_field,
    put,
    set_lang,
    with_back,
)
from bots.routing import Handlers
from bots.texts import t
from ingest.contracts.kinds import ref_type


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year - years, day=28)


def birth_range(now: datetime) -> calendar.DateRange:
    today = now.date()
    return calendar.DateRange(
        first=years_before(today, validators.MAX_AGE), last=years_before(today, validators.MIN_AGE), year_jumps=True
    )


def tour_range(now: datetime) -> calendar.DateRange:
    """From today while a time slot is left today (else tomorrow), never on a closed weekday."""
    today = now.date()
    first = today if validators.open_slots(today, now) else today + timedelta(days=1)
    last = today + timedelta(days=validators.TOUR_BOOKING_DAYS)
    return calendar.DateRange(first=first, last=last, closed=validators.CLOSED_WEEKDAYS)


def birth_example(now: datetime) -> str:
    return years_before(now.date(), 18).strftime("%d.%m.%Y")


def tour_example(now: datetime) -> str:
    """A week ahead, moved off a closed weekday."""
    day = now.date() + timedelta(days=7)
    while day.weekday() in validators.CLOSED_WEEKDAYS:
        day += timedelta(days=1)
    return day.strftime("%d.%m.%Y")


def local_now(deps: Deps) -> datetime:
    """The university's local time, without a zone (what opening hours and dates are compared with)."""
    return deps.now().replace(tzinfo=None)


async def invalid(turn: Turn, error: validators.Invalid, **extra: object) -> None:
    """Say what was wrong, with an example, and ask the same step again."""
    await turn.say(error.key, **{**extra, **error.values})
    await turn.reask()


async def ask_catalog(
    turn: Turn, type_: str, question: str, columns: int = 1, *, keep: str | None = None
) -> list[CatalogItem] | None:
    """Ask to pick an item of a catalog type; None (and a retry button) when the catalog cannot be had. `keep`: the
    id of the profile's item, offered first when it is still offered."""
    items = await turn.deps.catalog.items(type_)
    if items is None:
        await turn.say("catalog_unavailable", keyboards.retry(turn.lang))
        return None
    if items:
        kept = next((item for item in items if item.id == keep), None) if keep else None
        await turn.say(question, keyboards.catalog(turn.lang, items, columns, keep=kept))
    return items


async def ask_region(turn: Turn, question: str = "ask_region", *, keep: str | None = None) -> list[CatalogItem] | None:
    """The regions, two to a row: the profile's region step, and each application's (the profile's region first)."""
    return await ask_catalog(turn, "region", question, columns=2, keep=keep)


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
    year, month = (
        (allowed.last.year, allowed.last.month) if allowed.year_jumps else (allowed.first.year, allowed.first.month)
    )
    markup = calendar.build(turn.lang, year, month, allowed, today=None if allowed.year_jumps else today)
    await turn.say(question, markup, example=example)


async def calendar_nav(
    callback: CallbackQuery, cb: calendar.CalendarCB, turn: Turn, allowed: calendar.DateRange
) -> None:
    """Show another month in the same message, keeping its Cancel and Back."""
    await callback.answer()
    if callback.message is not None and hasattr(callback.message, "edit_reply_markup"):
        today = None if allowed.year_jumps else turn.deps.today()
        markup = await with_back(turn, calendar.build(turn.lang, cb.y, cb.m, allowed, today=today))
        await callback.message.edit_reply_markup(reply_markup=markup)


def unavailable_reason(day: date | None, allowed: calendar.DateRange, today: date) -> str:
    """The alert for a day that cannot be chosen: closed that weekday, no time left today, or out of range."""
    if day is not None and allowed.first <= day <= allowed.last and day.weekday() in allowed.closed:
        return "cal_day_closed"
    if day == today and not allowed.allows(day) and not allowed.year_jumps:
        return "cal_today_full"
    return "cal_day_unavailable"


async def calendar_day(
    callback: CallbackQuery, cb: calendar.CalendarCB, turn: Turn, allowed: calendar.DateRange
) -> date | None:
    """The day pressed, if allowed; otherwise an alert saying why, and the calendar stays."""
    day = calendar.picked(cb)
    if day is None or not allowed.allows(day):
        reason = unavailable_reason(day, allowed, turn.deps.today())
        await callback.answer(t(turn.lang, reason), show_alert=True)
        return None
    await pressed(callback)
    return day


async def reask_withdrawn_choice(turn: Turn, outcome: Outcome, steps: Mapping[str, State]) -> bool:
    """After the server refused a catalog choice (an item withdrawn since the bot's copy was fetched): drop the
    bot's copy of that catalog, forget the choice and ask it again with fresh buttons, under a new idempotency key
    (the refused one is spent). False for any other outcome; `steps` maps the choices' fields (`direction`,
    `application_region`) to their steps."""
    if outcome.state != "rejected" or outcome.problem.get("code") != "INVALID_CATALOG_REF":
        return False
    field = problem_field(outcome.problem)
    step = steps.get(field or "")
    if field is None or step is None:
        return False
    turn.deps.catalog.invalidate(ref_type(field))
    await put(turn.state, **{f"{field}_id": None, f"{field}_names": None})
    await turn.state.update_data({FORM_KEY: str(uuid.uuid4())})
    await turn.say("catalog_item_withdrawn")
    await turn.go(step)
    return True


# --- step builders: a step's question and the handlers that read its answer, registered together ----------------

TEXT = (F.text, ~F.text.startswith("/"))  # a typed answer (commands are handled by the navigation router)
Then = State | Callable[[Turn], Awaitable[None]]  # the step after an answer, or what to do instead


async def advance(turn: Turn, then: Then) -> None:
    if isinstance(then, State):
        await turn.go(then)
    else:
        await then(turn)


def text_step(
    router: Handlers,
    step: State,
    question: str,
    field: str,
    parse: Callable[[str], Any],
    then: Then,
    *,
    skip: bool = False,
) -> None:
    """A typed answer kept as `field` once `parse` accepts it (a bad one is re-asked with an example); with `skip`,
    the question has a Skip button that keeps an empty answer."""

    PROMPTS.say(step, question, keyboards.skip if skip else None)
    PROMPTS.typed(step)

    @router.message(step, *TEXT)
    async def typed(message: Message, state: FSMContext, deps: Deps) -> None:
        turn = await Turn.of(message, deps, state)
        try:
            await put(state, **{field: parse(message.text)})
        except validators.Invalid as error:
            return await invalid(turn, error)
        await advance(turn, then)

    if skip:

        @router.callback_query(step, keyboards.ActCB.filter(F.name == "skip"))
        async def skipped(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
            await pressed(callback)
            await put(state, **{field: ""})
            await advance(await Turn.of(callback, deps, state), then)


def yes_no_step(
    router: Handlers, step: State, question: str, field: str, answered: Callable[[Turn, bool], Awaitable[None]]
) -> None:
    """A question with Yes and No buttons (`field` names the buttons); `answered` keeps the answer and moves on."""

    PROMPTS.say(step, question, lambda lang: keyboards.yes_no(lang, field))

    @router.callback_query(step, keyboards.PickCB.filter(F.field == field))
    async def picked(callback: CallbackQuery, callback_data: keyboards.PickCB, state: FSMContext, deps: Deps) -> None:
        await pressed(callback)
        await answered(await Turn.of(callback, deps, state), callback_data.value == "yes")


def catalog_step(
    router: Handlers,
    step: State,
    type_: str,
    then: Then,
    *,
    question: str | None = None,
    columns: int = 1,
    required: bool = False,
    field: str | None = None,
) -> None:
    """The handlers of a catalog question: a button keeps `<field>_id` and the item's names (`field`: the type's
    name unless given); Retry asks again after the catalog could not be had. With `question`, its prompt too: when
    the catalog offers nothing, an optional choice is passed over and a required one offers Retry."""
    kept_as = field or type_

    if question is not None:

        @PROMPTS.of(step)
        async def ask(turn: Turn) -> None:
            if await ask_catalog(turn, type_, question, columns) != []:
                return
            if required:
                await turn.say("catalog_unavailable", keyboards.retry(turn.lang))
            else:
                await advance(turn, then)

    @router.callback_query(step, keyboards.ActCB.filter(F.name == "retry"))
    async def retry(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
        await pressed(callback)
        await (await Turn.of(callback, deps, state)).reask()

    @router.callback_query(step, keyboards.CatalogCB.filter())
    async def chosen(
        callback: CallbackQuery, callback_data: keyboards.CatalogCB, state: FSMContext, deps: Deps
    ) -> None:
        turn = await Turn.of(callback, deps, state)
        item = await picked_item(turn, callback, callback_data, type_)
        if item is not None:
            await put(state, **{f"{kept_as}_id": item.id, f"{kept_as}_names": names_of(item)})
            await advance(turn, then)


def region_step(router: Handlers, step: State, field: str, question: str, then: Then) -> None:
    """The region a form is made from, when it may differ from the profile's (bot1's applications): the profile's
    region first (one tap keeps it), then every region; kept in the form as `<field>_id` and its names, never in
    the profile. Passed over when no region is offered."""

    @PROMPTS.of(step)
    async def ask(turn: Turn) -> None:
        if await ask_region(turn, question, keep=(await get_profile(turn.state)).get("region_id")) == []:
            await advance(turn, then)

    catalog_step(router, step, "region", then, field=field)


@dataclass(frozen=True)
class DateRule:
    """Which days a date step offers and accepts, and the example shown with its question and errors."""

    allowed: Callable[[datetime], calendar.DateRange]  # of the local time now
    example: Callable[[datetime], str]  # of the local time now
    check: Callable[[date, datetime], object]  # (day, now); raises validators.Invalid


BIRTH = DateRule(birth_range, birth_example, lambda day, now: validators.birth_date(day, now.date()))
TOUR = DateRule(tour_range, tour_example, validators.tour_date)


def date_step(router: Handlers, step: State, question: str, field: str, rule: DateRule, then: Then) -> None:
    """A date picked on the inline calendar or typed as DD.MM.YYYY, kept as an ISO date in `field`."""

    PROMPTS.typed(step)

    @PROMPTS.of(step)
    async def ask(turn: Turn) -> None:
        now = local_now(turn.deps)
        await ask_date(turn, question, rule.allowed(now), rule.example(now), now.date())

    @router.callback_query(step, calendar.CalendarCB.filter(F.act == calendar.NAV))
    async def nav(callback: CallbackQuery, callback_data: calendar.CalendarCB, state: FSMContext, deps: Deps) -> None:
        turn = await Turn.of(callback, deps, state)
        await calendar_nav(callback, callback_data, turn, rule.allowed(local_now(deps)))

    @router.callback_query(step, calendar.CalendarCB.filter(F.act.in_({calendar.DAY, calendar.OFF})))
    async def day_picked(
        callback: CallbackQuery, callback_data: calendar.CalendarCB, state: FSMContext, deps: Deps
    ) -> None:
        turn = await Turn.of(callback, deps, state)
        day = await calendar_day(callback, callback_data, turn, rule.allowed(local_now(deps)))
        if day is not None:
            await chosen(turn, day)

    @router.callback_query(step, calendar.CalendarCB.filter(F.act == calendar.NOOP))
    async def header(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
        """A title, weekday name or blank cell: say what to press instead."""
        await callback.answer(t((await Turn.of(callback, deps, state)).lang, "cal_pick_day"), show_alert=True)

    @router.message(step, *TEXT)
    async def typed(message: Message, state: FSMContext, deps: Deps) -> None:
        turn = await Turn.of(message, deps, state)
        try:
            day = validators.parse_date(message.text)
        except validators.Invalid as error:
            return await invalid(turn, error, example=rule.example(local_now(deps)))
        await chosen(turn, day)

    async def chosen(turn: Turn, day: date) -> None:
        now = local_now(turn.deps)
        try:
            rule.check(day, now)
        except validators.Invalid as error:
            return await invalid(turn, error, example=rule.example(now))
        await put(turn.state, **{field: day.isoformat()})
        await turn.say("date_chosen", date=day.strftime("%d.%m.%Y"))
        await advance(turn, then)


class Identity(Protocol):
    """The steps both bots' forms begin with (a StatesGroup with these states)."""

    language: State
    contact: State
    first_name: State
    last_name: State
    gender: State
    region: State


def identity_steps(
    router: Handlers,
    form: type[Identity],
    *,
    after_gender: State,
    after_region: Then,
    keep_chat_id: bool = False,
    then: Callable[[State], Then] = lambda step: step,
) -> None:
    """Language, own contact, first and last name, gender and region: the start both bots' forms share. `then`
    turns the step after an answer into what to do instead (bot1's Settings saves a single edited field)."""

    PROMPTS.say(form.language, "choose_language", lambda _lang: keyboards.languages())
    PROMPTS.say(form.contact, "ask_contact", keyboards.contact)
    PROMPTS.say(form.gender, "ask_gender", keyboards.gender)

    @PROMPTS.of(form.region)
    async def ask_profile_region(turn: Turn) -> None:
        await ask_region(turn)

    @router.callback_query(form.language, keyboards.LangCB.filter())
    async def language_chosen(
        callback: CallbackQuery, callback_data: keyboards.LangCB, state: FSMContext, deps: Deps
    ) -> None:
        await pressed(callback)
        await set_lang(state, callback_data.code)
        turn = await Turn.of(callback, deps, state)
        await turn.say("language_set")
        await turn.go(form.contact)

    @router.message(form.contact, ~F.text.startswith("/"))
    async def contact_shared(message: Message, state: FSMContext, deps: Deps) -> None:
        turn = await Turn.of(message, deps, state)
        phone = await own_contact_phone(turn, message)
        if phone is None:
            return
        chat = {"telegram_chat_id": message.chat.id} if keep_chat_id else {}
        await put(state, phone=phone, **chat, username=message.from_user.username or "")
        await advance(turn, then(form.first_name))

    text_step(
        router,
        form.first_name,
        "ask_first_name",
        "first_name",
        partial(validators.person_name, key="bad_first_name"),
        then(form.last_name),
    )
    text_step(
        router,
        form.last_name,
        "ask_last_name",
        "last_name",
        partial(validators.person_name, key="bad_last_name"),
        then(form.gender),
    )

    @router.callback_query(form.gender, keyboards.PickCB.filter(F.field == "gender"))
    async def gender_chosen(
        callback: CallbackQuery, callback_data: keyboards.PickCB, state: FSMContext, deps: Deps
    ) -> None:
        await pressed(callback)
        await put(state, gender=callback_data.value if callback_data.value in ("male", "female") else "unspecified")
        await advance(await Turn.of(callback, deps, state), then(after_gender))

    catalog_step(router, form.region, "region", after_region)
