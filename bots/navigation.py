"""What works the same in both bots at any step: /cancel, /menu, /lang, the language buttons, answers that do not
fit the step (re-asked), stale buttons (answered, never ignored), and the global error handler."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.filters import Command, ExceptionTypeFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import BotCommand, CallbackQuery, ErrorEvent, Message

from bots import keyboards
from bots.deps import Deps
from bots.forms import PROMPTS, Turn, finish, get_lang, pressed, set_lang
from bots.texts import LANGS, t

log = logging.getLogger(__name__)

Home = Callable[[Turn], Awaitable[None]]


def commands_router(home: Home) -> Router:
    """Included first, so the commands win over any step's text handler."""
    router = Router(name="navigation.commands")

    @router.message(Command("cancel"))
    async def cancel(message: Message, state: FSMContext, deps: Deps) -> None:
        turn = await Turn.of(message, deps, state)
        if await state.get_state() is None:
            await turn.say("nothing_to_cancel", keyboards.REMOVE)
        else:
            await finish(state)
            await turn.say("cancelled", keyboards.REMOVE)
        await home(turn)

    @router.message(Command("menu"))
    async def menu(message: Message, state: FSMContext, deps: Deps) -> None:
        await finish(state)
        await home(await Turn.of(message, deps, state))

    @router.message(Command("lang"))
    async def lang(message: Message, state: FSMContext, deps: Deps) -> None:
        await (await Turn.of(message, deps, state)).say("choose_language", keyboards.languages())

    @router.callback_query(keyboards.ActCB.filter(F.name == "back"))
    async def back_button(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
        turn = await Turn.of(callback, deps, state)
        if not await turn.back():
            await callback.answer(t(turn.lang, "stale_button"), show_alert=True)
            return
        await pressed(callback)

    @router.message(Command("back"))
    async def back_command(message: Message, state: FSMContext, deps: Deps) -> None:
        turn = await Turn.of(message, deps, state)
        if not await turn.back():
            await turn.say("no_previous_step")

    @router.callback_query(keyboards.ActCB.filter(F.name == "cancel"))
    async def cancel_button(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
        await pressed(callback)
        await finish(state)
        turn = await Turn.of(callback, deps, state)
        await turn.say("cancelled", keyboards.REMOVE)
        await home(turn)

    return router


def fallback_router(home: Home) -> Router:
    """Included last: whatever no step handled."""
    router = Router(name="navigation.fallback")

    @router.callback_query(keyboards.LangCB.filter())
    async def language(callback: CallbackQuery, callback_data: keyboards.LangCB, state: FSMContext, deps: Deps) -> None:
        """A language button outside the language step (/lang): switch, then carry on where the user was."""
        await pressed(callback)
        await set_lang(state, callback_data.code)
        turn = await Turn.of(callback, deps, state)
        await turn.say("language_set")
        if not await turn.reask():
            await home(turn)

    @router.callback_query()
    async def stale(callback: CallbackQuery, state: FSMContext) -> None:
        await callback.answer(t(await get_lang(state), "stale_button"), show_alert=True)

    @router.message()
    async def unexpected(message: Message, state: FSMContext, deps: Deps) -> None:
        """Say why the answer did not fit (an unknown command, text where buttons are expected, a sticker where
        text is expected), then ask the current question again."""
        turn = await Turn.of(message, deps, state)
        text = message.text or ""
        current = await state.get_state()
        if text.startswith("/"):
            await turn.say("unknown_command")
        elif current is None:
            await turn.say("not_understood")
            return
        elif text or not PROMPTS.takes_text(current):  # a sticker or photo where a button is expected, too
            await turn.say("use_buttons")
        else:
            await turn.say("text_expected")
        await turn.reask()

    return router


async def publish_commands(bot: Bot) -> None:
    """The command menu Telegram shows, in each language (and Uzbek for the rest)."""
    for lang in (None, *LANGS):
        commands = [
            BotCommand(command=c, description=t(lang, f"cmd_{c}")) for c in ("start", "menu", "back", "cancel", "lang")
        ]
        await bot.set_my_commands(commands, language_code=lang)


def error_router() -> Router:
    router = Router(name="navigation.errors")

    @router.errors(ExceptionTypeFilter(Exception))
    async def on_error(event: ErrorEvent, bot: Bot, state: FSMContext | None = None) -> bool:
        """Log without personal data, tell the user their answers are kept; the FSM state is left as it was."""
        update = event.update
        log.error("update %s failed: %s", update.update_id, type(event.exception).__name__, exc_info=event.exception)
        lang = await get_lang(state) if state is not None else None
        query = update.callback_query
        chat_id = None
        if query is not None:
            # The handler may have answered the query already (Telegram refuses a second answer): also write.
            with contextlib.suppress(Exception):
                await query.answer(t(lang, "error_generic"), show_alert=True)
            chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        elif update.message is not None:
            chat_id = update.message.chat.id
        if chat_id is not None:
            try:
                await bot.send_message(chat_id=chat_id, text=t(lang, "error_generic"))
            except Exception:  # Telegram itself may be what failed
                log.debug("could not tell the user about the failure of update %s", update.update_id)
        return True

    return router
