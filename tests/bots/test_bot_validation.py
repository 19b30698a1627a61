"""Bad answers are re-asked with an example and change nothing; button steps re-ask typed text; a shared contact
must be the sender's own; stale buttons are answered."""

from __future__ import annotations

from bots.calendar import CalendarCB
from bots.texts import t
from ingest.core.schema import Applicant, CampusTourRequest
from tests.bots.conftest import count
from tests.bots.conversations import KEEP_REGION, profile_start, register
from tests.bots.harness import BotHarness, Person


async def reasks(h: BotHarness, who: Person, answer: str, error: str, question: str) -> None:
    said = await h.text(who, answer)
    assert said == [error, question], said


async def test_registration_reasks_bad_answers_with_an_example(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(6001)
    await h.text(who, "/start")
    await h.tap(who, "🇬🇧 English")
    said = await h.text(who, "+998901234567")  # typed instead of shared
    assert said == [t("en", "contact_expected")]
    said = await h.contact(who, owner=999)  # someone else's contact
    assert said == [t("en", "contact_not_own")]
    await h.contact(who)
    await reasks(h, who, "4ziz", t("en", "bad_first_name"), t("en", "ask_first_name"))
    await reasks(h, who, "A", t("en", "bad_first_name"), t("en", "ask_first_name"))
    await h.text(who, "Aziz")
    await h.text(who, "O'Neil-Karimov")
    said = await h.text(who, "male")  # typed in a button step
    assert said == [t("en", "use_buttons"), t("en", "ask_gender")]
    await h.tap(who, "👩 Female")
    birth_q = t("en", "ask_birth_date", example="10.03.2008")
    await reasks(h, who, "2005-04-15", t("en", "bad_date", example="10.03.2008"), birth_q)
    await reasks(h, who, "31.02.2005", t("en", "bad_date", example="10.03.2008"), birth_q)
    await reasks(h, who, "11.03.2009", t("en", "too_young", min_age=17, example="10.03.2008"), birth_q)
    await reasks(h, who, "01.01.1900", t("en", "birth_too_old", example="10.03.2008"), birth_q)
    said = await h.text(who, "10.03.2009")  # exactly 17 today
    assert said == [t("en", "date_chosen", date="10.03.2009"), t("en", "ask_email")]
    await reasks(h, who, "aziz@", t("en", "bad_email"), t("en", "ask_email"))
    await reasks(h, who, "aziz@example", t("en", "bad_email"), t("en", "ask_email"))
    await h.tap(who, "⏭ Skip")
    said = await h.tap(who, "Tashkent city")
    assert said[-1] == t("en", "registration_done")
    [applicant] = await rows_applicant(db, who.id)
    assert applicant.last_name == "O'Neil-Karimov" and applicant.email == "" and applicant.gender == "female"
    assert h.unanswered_callbacks() == 0


async def rows_applicant(db, telegram_user_id: int):
    from tests.bots.conftest import rows

    return await rows(db, Applicant, telegram_user_id=telegram_user_id)


async def test_birth_calendar_navigates_and_refuses_days_that_are_too_recent(start_bot) -> None:
    h = await start_bot("bot1")
    who = Person(6002)
    await profile_start(h, who)
    assert "2009" in h.buttons(who) and "📅 March 2009" in h.buttons(who)
    await h.tap(who, "«")  # a year back
    assert "📅 March 2008" in h.buttons(who)
    await h.tap(who, "‹")
    assert "📅 February 2008" in h.buttons(who)
    said = await h.press_data(
        who, CalendarCB(act="day", y=2009, m=3, d=11).pack()
    )  # forged: a day the calendar does not offer
    assert said == [] and h.alerts()[-1] == "This day cannot be chosen."
    said = await h.tap(who, "29")  # 29 February 2008
    assert said == [t("en", "date_chosen", date="29.02.2008"), t("en", "ask_email")]


async def test_campus_tour_reasks_every_bad_answer(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(6003)
    await register(h, who)
    await h.tap(who, "🏛 Campus Tour")
    await reasks(h, who, "x", t("en", "bad_org"), t("en", "ask_org"))
    await h.text(who, "School No. 42")
    await h.text(who, "teacher")
    await reasks(h, who, "901234567", t("en", "bad_phone"), t("en", "ask_extra_phone"))
    await reasks(h, who, "+99890123456", t("en", "bad_phone"), t("en", "ask_extra_phone"))
    await h.tap(who, "⏭ Skip")
    for bad in ("0", "51", "five", "-3"):
        await reasks(h, who, bad, t("en", "bad_visitors"), t("en", "ask_visitors"))
    await h.text(who, "50")
    date_q = t("en", "ask_tour_date", example="17.03.2026")
    await reasks(h, who, "09.03.2026", t("en", "date_in_past", example="17.03.2026"), date_q)
    await reasks(h, who, "01.01.2027", t("en", "date_too_far", days=180, example="17.03.2026"), date_q)
    await reasks(h, who, "tomorrow", t("en", "bad_date", example="17.03.2026"), date_q)
    said = await h.text(who, "10.03.2026")  # today is allowed
    assert said[0] == t("en", "date_chosen", date="10.03.2026")
    time_q = t("en", "ask_tour_time", opens="09:00", closes="18:00")
    await reasks(h, who, "25:00", t("en", "bad_time"), time_q)
    await reasks(h, who, "noon", t("en", "bad_time"), time_q)
    await reasks(h, who, "19:30", t("en", "time_outside_hours", opens="09:00", closes="18:00"), time_q)
    await reasks(h, who, "10:30", t("en", "time_passed", example="18:00"), time_q)  # it is 11:00 now
    assert (await h.text(who, "16:45"))[-1] == t("en", "ask_app_region")
    said = await h.tap(who, KEEP_REGION["en"])
    assert "Time: 16:45" in said[-1] and "Date: 10.03.2026" in said[-1]
    assert await count(db, CampusTourRequest) == 0
    await h.tap(who, "✅ Confirm and send")
    assert await count(db, CampusTourRequest) == 1


async def test_past_days_are_not_offered_by_the_tour_calendar(start_bot) -> None:
    h = await start_bot("bot1")
    who = Person(6004)
    await register(h, who)
    await h.tap(who, "🏛 Campus Tour")
    for answer in ("School No. 42", "teacher", "+998901234567", "5"):
        await h.text(who, answer)
    labels = h.buttons(who)
    assert "‹" not in labels  # no way back to February
    said = await h.press_data(who, CalendarCB(act="day", y=2026, m=3, d=9).pack())
    assert said == [] and h.alerts()[-1] == "This day cannot be chosen."
    said = await h.tap(who, "Today")
    assert said[0] == t("en", "date_chosen", date="10.03.2026")


async def test_cancel_menu_and_lang_work_in_the_middle_of_a_form(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(6005)
    await register(h, who)
    await h.tap(who, "🏛 Campus Tour")
    await h.text(who, "School No. 42")
    said = await h.text(who, "/lang")
    assert said == [t("en", "choose_language")]
    said = await h.tap(who, "🇷🇺 Русский")
    assert said == [t("ru", "language_set"), t("ru", "ask_position")]  # same step, new language
    said = await h.text(who, "/cancel")
    assert said == [t("ru", "cancelled"), t("ru", "main_menu")]
    said = await h.text(who, "учитель")  # no form any more
    assert said == [t("ru", "not_understood")]
    said = await h.text(who, "/cancel")
    assert said == [t("ru", "nothing_to_cancel"), t("ru", "main_menu")]
    assert await count(db, CampusTourRequest) == 0


async def test_stale_buttons_are_answered_not_ignored(start_bot) -> None:
    h = await start_bot("bot1")
    who = Person(6006)
    await register(h, who)
    said = await h.press_data(who, "pick:gender:male")  # a registration button, long after registration
    assert said == [] and h.alerts()[-1] == t("en", "stale_button")
    said = await h.press_data(who, "garbage")
    assert said == [] and h.alerts()[-1] == t("en", "stale_button")
    assert h.unanswered_callbacks() == 0


async def test_unknown_commands_and_stickers_are_explained_and_the_question_repeated(start_bot) -> None:
    h = await start_bot("bot2")
    who = Person(6007)
    await h.text(who, "/start")
    await h.tap(who, "🇬🇧 English")
    await h.contact(who)
    said = await h.text(who, "/help")
    assert said == [t("en", "unknown_command"), t("en", "ask_first_name")]
    await h._feed(message=h._message(who, sticker=None, dice={"emoji": "🎲", "value": 3}))
    assert h.replies(who) == [t("en", "text_expected"), t("en", "ask_first_name")]
    assert await h.text(who, "Dilnoza") == [t("en", "ask_last_name")]


async def test_back_returns_to_the_previous_question_and_keeps_going(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(6008)
    await register(h, who)
    await h.tap(who, "🏛 Campus Tour")
    assert h.buttons(who) == []  # the first question of a form has nothing to go back to
    await h.text(who, "School No. 42")
    assert h.buttons(who) == ["◀️ Back"]
    said = await h.tap(who, "◀️ Back")
    assert said == [t("en", "ask_org")]
    await h.text(who, "Lyceum No. 7")
    await h.text(who, "director")
    await h.tap(who, "⏭ Skip")
    assert await h.text(who, "/back") == [t("en", "ask_extra_phone")]
    assert await h.text(who, "/back") == [t("en", "ask_position")]
    await h.text(who, "teacher")
    await h.text(who, "+998901112233")
    await h.text(who, "4")
    await h.text(who, "20.03.2026")
    await h.tap(who, "10:00")
    summary = (await h.tap(who, KEEP_REGION["en"]))[-1]
    assert "Organisation: Lyceum No. 7" in summary and "Position: teacher" in summary
    assert "Extra phone: +998901112233" in summary
    await h.tap(who, "✅ Confirm and send")
    assert await h.text(who, "/back") == [t("en", "no_previous_step")]
    assert await count(db, CampusTourRequest) == 1
