"""Bot1's main menu, settings, and "My applications" with statuses from the server (plus what is still queued
on the bot or was refused)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery

from bots import keyboards
from bots.api_client import ApiUnavailable
from bots.bot1.sections import main_menu
from bots.deps import Deps
from bots.forms import Turn, finish, get_profile, pressed, problem_field
from bots.routing import Handlers
from bots.texts import t
from ingest.contracts.fields import STATUSES
from ingest.contracts.kinds import APPLICATION_KINDS, BATCH_KINDS

router = Handlers("bot1.menu")


def _kind_text(batch_kind: str) -> str:
    return f"kind_{batch_kind.partition('.')[2]}"  # "bot1.campus_tour" -> "kind_campus_tour"


# API application kind / outbox kind -> texts key
KIND_KEYS: dict[str, str] = {
    **{kind.slug: _kind_text(kind.batch_kind) for kind in APPLICATION_KINDS},
    **{name: _kind_text(name) for name, batch in BATCH_KINDS.items() if batch.service == "bot1"},
}
MAX_LISTED = 20  # newest first; keeps the message far below Telegram's 4096 characters


async def show(turn: Turn) -> None:
    await turn.say("main_menu", main_menu(turn.lang))


async def home(turn: Turn) -> None:
    """Where /menu and /cancel lead: the main menu, once registered."""
    if await registered(turn):
        await show(turn)


async def registered(turn: Turn) -> bool:
    """Sections need a finished profile; otherwise the user is sent to /start."""
    if (await get_profile(turn.state)).get("registered"):
        return True
    await turn.say("need_registration")
    return False


@router.callback_query(keyboards.MenuCB.filter(F.item == "home"))
async def home_button(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await pressed(callback)
    await finish(state)
    await show(await Turn.of(callback, deps, state))


@router.callback_query(keyboards.MenuCB.filter(F.item == "settings"))
async def settings(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    turn = await Turn.of(callback, deps, state)
    if await registered(turn):
        await turn.say("settings_title", keyboards.settings(turn.lang))


@router.callback_query(keyboards.MenuCB.filter(F.item == "lang"))
async def change_language(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    await (await Turn.of(callback, deps, state)).say("choose_language", keyboards.languages())


@router.callback_query(keyboards.MenuCB.filter(F.item == "apps"))
async def my_applications(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    turn = await Turn.of(callback, deps, state)
    if not await registered(turn):
        return
    lines = [t(turn.lang, "apps_title")]
    try:
        results = await deps.api.applications(turn.user.id)
    except ApiUnavailable:
        results = None
    for app in (results or [])[:MAX_LISTED]:
        lines.append(_line(turn, app))
    for item in await deps.outbox.pending(turn.user.id):
        if item.kind != "bot1.applicant":
            lines.append(t(turn.lang, "apps_pending_line", kind=t(turn.lang, KIND_KEYS[item.kind])))
    for dead in await deps.outbox.dead_letters(turn.user.id):
        reason = str(dead.problem.get("detail") or problem_field(dead.problem) or dead.status)
        lines.append(
            t(
                turn.lang,
                "apps_rejected_line",
                kind=t(turn.lang, KIND_KEYS.get(dead.kind, "kind_applicant")),
                reason=reason,
            )
        )
    if results is None:
        lines.append(t(turn.lang, "apps_unavailable"))
    elif len(lines) == 1:
        lines.append(t(turn.lang, "apps_empty"))
    await turn.say_text("\n".join(lines), keyboards.home(turn.lang))


def _line(turn: Turn, app: dict[str, Any]) -> str:
    lang = turn.lang
    kind = t(lang, KIND_KEYS.get(str(app.get("kind")), "kind_admissions_2026"))
    status = str(app.get("status"))
    status_text = t(lang, f"status_{status}") if status in STATUSES else status  # unknown: escaped as data
    detail = ""
    for ref in ("direction", "subject"):
        label = app.get(ref)
        if isinstance(label, dict):
            detail = t(lang, "apps_detail", value=label.get(f"name_{lang}") or label.get("name") or "")
    if app.get("preferred_date"):
        detail = t(lang, "apps_detail", value=_local_date(turn, str(app["preferred_date"])))
    when = _local_date(turn, str(app.get("submitted_at") or app.get("created_at") or ""))
    return t(lang, "apps_line", kind=kind, detail=detail, status=status_text, date=when)


def _local_date(turn: Turn, value: str) -> str:
    if not value:
        return ""
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value).strftime("%d.%m.%Y")
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(turn.deps.tz).strftime("%d.%m.%Y")
    except ValueError:
        return value
