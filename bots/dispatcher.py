"""One bot's Dispatcher: its routers between the navigation commands (first) and the fallbacks (last), FSM storage,
per-user event isolation (a double tap is handled after the first, never beside it) and the error handler. What
differs between the bots is their `BotSpec` (`bots.bot1.bot`, `bots.bot2.bot`)."""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation

from bots import navigation
from bots.deps import Deps
from bots.forms import make_notifier
from bots.navigation import Home
from bots.routing import Handlers


@dataclass(frozen=True)
class BotSpec:
    """What makes one bot: its flows, where /menu and /cancel lead, and how it speaks of outcomes."""

    routers: tuple[Handlers, ...]  # in the order they are tried
    home: Home
    silent_kinds: frozenset[str] = frozenset()  # delivered in the background without telling the user
    settings_fields: frozenset[str] = frozenset()  # refused fields the user fixes in Settings, not in the form
    tidy_prompts: bool = False  # delete each question once the next is asked (bot2, as RS §9.2)

    def notifier(self, bot: Bot):
        """The sender's hook telling users about outcomes reached in the background."""
        return make_notifier(bot, silent_kinds=self.silent_kinds, settings_fields=self.settings_fields)


def build_dispatcher(spec: BotSpec, deps: Deps, storage: BaseStorage) -> Dispatcher:
    dp = Dispatcher(storage=storage, events_isolation=SimpleEventIsolation())
    dp["deps"] = deps
    deps.tidy_prompts = spec.tidy_prompts
    dp.include_routers(
        navigation.error_router(),
        navigation.commands_router(spec.home),
        *(handlers.router() for handlers in spec.routers),
        navigation.fallback_router(spec.home),
    )
    return dp
