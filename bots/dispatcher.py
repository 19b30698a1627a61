"""One bot's Dispatcher: its routers between the navigation commands (first) and the fallbacks (last), FSM storage,
per-user event isolation (a double tap is handled after the first, never beside it) and the error handler."""

from __future__ import annotations

from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation

from bots import navigation
from bots.bot1 import menu, registration, sections
from bots.bot2 import survey
from bots.deps import Deps
from bots.forms import Turn, get_profile

SILENT_KINDS = frozenset({"bot1.applicant"})  # a profile sync is not news to the user once it is delivered


async def bot1_home(turn: Turn) -> None:
    if (await get_profile(turn.state)).get("registered"):
        await menu.show(turn)
    else:
        await turn.say("need_registration")


def build_dispatcher(deps: Deps, storage: BaseStorage) -> Dispatcher:
    dp = Dispatcher(storage=storage, events_isolation=SimpleEventIsolation())
    dp["deps"] = deps
    if deps.config.name == "bot1":
        home = bot1_home
        routers = [registration.router.router(), menu.router.router(), sections.router.router()]
    else:
        home = survey.home
        routers = [survey.router.router()]
    dp.include_routers(
        navigation.error_router(),
        navigation.commands_router(home),
        *routers,
        navigation.fallback_router(home),
    )
    return dp
