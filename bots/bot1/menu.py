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
from bots.outbox import Delivered
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


@router.callback_query(keyboards.MenuCB.filter(F.item.in_({"settings", "profile"})))
async def settings(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    """Settings (also an old "Update my profile" button): the language and each field of the profile."""
    await callback.answer()
    await show_settings(await Turn.of(callback, deps, state))


async def show_settings(turn: Turn) -> None:
    if await registered(turn):
        await turn.say("settings_title", keyboards.settings(turn.lang))


@router.callback_query(keyboards.MenuCB.filter(F.item == "lang"))
async def change_language(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    await (await Turn.of(callback, deps, state)).say("choose_language", keyboards.languages())


@router.callback_query(keyboards.MenuCB.filter(F.item == "apps"))
async def my_applications(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    await callback.answer()
    await show_applications(await Turn.of(callback, deps, state))


async def show_applications(turn: Turn) -> None:
    """Each application as the person recognises it: kind, what was chosen (track / direction, organisation, date
    and time, subject), the reference they were given, when they sent it, and its status since when."""
    if not await registered(turn):
        return
    lang = turn.lang
    lines = [t(lang, "apps_title")]
    try:
        results = await turn.deps.api.applications(turn.user.id)
    except ApiUnavailable:
        results = None
    delivered = await turn.deps.outbox.delivered_of(turn.user.id)
    for app in (results or [])[:MAX_LISTED]:
        lines.append(_line(turn, app, delivered.get(str(app.get("id")))))
    for item in await turn.deps.outbox.pending(turn.user.id):
        if item.kind != "bot1.applicant":
            kind = t(lang, KIND_KEYS[item.kind])
            lines.append(t(lang, "apps_pending_line", kind=kind, ref=item.ref))
    for dead in await turn.deps.outbox.dead_letters(turn.user.id):
        reason = str(dead.problem.get("detail") or problem_field(dead.problem) or dead.status)
        kind = t(lang, KIND_KEYS.get(dead.kind, "kind_applicant"))
        lines.append(t(lang, "apps_rejected_line", kind=kind, reason=reason, ref=dead.key[:8].upper()))
    if results is None:
        lines.append(t(lang, "apps_unavailable"))
    elif len(lines) == 1:
        lines.append(t(lang, "apps_empty"))
    await turn.say_text("\n".join(lines), keyboards.home(lang))


def _label(value: Any, lang: str) -> str:
    """A catalog label of the server's answer in the person's language."""
    if not isinstance(value, dict):
        return ""
    return str(value.get(f"name_{lang}") or value.get("name") or "")


def _line(turn: Turn, app: dict[str, Any], sent: Delivered | None) -> str:
    lang = turn.lang
    kind = t(lang, KIND_KEYS.get(str(app.get("kind")), "kind_admissions_2026"))
    status = str(app.get("status"))
    status_text = t(lang, f"status_{status}") if status in STATUSES else status  # unknown: escaped as data
    what = [_label(app.get(ref), lang) for ref in ("track", "direction", "subject")]
    if sent is not None and sent.detail.get("organization"):
        what.append(str(sent.detail["organization"]))
    if app.get("preferred_date"):
        when = _local_date(turn, str(app["preferred_date"]))
        what.append(f"{when} {sent.detail.get('time_slot', '')}".strip() if sent is not None else when)
    detail = " / ".join(part for part in what if part)
    head = t(lang, "apps_item", kind=kind) + (t(lang, "apps_detail", value=detail) if detail else "")
    facts = []
    if sent is not None:
        facts.append(t(lang, "apps_ref", ref=sent.ref))
    submitted = (sent.submitted_at if sent is not None else "") or app.get("submitted_at") or app.get("created_at")
    if submitted:
        facts.append(t(lang, "apps_sent", date=_local_date(turn, str(submitted))))
    since = _local_date(turn, str(app.get("updated_at") or ""))
    facts.append(t(lang, "apps_status", status=status_text, date=since) if since else status_text)
    return head + "\n   " + " · ".join(facts)


def _local_date(turn: Turn, value: str) -> str:
    if not value:
        return ""
    try:
        if len(value) == 10:
            return datetime.fromisoformat(value).strftime("%d.%m.%Y")
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(turn.deps.tz).strftime("%d.%m.%Y")
    except ValueError:
        return value
