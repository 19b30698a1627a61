"""The bots as a person meets them (issue 15): the moment of confirming is the submission's time, the roster's own
ids work as spelled, the calendar never offers a day without a bookable time and says why a day cannot be chosen,
no dead ends (a photo at a button step, /cancel before starting, the help naming /back), "My applications" tells
each application apart, the persistent main menu, bot2's tidy chat, and no English word in a uz or ru flow."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.methods import DeleteMessage, SendMessage
from aiogram.types import InlineKeyboardMarkup, PhotoSize, ReplyKeyboardMarkup

from bots import delivery
from bots.calendar import CalendarCB
from bots.texts import t
from ingest.contracts.fields import SUBMITTED_AT_MAX_AGE
from ingest.core.schema import FoundationRequest, RosterEntry, Student, SurveyResponse
from tests.bots.conftest import NOW, catalog_id, rows
from tests.bots.conversations import KEEP_REGION, LANG_BUTTON, register
from tests.bots.harness import BotHarness, Person
from tests.bots.test_bot2_flows import identity

LANGS = ("uz", "ru", "en")


async def photo(h: BotHarness, who: Person) -> list[str]:
    picture = PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)
    await h._feed(message=h._message(who, photo=[picture]))
    return h.replies(who)


async def to_tour_date(h: BotHarness, who: Person, lang: str = "en") -> None:
    await h.tap(who, t(lang, "btn_menu_campus"))
    for answer in ("School No. 42", "teacher", "+998901112233", "3"):
        await h.text(who, answer)


async def to_summary(h: BotHarness, who: Person, student_id: str = "se12345") -> None:
    """Bot2 in English up to its summary: year 2, not employed, no help, no suggestions."""
    await identity(h, who, "en", student_id=student_id)
    for button in ("Year 2", "❌ No", "❌ No", "⏭ Skip"):
        await h.tap(who, button)


async def roster_row(db, student_id: str, year: int) -> uuid.UUID:  # type: ignore[no-untyped-def]
    """A roster row of programme M-MBA; returns the programme's id."""
    async with db.sessionmaker() as s, s.begin():
        program = uuid.UUID(await catalog_id(db, "M-MBA"))
        s.add(RosterEntry(student_external_id=student_id, program_id=program, course_year=year, roster_campaign="d"))
    return program


# --- the submission's time ----------------------------------------------------------------------------------------


async def test_the_moment_of_confirming_is_the_stored_submission_time(start_bot, db) -> None:
    """Confirmed while the API is down, delivered hours later: the survey is stored at the moment of confirming."""
    confirmed = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    h = await start_bot("bot2", utcnow=lambda: confirmed)
    who = Person(9001)
    await to_summary(h, who)
    h.network.up = False
    said = await h.tap(who, "✅ Confirm and send")  # confirmed; the API is down
    assert said[0].startswith("📥 Saved.")
    [item] = await h.deps.outbox.pending(who.id)
    assert item.submitted_at == confirmed.isoformat()
    assert delivery.wire_payload(item, time.time())["submitted_at"] == confirmed.isoformat()

    h.deps.utcnow = lambda: confirmed + timedelta(hours=3)  # delivered hours later: the recorded moment stays
    h.network.up = True
    [outcome] = await h.deps.sender.drain_once(force=True)
    assert outcome.state == "delivered"
    [sent] = (await h.deps.outbox.delivered_of(who.id)).values()
    assert sent.submitted_at == confirmed.isoformat()
    [response] = await rows(db, SurveyResponse)
    assert response.submitted_at == confirmed and response.created_at > confirmed + timedelta(hours=4)


async def test_an_application_is_stored_at_the_moment_of_confirming(start_bot, db) -> None:
    confirmed = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    h = await start_bot("bot1")
    who = Person(9002)
    await register(h, who)
    h.deps.utcnow = lambda: confirmed
    await h.tap(who, t("en", "btn_menu_foundation"))
    await h.text(who, "+998933334455")
    await h.tap(who, KEEP_REGION["en"])
    said = await h.tap(who, t("en", "btn_confirm"))
    assert said[-1].startswith("✅ Received and registered.")
    [foundation] = await rows(db, FoundationRequest)
    assert foundation.submitted_at == confirmed


async def test_an_item_older_than_the_server_takes_is_sent_without_its_time(start_bot, db) -> None:
    """A month-long outage: the server would refuse the confirmation time, so the item is stored at its delivery
    instead of being refused (SUBMITTED_AT_MAX_AGE, docs/submission-time.md)."""
    h = await start_bot("bot2")  # the harness's clock: NOW, months before the real clock the sender and API use
    who = Person(9003)
    await to_summary(h, who)
    h.network.up = False
    await h.tap(who, "✅ Confirm and send")
    [item] = await h.deps.outbox.pending(who.id)
    assert item.submitted_at == NOW.isoformat()
    assert "submitted_at" not in delivery.wire_payload(item, (NOW + SUBMITTED_AT_MAX_AGE + timedelta(1)).timestamp())
    assert delivery.wire_payload(item, (NOW + timedelta(days=29)).timestamp())["submitted_at"] == NOW.isoformat()
    h.network.up = True
    before = datetime.now(UTC)
    [outcome] = await h.deps.sender.drain_once(force=True)
    assert outcome.state == "delivered"
    [response] = await rows(db, SurveyResponse)
    assert response.submitted_at >= before


# --- student ids and the roster -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_the_roster_own_ids_work_as_spelled_and_the_summary_says_the_roster_decides(
    start_bot, db, lang: str
) -> None:
    program = await roster_row(db, "S1-000001", 1)
    h = await start_bot("bot2")
    who = Person(9010 + LANGS.index(lang))
    await identity(h, who, lang, student_id="S1-000001")  # the demo roster's format is accepted
    await h.tap(who, t(lang, "btn_course_year", n=3))
    await h.tap(who, t(lang, "btn_no"))
    await h.tap(who, t(lang, "btn_no"))
    summary = (await h.tap(who, t(lang, "btn_skip")))[-1]
    assert t(lang, "sum_roster_note") in summary and t(lang, "sum_student_id", value="S1-000001") in summary
    await h.tap(who, t(lang, "btn_confirm"))
    [student] = await rows(db, Student)
    assert student.student_external_id == "S1-000001"  # never lower-cased: no second, auto-enrolled student
    [response] = await rows(db, SurveyResponse)
    assert (response.program_id, response.course_year) == (program, 1)


async def test_a_roster_id_typed_in_another_case_finds_that_roster_row(start_bot, db) -> None:
    """The issue's case: roster row `SE54321`, typed as `se54321`: that row answers, no second student."""
    program = await roster_row(db, "SE54321", 4)
    h = await start_bot("bot2")
    who = Person(9019)
    await to_summary(h, who, "se54321")
    said = await h.tap(who, "✅ Confirm and send")
    assert any(line.startswith("✅") for line in said), said
    [roster] = await rows(db, RosterEntry)
    [student] = await rows(db, Student)
    [response] = await rows(db, SurveyResponse)
    assert student.student_external_id == "SE54321" and student.roster_id == roster.id == response.roster_id
    assert (response.program_id, response.course_year) == (program, 4)


# --- the calendar -------------------------------------------------------------------------------------------------


def tashkent(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, 10, hour - 5, minute, tzinfo=UTC)  # Tuesday 10.03.2026, local time


@pytest.mark.parametrize("lang", LANGS)
async def test_after_the_last_slot_today_is_not_offered(start_bot, lang: str) -> None:
    h = await start_bot("bot1")
    who = Person(9020 + LANGS.index(lang))
    await register(h, who, lang)
    h.deps.utcnow = lambda: tashkent(17, 30)
    await to_tour_date(h, who, lang)
    buttons = h.buttons(who)
    assert t(lang, "btn_cal_today") not in buttons
    assert "10" not in buttons and "1̶0̶" in buttons  # today is shown struck through
    said = await h.press_data(who, CalendarCB(act="off", y=2026, m=3, d=10).pack())
    assert said == [] and h.alerts()[-1] == t(lang, "cal_today_full")
    said = await h.text(who, "10.03.2026")
    assert said[0] == t(lang, "today_full", example="17.03.2026")
    said = await h.tap(who, "11")
    assert said[0] == t(lang, "date_chosen", date="11.03.2026")


async def test_today_offers_only_the_slots_not_yet_begun(start_bot) -> None:
    h = await start_bot("bot1")  # 11:00 local
    who = Person(9025)
    await register(h, who)
    await to_tour_date(h, who)
    await h.tap(who, t("en", "btn_cal_today"))
    slots = [b for b in h.buttons(who) if ":" in b]
    assert slots == ["11:30", "14:00", "15:30", "17:00"]


@pytest.mark.parametrize("lang", LANGS)
async def test_sundays_and_headers_answer_with_what_is_wrong(start_bot, lang: str) -> None:
    h = await start_bot("bot1")
    who = Person(9030 + LANGS.index(lang))
    await register(h, who, lang)
    await to_tour_date(h, who, lang)
    assert "15" not in h.buttons(who) and "1̶5̶" in h.buttons(who)  # 15.03.2026 is a Sunday
    _, off = h.find_button(who, "1̶5̶")
    assert await h.press_data(who, off) == [] and h.alerts()[-1] == t(lang, "cal_day_closed")
    _, header = next(
        (mid, b.callback_data)
        for (chat, mid), markup in h.bot.recorder.markups.items()
        if chat == who.id and isinstance(markup, InlineKeyboardMarkup)
        for row in markup.inline_keyboard
        for b in row
        if b.text == t(lang, "cal_weekdays").split()[0]
    )
    assert await h.press_data(who, header) == [] and h.alerts()[-1] == t(lang, "cal_pick_day")
    said = await h.text(who, "15.03.2026")
    assert said[0] == t(lang, "day_closed", example="17.03.2026")
    assert t("en", "stale_button") not in h.alerts() and h.unanswered_callbacks() == 0


async def test_paging_the_calendar_keeps_back_and_cancel(start_bot) -> None:
    h = await start_bot("bot1")
    who = Person(9040)
    await register(h, who)
    await to_tour_date(h, who)
    assert {"◀️ Back", "❌ Cancel"} <= set(h.buttons(who))
    await h.tap(who, "›")
    assert "📅 April 2026" in h.buttons(who) and {"◀️ Back", "❌ Cancel"} <= set(h.buttons(who))
    said = await h.tap(who, "◀️ Back")
    assert said == [t("en", "ask_visitors")]
    await h.text(who, "3")
    said = await h.tap(who, "❌ Cancel")
    assert said == [t("en", "cancelled"), t("en", "main_menu")]


# --- dead ends ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
async def test_a_photo_is_told_to_press_a_button_or_to_type(start_bot, lang: str) -> None:
    h = await start_bot("bot1")
    who = Person(9050 + LANGS.index(lang))
    await h.text(who, "/start")
    await h.tap(who, LANG_BUTTON[lang])
    await h.contact(who)
    assert await photo(h, who) == [t(lang, "text_expected"), t(lang, "ask_first_name")]  # a typed step
    await h.text(who, "Aziz")
    await h.text(who, "Karimov")
    assert await photo(h, who) == [t(lang, "use_buttons"), t(lang, "ask_gender")]  # a button step


@pytest.mark.parametrize("lang", LANGS)
async def test_bot2_cancel_before_starting_and_the_help_naming_back(start_bot, lang: str) -> None:
    h = await start_bot("bot2")
    who = Person(9060 + LANGS.index(lang), language_code=lang)
    said = await h.text(who, "/cancel")
    assert said == [t(lang, "nothing_to_cancel"), t(lang, "survey_start_hint")]
    assert t(lang, "survey_again") not in said
    said = await h.text(who, "/help")
    assert "/back" in said[0]


# --- My applications, Settings, the main menu ---------------------------------------------------------------------


async def test_my_applications_tells_each_application_apart(start_bot) -> None:
    h = await start_bot("bot1")
    who = Person(9070)
    await register(h, who, "uz")
    await h.tap(who, "🎓 Qabul 2026")
    await h.tap(who, "Italiya treki")
    await h.tap(who, "Dasturiy ta'minot muhandisligi 🇺🇿")
    await h.tap(who, KEEP_REGION["uz"])
    await h.tap(who, "⏭ O'tkazib yuborish")
    admission_ref = (await h.tap(who, t("uz", "btn_confirm")))[0].rsplit(" ", 1)[-1]
    await to_tour_date(h, who, "uz")
    await h.text(who, "20.03.2026")
    await h.tap(who, "14:00")
    await h.tap(who, KEEP_REGION["uz"])
    tour_ref = (await h.tap(who, t("uz", "btn_confirm")))[0].rsplit(" ", 1)[-1]
    listing = (await h.tap(who, "📋 Arizalarim"))[-1]
    assert "• Qabul 2026: Italiya treki / Dasturiy ta'minot muhandisligi 🇺🇿" in listing
    assert "• Kampusga ekskursiya: School No. 42 / 20.03.2026 14:00" in listing
    assert f"raqam {admission_ref}" in listing and f"raqam {tour_ref}" in listing
    assert "yuborilgan sana 10.03.2026" in listing and "holat: 📨 yuborilgan (" in listing


async def test_the_main_menu_is_a_persistent_keyboard_that_works_mid_form(start_bot) -> None:
    h = await start_bot("bot1")
    who = Person(9080)
    await register(h, who, "ru")
    keyboard = [c.reply_markup for c in h.bot.recorder.calls if isinstance(c, SendMessage)][-1]
    assert isinstance(keyboard, ReplyKeyboardMarkup) and keyboard.is_persistent
    await h.tap(who, "🏛 Экскурсия по кампусу")
    said = await h.text(who, "📋 Мои заявки")  # a menu button in the middle of a form
    assert said[-1].startswith(t("ru", "apps_title"))


async def test_bot2_removes_each_question_once_the_next_is_asked(start_bot) -> None:
    h2 = await start_bot("bot2")
    who = Person(9090)
    await identity(h2, who, "en")
    deleted = [c for c in h2.bot.recorder.calls if isinstance(c, DeleteMessage)]
    prompts = [
        c for c in h2.bot.recorder.calls if isinstance(c, SendMessage) and c.text in (t("en", "ask_first_name"),)
    ]
    assert prompts and len(deleted) >= 6  # contact, names, gender, region, student id, program questions
    h1 = await start_bot("bot1")
    await register(h1, Person(9091))
    assert not [c for c in h1.bot.recorder.calls if isinstance(c, DeleteMessage)]  # bot1 keeps its chat


# --- words --------------------------------------------------------------------------------------------------------

ENGLISH = (
    "Campus", "Tour", "Foundation", "Year", "Academy", "Student", "Career", "Center", "Track", "Direction",
    "Foreigner", "Settings", "Back", "Cancel", "Skip", "Today", "Reference", "Status", "Confirm", "Submitted",
)  # fmt: skip
BRANDS = ("Polito", "TTPU", "Telegram", "Uzbektelecom")  # kept as the university writes them (bots/README.md)


def english_words(text: str) -> set[str]:
    words = re.sub(r"/\w+", "", text)  # commands (/back, /cancel) are the same in every language
    return {w for w in ENGLISH if re.search(rf"\b{w}\b", words, flags=re.IGNORECASE)}


def everything_shown(h: BotHarness, who: Person) -> list[str]:
    shown = []
    for call in h.bot.recorder.calls:
        if isinstance(call, SendMessage) and int(call.chat_id) == who.id:
            shown.append(call.text)
            markup = call.reply_markup
            if isinstance(markup, InlineKeyboardMarkup):
                shown += [b.text for row in markup.inline_keyboard for b in row]
            elif isinstance(markup, ReplyKeyboardMarkup):
                shown += [b.text for row in markup.keyboard for b in row]
    return shown


@pytest.mark.parametrize("lang", ["uz", "ru"])
async def test_every_flow_in_uzbek_and_russian_has_no_english_word(start_bot, lang: str) -> None:
    h = await start_bot("bot1")
    who = Person(9100 + len(lang) + ord(lang[0]))
    await register(h, who, lang)
    await h.tap(who, t(lang, "btn_menu_campus"))
    for answer in ("School No. 42", "teacher"):
        await h.text(who, answer)
    await h.tap(who, t(lang, "btn_skip"))
    await h.text(who, "3")
    await h.tap(who, "›")
    await h.text(who, "15.03.2026")  # a Sunday: refused
    await h.text(who, "20.03.2026")
    await h.tap(who, "14:00")
    await h.tap(who, {"uz": "Samarqand", "ru": "Самарканд"}[lang])  # the application's region, not the profile's
    await h.tap(who, t(lang, "btn_confirm"))
    await h.tap(who, t(lang, "btn_menu_admissions"))
    await h.tap(who, {"uz": "Italiya treki", "ru": "Итальянский трек"}[lang])
    await h.tap(who, {"uz": "Dasturiy ta'minot muhandisligi 🇺🇿", "ru": "Программная инженерия 🇺🇿"}[lang])
    await h.tap(who, KEEP_REGION[lang])
    await h.tap(who, t(lang, "btn_skip"))
    await h.tap(who, t(lang, "btn_confirm"))
    await h.tap(who, t(lang, "btn_menu_foundation"))
    await h.tap(who, t(lang, "btn_skip"))
    await h.tap(who, KEEP_REGION[lang])
    await h.tap(who, t(lang, "btn_confirm"))
    await h.tap(who, t(lang, "btn_menu_polito"))
    await h.tap(who, {"uz": "Fizika", "ru": "Физика"}[lang])
    await h.tap(who, KEEP_REGION[lang])
    await h.tap(who, t(lang, "btn_confirm"))
    await h.tap(who, t(lang, "btn_menu_apps"))
    await h.tap(who, t(lang, "btn_menu_settings"))
    await h.text(who, "/nonsense")

    h2 = await start_bot("bot2")
    student = Person(9110 + len(lang) + ord(lang[0]))
    await identity(h2, student, lang)
    await h2.tap(student, t(lang, "btn_course_year", n=2))
    await h2.tap(student, t(lang, "btn_no"))
    await h2.tap(student, t(lang, "btn_yes"))
    await h2.tap(student, t(lang, "btn_yes"))
    await h2.tap(student, t(lang, "btn_skip"))
    await h2.tap(student, t(lang, "btn_confirm"))

    for harness, person in ((h, who), (h2, student)):
        shown = everything_shown(harness, person)
        assert len(shown) > 40
        found = {text: english_words(text) for text in shown if english_words(text)}
        assert found == {}, found
