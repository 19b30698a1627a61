"""Bot2 end to end: the survey in uz, ru and en through the real Dispatcher, answers stored by the real app; the
roster decides program and year; bad answers re-asked; nothing said "received" unless it was stored."""

from __future__ import annotations

import uuid

from bots.texts import t
from ingest.core.schema import RosterEntry, Student, SurveyResponse
from tests.bots.conftest import catalog_id, count, rows
from tests.bots.conversations import LANG_BUTTON
from tests.bots.harness import BotHarness, Person

REGION = {"uz": "Samarqand", "ru": "Самарканд", "en": "Samarkand"}
PROGRAM = {"uz": "Dasturiy ta'minot muhandisligi", "ru": "Программная инженерия", "en": "Software Engineering"}


async def student_steps(h: BotHarness, who: Person, lang: str, student_id: str) -> None:
    """From the contact to the student id (the language already chosen): the program is asked next."""
    await h.contact(who, phone="+998 90 111 22 33")
    await h.text(who, "Dilnoza")
    await h.text(who, "Yusupova")
    await h.tap(who, t(lang, "btn_female"))
    assert (await h.tap(who, REGION[lang]))[-1] == t(lang, "ask_student_id")
    assert (await h.text(who, student_id))[-1] == t(lang, "ask_program")


async def identity(h: BotHarness, who: Person, lang: str, student_id: str = "se12345") -> None:
    assert (await h.text(who, "/start"))[-1] == t(lang, "choose_language")
    await h.tap(who, LANG_BUTTON[lang])
    await student_steps(h, who, lang, student_id)
    assert (await h.tap(who, PROGRAM[lang]))[-1] == t(lang, "ask_course_year")


async def quiet_survey(h: BotHarness, who: Person, year: str = "Year 1") -> list[str]:
    """The course year, then no job, no help wanted and no suggestions (in English): the summary."""
    await h.tap(who, year)
    await h.tap(who, "❌ No")
    await h.tap(who, "❌ No")
    return await h.tap(who, "⏭ Skip")


async def test_employed_graduate_in_uzbek(start_bot, db) -> None:
    h = await start_bot("bot2")
    who = Person(8001, username="dilnoza")
    await identity(h, who, "uz")
    assert (await h.tap(who, "🎓 Bitirganman"))[-1] == t("uz", "ask_employed")
    await h.tap(who, "✅ Ha")
    await h.text(who, "Uzbektelecom")
    assert (await h.text(who, "dasturchi"))[-1] == t("uz", "ask_suggestions")
    summary = (await h.text(who, "Ko'proq amaliyot kerak"))[-1]
    assert "Kurs: bitirgan" in summary and "Kompaniya: Uzbektelecom" in summary
    said = await h.tap(who, "✅ Tasdiqlash va yuborish")
    assert said[0].startswith("✅ Qabul qilindi va ro'yxatga olindi.") and said[-1] == t("uz", "survey_again")

    [response] = await rows(db, SurveyResponse)
    assert (response.employment_status, response.employment_company, response.employment_role) == (
        "employed", "Uzbektelecom", "dasturchi"
    )  # fmt: skip
    assert response.course_year == 5 and response.suggestions == "Ko'proq amaliyot kerak"
    assert response.consents == {"share_with_employers": False, "want_help": False}
    assert str(response.program_id) == await catalog_id(db, "B-UZ-SE")
    [student] = await rows(db, Student)
    assert (student.student_external_id, student.telegram_user_id, student.phone) == ("se12345", 8001, "+998901112233")
    assert (student.first_name, student.last_name, student.gender) == ("Dilnoza", "Yusupova", "female")
    assert str(student.region_id) == await catalog_id(db, "REG-SAMARKAND")
    [roster] = await rows(db, RosterEntry)
    assert roster.roster_campaign == "bot2_auto" and roster.course_year == 5
    assert h.unanswered_callbacks() == 0


async def test_unemployed_wanting_help_in_russian(start_bot, db) -> None:
    h = await start_bot("bot2")
    who = Person(8002)
    await identity(h, who, "ru", student_id="U2010123")
    await h.tap(who, "2 курс")
    await h.tap(who, "❌ Нет")
    assert (await h.tap(who, "✅ Да"))[-1] == t("ru", "ask_share_consent")
    said = await h.tap(who, "✅ Да")
    assert said == [t("ru", "career_center"), t("ru", "ask_suggestions")]
    summary = (await h.tap(who, "⏭ Пропустить"))[-1]
    assert "Помощь в поиске работы: да" in summary and "Передать работодателям: да" in summary
    said = await h.tap(who, "✅ Подтвердить и отправить")
    assert said[0].startswith("✅ Получено и зарегистрировано.")
    [response] = await rows(db, SurveyResponse)
    assert response.employment_status == "unemployed" and response.employment_company == ""
    assert response.consents == {"share_with_employers": True, "want_help": True}
    assert response.course_year == 2 and response.answers["language"] == "ru"
    [student] = await rows(db, Student)
    assert student.student_external_id == "U2010123"  # spelled as typed; the server matches case-insensitively


async def test_the_roster_decides_program_and_year_in_english(start_bot, db) -> None:
    async with db.sessionmaker() as s, s.begin():
        program = uuid.UUID(await catalog_id(db, "M-MBA"))
        s.add(RosterEntry(student_external_id="SE777", program_id=program, course_year=1, roster_campaign="default"))
    h = await start_bot("bot2")
    who = Person(8003)
    await identity(h, who, "en", student_id="SE777")
    said = await quiet_survey(h, who, "Year 3")  # the student says year 3 of Software Engineering; the roster: MBA 1
    assert "Course year: 3" in said[-1]
    said = await h.tap(who, "✅ Confirm and send")
    assert said[0].startswith("✅ Received and registered.")
    [response] = await rows(db, SurveyResponse)
    assert response.program_id == program and response.course_year == 1
    assert response.consents == {"share_with_employers": False, "want_help": False}
    [roster] = await rows(db, RosterEntry)
    assert roster.course_year == 1  # never overwritten by an answer (RS §13 item 7)


async def test_bad_answers_are_reasked(start_bot, db) -> None:
    h = await start_bot("bot2")
    who = Person(8004)
    await h.text(who, "/start")
    await h.tap(who, "🇬🇧 English")
    assert await h.text(who, "hello") == [t("en", "contact_expected")]
    assert await h.contact(who, owner=1) == [t("en", "contact_not_own")]
    await h.contact(who)
    await h.text(who, "Dilnoza")
    await h.text(who, "Yusupova")
    await h.tap(who, "👩 Female")
    assert await h.text(who, "Samarkand") == [t("en", "use_buttons"), t("en", "ask_region")]
    await h.tap(who, "Samarkand")
    for bad in ("", "abc", "se--12345", "se12345!", "x" * 30 + "123", "се12345"):
        said = await h.text(who, bad or " ")
        assert said == [t("en", "bad_student_id"), t("en", "ask_student_id")], bad
    await h.text(who, "se12345")
    await h.tap(who, "Software Engineering")
    for bad in ("0", "6", "third"):
        assert await h.text(who, bad) == [t("en", "bad_course_year"), t("en", "ask_course_year")]
    assert (await h.text(who, "4"))[-1] == t("en", "ask_employed")
    await h.tap(who, "✅ Yes")
    assert await h.text(who, "X") == [t("en", "bad_company"), t("en", "ask_company")]
    await h.text(who, "EPAM")
    assert await h.text(who, "Y") == [t("en", "bad_role"), t("en", "ask_role")]
    await h.text(who, "QA engineer")
    assert await h.text(who, "x" * 2001) == [t("en", "bad_suggestions"), t("en", "ask_suggestions")]
    await h.tap(who, "⏭ Skip")
    said = await h.tap(who, "✏️ Start this form again")  # from the summary back to the first question
    assert said == [t("en", "ask_contact")]
    assert await count(db, SurveyResponse) == 0
    assert await h.text(who, "/cancel") == [t("en", "cancelled"), t("en", "survey_start_hint")]


async def test_a_survey_sent_while_the_api_is_down_arrives_later(start_bot, db) -> None:
    h = await start_bot("bot2")
    who = Person(8005)
    await h.text(who, "/start")  # the catalog is fetched while the API is up ...
    await h.tap(who, "🇬🇧 English")
    await student_steps(h, who, "en", "se55555")
    h.network.up = False  # ... then it goes down: the last good copy still offers the programmes
    await h.deps.catalog.items("program")
    await h.tap(who, "Software Engineering")
    await quiet_survey(h, who)
    said = await h.tap(who, "✅ Confirm and send")
    assert said[0].startswith("📥 Saved.") and not any("Received" in m for m in said)
    assert await count(db, SurveyResponse) == 0
    h.network.up = True
    [outcome] = await h.deps.sender.drain_once(force=True)
    assert outcome.state == "delivered"
    assert h.replies(who)[-1].startswith("✅ Your submission")
    assert await count(db, SurveyResponse) == 1


async def test_the_same_telegram_account_with_another_student_id_is_told_what_to_do(start_bot, db) -> None:
    h = await start_bot("bot2")
    who = Person(8006)
    await identity(h, who, "en", student_id="se10001")
    for run in range(2):
        if run:  # a second run of the survey, with another student id
            await h.text(who, "/start")
            await student_steps(h, who, "en", "se10002")
            await h.tap(who, "Software Engineering")
        await quiet_survey(h, who)
        said = await h.tap(who, "✅ Confirm and send")
    assert said[0].startswith("⚠️ Your submission") and "already answered the survey with another student ID" in said[0]
    assert await count(db, SurveyResponse) == 1
    [dead] = await h.deps.outbox.dead_letters()
    assert dead.problem["code"] == "TELEGRAM_ID_CONFLICT"
