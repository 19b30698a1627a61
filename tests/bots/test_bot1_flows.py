"""Bot1 end to end: real Dispatcher, mocked Telegram, the API client talking to the real app on a test database;
every test asserts both what the user was told and the rows stored."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import update

from bots.texts import t
from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    CampusTourRequest,
    FoundationRequest,
    PolitoAcademyRequest,
)
from tests.bots.conftest import catalog_id, count, rows
from tests.bots.conversations import KEEP_REGION, foundation_application, foundation_summary, register
from tests.bots.harness import BotHarness, Person


async def campus_tour(h: BotHarness, who: Person, lang: str = "en") -> list[str]:
    await h.tap(who, t(lang, "btn_menu_campus"))
    await h.text(who, "School No. 42")
    await h.text(who, "teacher")
    await h.text(who, "+998 90 765 43 21")
    await h.text(who, "12")
    assert t(lang, "cal_title", month=t(lang, "cal_months").split()[2], year=2026) in h.buttons(who)
    await h.text(who, "20.03.2026")
    await h.tap(who, "14:00")
    await h.tap(who, KEEP_REGION[lang])
    said = await h.tap(who, t(lang, "btn_confirm"))
    return said


@pytest.mark.parametrize("lang", ["uz", "ru", "en"])
async def test_registration_and_campus_tour_in_each_language(start_bot, db, lang: str) -> None:
    h = await start_bot("bot1")
    who = Person(5000 + len(lang) + ord(lang[0]), username="aziz")
    said = await register(h, who, lang)
    assert said[-1] == t(lang, "registration_done")
    [applicant] = await rows(db, Applicant, telegram_user_id=who.id)
    assert (applicant.first_name, applicant.last_name, applicant.phone) == ("Aziz", "Karimov", "+998901234567")
    assert (applicant.email, applicant.gender, applicant.language) == ("aziz@example.com", "male", lang)
    assert applicant.birth_date == date(2005, 4, 15)
    assert str(applicant.region_id) == await catalog_id(db, "REG-TASHCITY")

    said = await campus_tour(h, who, lang)
    [tour] = await rows(db, CampusTourRequest, applicant_id=applicant.id)
    assert said[-1] == t(lang, "submit_delivered", ref=said[-1].rsplit(" ", 1)[-1])
    assert tour.preferred_date == date(2026, 3, 20) and tour.status == "submitted"
    assert tour.answers == {
        "organization": "School No. 42",
        "position": "teacher",
        "visitor_count": 12,
        "preferred_date": "2026-03-20",
        "time_slot": "14:00",
        "second_phone": "+998907654321",
    }
    assert h.unanswered_callbacks() == 0


async def test_the_summary_shows_the_answers_before_anything_is_sent(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(5101)
    await register(h, who)
    await h.tap(who, "🏛 Campus Tour")
    for answer in ("Lyceum <b>7</b>", "director", "+998901112233", "3", "21.03.2026"):
        await h.text(who, answer)
    await h.tap(who, "11:30")
    summary = (await h.tap(who, KEEP_REGION["en"]))[-1]
    assert "Organisation: Lyceum &lt;b&gt;7&lt;/b&gt;" in summary  # user text is escaped in HTML messages
    assert "Visitors: 3" in summary and "Date: 21.03.2026" in summary and "Time: 11:30" in summary
    assert "Region: Tashkent city" in summary
    assert await count(db, CampusTourRequest) == 0


async def test_admissions_foundation_and_polito_are_stored_with_their_catalog_ids(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(5102)
    await register(h, who)

    await h.tap(who, "🎓 Admissions 2026")
    assert (await h.tap(who, "Italian Track"))[-1] == "Choose a direction:"
    await h.tap(who, "Software Engineering 🇺🇿")
    await h.tap(who, KEEP_REGION["en"])
    await h.tap(who, "⏭ Skip")
    said = await h.tap(who, "✅ Confirm and send")
    assert said[-1].startswith("✅ Received and registered.")
    [adm] = await rows(db, Admissions2026Application)
    assert str(adm.direction_id) == await catalog_id(db, "DIR-SOFT-UZ")
    assert str(adm.track_id) == await catalog_id(db, "TRACK-ITALIAN")

    await h.tap(who, "📘 Foundation Year")
    await h.text(who, "+998933334455")
    await h.tap(who, KEEP_REGION["en"])
    await h.tap(who, "✅ Confirm and send")
    [foundation] = await rows(db, FoundationRequest)
    assert foundation.answers == {"second_phone": "+998933334455"}

    await h.tap(who, "🧪 Polito Academy")
    await h.tap(who, "Physics")
    await h.tap(who, KEEP_REGION["en"])
    said = await h.tap(who, "✅ Confirm and send")
    [polito] = await rows(db, PolitoAcademyRequest)
    assert str(polito.subject_id) == await catalog_id(db, "SUBJ-PHYSICS")
    assert said[-1].startswith("✅ Received and registered.")


async def test_my_applications_shows_statuses_from_the_server(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(5103)
    await register(h, who)
    await foundation_application(h, who)
    said = await h.tap(who, "📋 My applications")
    assert "• Foundation Year\n" in said[-1] and "status: 📨 submitted (since " in said[-1]

    async with db.sessionmaker() as s, s.begin():  # staff approve it on the dashboard
        await s.execute(update(FoundationRequest).values(status="approved"))
    said = await h.tap(who, "📋 My applications")
    assert "status: ✅ approved (since " in said[-1]


async def test_confirm_pressed_twice_stores_one_application(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(5104)
    await register(h, who)
    await foundation_summary(h, who)
    message_id, confirm = h.find_button(who, "✅ Confirm and send")
    await h.press_data(who, confirm, message_id)
    said = await h.press_data(who, confirm, message_id)  # the same button again: the form is over
    assert said == []
    assert h.alerts()[-1] == "This button is no longer active. Send /menu to start again."
    assert await count(db, FoundationRequest) == 1
    assert h.unanswered_callbacks() == 0


async def test_sections_need_a_profile(start_bot, db) -> None:
    h = await start_bot("bot1")
    said = await h.press_data(Person(5105), "menu:campus")
    assert said == ["Avval profilingizni to'ldiring: /start yuboring."]  # no language chosen yet: Uzbek
    said = await h.press_data(Person(5106, language_code="ru"), "menu:campus")
    assert said == ["Сначала заполните профиль: отправьте /start."]  # ...or the Telegram app's language
    assert await count(db, CampusTourRequest) == 0


async def test_settings_change_the_language_and_edit_one_field_at_a_time(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(5107)
    await register(h, who)
    assert (await h.tap(who, "⚙️ Settings"))[-1] == t("en", "settings_title")
    await h.tap(who, "🌐 Language")
    said = await h.tap(who, "🇺🇿 O'zbekcha")
    assert said == [t("uz", "language_set"), t("uz", "main_menu")]
    await h.tap(who, "⚙️ Sozlamalar")
    assert (await h.tap(who, "📱 Telefon"))[-1] == t("uz", "ask_contact")  # only the phone is asked
    said = await h.contact(who, phone="998935556677")
    assert said[-1] == t("uz", "profile_updated")
    await h.tap(who, "⚙️ Sozlamalar")
    await h.tap(who, "👤 Ism-familiya")  # the name is two questions, then saved
    await h.text(who, "Aziza")
    assert (await h.text(who, "Karimova"))[-1] == t("uz", "profile_updated")
    await h.tap(who, "⚙️ Sozlamalar")
    await h.tap(who, "📍 Hudud")
    assert (await h.tap(who, "Samarqand"))[-1] == t("uz", "profile_updated")
    [applicant] = await rows(db, Applicant, telegram_user_id=who.id)
    assert (applicant.first_name, applicant.last_name, applicant.phone) == ("Aziza", "Karimova", "+998935556677")
    assert (applicant.gender, applicant.language, applicant.email) == ("male", "uz", "aziz@example.com")
    assert applicant.birth_date == date(2005, 4, 15)  # never asked again
    assert str(applicant.region_id) == await catalog_id(db, "REG-SAMARKAND")
    assert await count(db, Applicant) == 1
