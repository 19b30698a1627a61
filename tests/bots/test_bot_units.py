"""Units behind the flows: validators and the calendar (month navigation crosses years, RS §9.1's wrap fixed)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bots import validators
from bots.bot1.registration import PROFILE_FIELDS
from bots.calendar import CalendarCB, DateRange, build
from bots.forms import fix_text, problem_field


def callbacks(markup) -> dict[str, str]:
    return {b.text: b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data}


def test_month_navigation_crosses_the_year_boundary() -> None:
    allowed = DateRange(date(2025, 6, 1), date(2026, 6, 30))
    january = callbacks(build("en", 2026, 1, allowed))
    assert january["‹"] == CalendarCB(act="nav", y=2025, m=12).pack()
    assert january["›"] == CalendarCB(act="nav", y=2026, m=2).pack()
    december = callbacks(build("en", 2025, 12, allowed))
    assert december["›"] == CalendarCB(act="nav", y=2026, m=1).pack()
    june = callbacks(build("en", 2026, 6, allowed))
    assert "›" not in june  # nothing to show after the range
    assert "📅 June 2026" in june and "30" in june and "1" in june
    assert callbacks(build("ru", 2030, 1, allowed)).get("📅 Июнь 2026")  # outside months are pulled into range


@pytest.mark.parametrize(
    ("text", "ok"),
    [("Aziz", True), ("Азиз", True), ("Oʻktam", True), ("O'Neil-Smith", True), ("Mary Ann", True),
     ("A", False), ("4ziz", False), ("Aziz!", False), ("x" * 51, False), ("--", False)],
)  # fmt: skip
def test_person_names(text: str, ok: bool) -> None:
    if ok:
        assert validators.person_name(text, "bad_first_name") == text
    else:
        with pytest.raises(validators.Invalid):
            validators.person_name(text, "bad_first_name")


@pytest.mark.parametrize(
    ("text", "value"),
    [("+998901234567", "+998901234567"), ("+998 (90) 123-45-67", "+998901234567"), ("998901234567", None),
     ("+99890123456", None), ("+7 901 234 56 78", None)],
)  # fmt: skip
def test_uzbek_phone(text: str, value: str | None) -> None:
    if value:
        assert validators.uz_phone(text) == value
    else:
        with pytest.raises(validators.Invalid, match="bad_phone"):
            validators.uz_phone(text)


def test_emails_student_ids_years_and_times() -> None:
    assert validators.email(" a.b+c@mail.example.uz ") == "a.b+c@mail.example.uz"
    for bad in ("a@b", "a@b.c", "@b.cd", "a b@c.de", "a@@b.cd"):
        with pytest.raises(validators.Invalid):
            validators.email(bad)
    assert validators.student_id(" SE12345 ") == "SE12345"  # the spelling is kept
    assert validators.student_id("S1-000001") == "S1-000001"  # the demo roster's ids
    assert [validators.course_year(str(n)) for n in range(1, 6)] == [1, 2, 3, 4, 5]
    now = datetime(2026, 3, 10, 11, 0)
    assert validators.tour_time("9:05", date(2026, 3, 11), now) == "09:05"
    assert validators.tour_time("18.00", date(2026, 3, 11), now) == "18:00"
    with pytest.raises(validators.Invalid, match="time_passed"):
        validators.tour_time("11:00", date(2026, 3, 10), now)


def test_birthday_on_29_february_and_age_edges() -> None:
    today = date(2026, 3, 1)
    assert validators.birth_date(date(2009, 3, 1), today) == date(2009, 3, 1)  # 17 today
    with pytest.raises(validators.Invalid, match="too_young"):
        validators.birth_date(date(2009, 3, 2), today)
    assert validators.age_on(date(2008, 2, 29), date(2025, 2, 28)) == 16
    assert validators.age_on(date(2008, 2, 29), date(2025, 3, 1)) == 17


def test_problem_fields_become_advice() -> None:
    assert problem_field({"field": "$.items[3].payload.region_id"}) == "region"
    assert problem_field({"errors": [{"field": "$.email", "message": "x"}]}) == "email"
    assert "⚙️ Settings" in fix_text("en", {"field": "$.email"}, PROFILE_FIELDS)
    assert "«e-mail»" not in fix_text("en", {"field": "$.email"}, PROFILE_FIELDS)
    assert fix_text("en", {"field": "$.student_external_id"}).endswith("check «student ID» (/menu).")
    assert fix_text("en", {"code": "X"}) == "please check your answers and fill in the form again (/menu)."
