"""What both bots' forms share: the user's language and profile kept in FSM data across forms, the answers of
the form in progress with its idempotency key, sending prompts, and telling the user what became of a submission."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    User,
)

from bots.delivery import Outcome
from bots.deps import Deps
from bots.keyboards import ActCB
from bots.texts import has, lang_of, t

LANG = "lang"
PROFILE = "profile"
FORM = "form"
FORM_KEY = "form_key"
HISTORY = "history"  # the steps of the form in progress, for "◀️ Back"
PROMPT_IDS = "prompt_ids"  # the messages of the question asked last (a tidy bot deletes them at the next question)
MAX_HISTORY = 40
KEPT = (LANG, PROFILE)  # survive /cancel, /menu and finished forms

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


async def get_lang(state: FSMContext, fallback: str | None = None) -> str:
    """The language the user chose; before any choice, their Telegram app's language if we speak it."""
    return lang_of((await state.get_data()).get(LANG) or fallback)


async def has_lang(state: FSMContext) -> bool:
    return LANG in await state.get_data()


async def set_lang(state: FSMContext, lang: str) -> None:
    """Keep the choice; a registered profile follows it, so the next submission tells the API too."""
    data = await state.get_data()
    update: dict[str, Any] = {LANG: lang_of(lang)}
    if data.get(PROFILE):
        update[PROFILE] = {**data[PROFILE], "language": lang_of(lang)}
    await state.update_data(update)


async def get_profile(state: FSMContext) -> dict[str, Any]:
    return dict((await state.get_data()).get(PROFILE) or {})


async def get_form(state: FSMContext) -> dict[str, Any]:
    return dict((await state.get_data()).get(FORM) or {})


async def put(state: FSMContext, **values: Any) -> dict[str, Any]:
    """Record answers of the form in progress."""
    form = await get_form(state)
    form.update(values)
    await state.update_data({FORM: form})
    return form


async def begin(state: FSMContext, first: State, **values: Any) -> None:
    """Start a form: fresh answers and a new idempotency key, so a repeated "confirm" can never send it twice."""
    data = {k: v for k, v in (await state.get_data()).items() if k in KEPT}
    data[FORM] = dict(values)
    data[FORM_KEY] = str(uuid.uuid4())
    data[HISTORY] = []
    await state.set_data(data)
    await state.set_state(first)


async def finish(state: FSMContext) -> None:
    """End the form in progress; language and profile stay."""
    data = {k: v for k, v in (await state.get_data()).items() if k in KEPT}
    await state.set_data(data)
    await state.set_state(None)


async def form_key(state: FSMContext) -> str:
    data = await state.get_data()
    key = data.get(FORM_KEY)
    if not key:
        key = str(uuid.uuid4())
        await state.update_data({FORM_KEY: key})
    return key


async def send(bot: Bot, chat_id: int, text: str, markup: Markup = None) -> int:
    """Send a message; its id."""
    return (await bot.send_message(chat_id=chat_id, text=text, reply_markup=markup)).message_id


def back_row(lang: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=t(lang, "btn_back"), callback_data=ActCB(name="back").pack())]


async def with_back(turn: Turn, markup: InlineKeyboardMarkup) -> InlineKeyboardMarkup:
    """`markup` with a Back row when the form has a step to go back to (e.g. a calendar shown another month)."""
    if not (await turn.state.get_data()).get(HISTORY):
        return markup
    return InlineKeyboardMarkup(inline_keyboard=[*markup.inline_keyboard, back_row(turn.lang)])


async def drop_keyboard(callback: CallbackQuery) -> None:
    """Remove the inline keyboard that was pressed, so it cannot be pressed twice (best effort)."""
    if callback.message is not None and hasattr(callback.message, "edit_reply_markup"):
        with contextlib.suppress(TelegramAPIError):
            await callback.message.edit_reply_markup(reply_markup=None)


async def pressed(callback: CallbackQuery) -> None:
    """Acknowledge a button and remove its keyboard."""
    await callback.answer()
    await drop_keyboard(callback)


def problem_field(problem: dict[str, Any]) -> str | None:
    """The field a problem names, as a plain name (`$.payload.region_id` → `region`, `application_region_code` →
    `application_region`)."""
    name = problem.get("field")
    if not name:
        errors = problem.get("errors") or []
        name = errors[0].get("field") if errors and isinstance(errors[0], dict) else None
    if not name:
        return None
    last = re.split(r"[.\[\]$]+", str(name).strip("$."))
    base = next((part for part in reversed(last) if part and not part.isdigit()), "")
    ref = re.fullmatch(r"(application_region|region|direction|track|subject|program)_(id|code)", base)
    return (ref.group(1) if ref else base) or None


def fix_text(lang: str, problem: dict[str, Any], settings_fields: frozenset[str] = frozenset()) -> str:
    """What the user should change: a field among the bot's `settings_fields` is fixed in Settings, any other
    field the texts can name is in the form."""
    if problem.get("code") == "TELEGRAM_ID_CONFLICT":
        return t(lang, "fix_telegram_conflict")
    field = problem_field(problem)
    if field is None or not has(f"field_{field}"):
        return t(lang, "fix_generic")
    return t(lang, "fix_profile" if field in settings_fields else "fix_form", field=t(lang, f"field_{field}"))


def outcome_text(
    lang: str, outcome: Outcome, *, settings_fields: frozenset[str] = frozenset(), background: bool = False
) -> str:
    """What to tell the user: registered, queued for delivery, or refused with what to fix."""
    ref = outcome.item.ref
    if outcome.state == "delivered":
        return t(lang, "delivered_later" if background else "submit_delivered", ref=ref)
    if outcome.state == "rejected":
        reason = str(outcome.problem.get("detail") or outcome.problem.get("title") or outcome.problem.get("code"))
        fix = fix_text(lang, outcome.problem, settings_fields)
        return t(lang, "submit_rejected", ref=ref, reason=reason, fix=fix)
    return t(lang, "submit_deferred", ref=ref)


@dataclass
class Turn:
    """One update being handled: who, where, in which language, with the bot's dependencies and FSM context."""

    bot: Bot
    chat_id: int
    user: User
    deps: Deps
    state: FSMContext
    lang: str

    @classmethod
    async def of(cls, event: Message | CallbackQuery, deps: Deps, state: FSMContext) -> Turn:
        if isinstance(event, CallbackQuery):
            chat_id = event.message.chat.id if event.message is not None else event.from_user.id
        else:
            chat_id = event.chat.id
        assert event.bot is not None and event.from_user is not None
        user = event.from_user
        return cls(event.bot, chat_id, user, deps, state, await get_lang(state, user.language_code))

    offer_back: bool = False  # set while a step's question is asked and there is a step to go back to
    sent: list[int] | None = None  # while a question is asked: the ids of the messages it sends

    async def say(self, key: str, markup: Markup = None, **values: object) -> None:
        await self.say_text(t(self.lang, key, **values), markup)

    async def say_text(self, text: str, markup: Markup = None) -> None:
        """Send a text already taken from the catalogue (e.g. joined summary lines)."""
        if self.offer_back and not isinstance(markup, ReplyKeyboardMarkup | ReplyKeyboardRemove):
            rows = list(markup.inline_keyboard) if markup is not None else []
            markup = InlineKeyboardMarkup(inline_keyboard=[*rows, back_row(self.lang)])
        message_id = await send(self.bot, self.chat_id, text, markup)
        if self.sent is not None:
            self.sent.append(message_id)

    async def go(self, step: State) -> None:
        """Move to a step (remembering where we were, for "Back") and ask its question."""
        current = await self.state.get_state()
        if current is not None and current != step.state and PROMPTS.knows(current):
            history = (await self.state.get_data()).get(HISTORY) or []
            await self.state.update_data({HISTORY: [*history, current][-MAX_HISTORY:]})
        await self.state.set_state(step)
        await PROMPTS.ask(step.state, self)

    async def back(self) -> bool:
        """Return to the previous step and ask it again; False when there is none."""
        history = list((await self.state.get_data()).get(HISTORY) or [])
        if not history or await self.state.get_state() is None:
            return False
        previous = history.pop()
        await self.state.update_data({HISTORY: history})
        await self.state.set_state(previous)
        return await PROMPTS.ask(previous, self)

    async def reask(self) -> bool:
        """Ask the current step's question again; False when no form is in progress."""
        current = await self.state.get_state()
        return current is not None and await PROMPTS.ask(current, self)

    async def submit(self, kind: str, payload: dict[str, Any]) -> Outcome:
        """Store the form's submission in the outbox under the form's key, then try to deliver it."""
        key = await form_key(self.state)
        confirmed_at = self.deps.utcnow().astimezone(UTC).isoformat()  # the submission's time, however late delivered
        return await self.deps.sender.submit(
            kind,
            payload,
            chat_id=self.chat_id,
            user_id=self.user.id,
            lang=self.lang,
            key=key,
            submitted_at=confirmed_at,
        )


Prompt = Callable[[Turn], Awaitable[None]]


class Prompts:
    """The question of every form step, so any step can be asked again (after /lang, a bad answer, a restart)."""

    def __init__(self) -> None:
        self._prompts: dict[str, Prompt] = {}
        self._typed: set[str] = set()

    def typed(self, step: State) -> None:
        """Declare that `step` takes a typed answer (its other answers are buttons)."""
        self._typed.add(step.state)  # type: ignore[arg-type]

    def takes_text(self, step: str) -> bool:
        return step in self._typed

    def of(self, step: State) -> Callable[[Prompt], Prompt]:
        def register(fn: Prompt) -> Prompt:
            self._prompts[step.state] = fn  # type: ignore[index]
            return fn

        return register

    def say(self, step: State, key: str, markup: Callable[[str], Markup] | None = None) -> None:
        """A step whose question is one catalogue text, with the keyboard `markup` makes in the user's language."""

        async def prompt(turn: Turn) -> None:
            await turn.say(key, markup(turn.lang) if markup is not None else None)

        self._prompts[step.state] = prompt  # type: ignore[index]

    def knows(self, step: str) -> bool:
        return step in self._prompts

    async def ask(self, step: str, turn: Turn) -> bool:
        prompt = self._prompts.get(step)
        if prompt is None:
            return False
        data = await turn.state.get_data()
        turn.offer_back, turn.sent = bool(data.get(HISTORY)), []
        try:
            await prompt(turn)
        finally:
            turn.offer_back, sent, turn.sent = False, turn.sent, None
        if turn.deps.tidy_prompts:
            await _tidy(turn, [i for i in data.get(PROMPT_IDS) or [] if i not in sent], sent)
        return True


async def _tidy(turn: Turn, earlier: list[int], sent: list[int]) -> None:
    """Delete the previous question's messages (best effort: Telegram refuses deleting old ones) and keep the new
    question's, so the chat shows the question being answered, not every one before it (RS §9.2)."""
    for message_id in earlier:
        with contextlib.suppress(TelegramAPIError):
            await turn.bot.delete_message(chat_id=turn.chat_id, message_id=message_id)
    await turn.state.update_data({PROMPT_IDS: sent})


PROMPTS = Prompts()


def make_notifier(bot: Bot, *, silent_kinds: frozenset[str], settings_fields: frozenset[str]):
    """Tell users about outcomes reached in the background (after a queued submission is finally delivered)."""

    async def notify(outcome: Outcome) -> None:
        item = outcome.item
        if item.chat_id is None or (outcome.state == "delivered" and item.kind in silent_kinds):
            return
        text = outcome_text(item.lang, outcome, settings_fields=settings_fields, background=True)
        await bot.send_message(chat_id=item.chat_id, text=text)

    return notify
