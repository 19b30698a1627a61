"""Foundation Year (SPEC §10): the profile is the application; only an optional extra phone is asked."""

from __future__ import annotations

from bots import validators
from bots.bot1.payloads import second_phone
from bots.bot1.section import Answers, Line, Region, Section, Typed, answer_or_none
from ingest.contracts.kinds import BY_SLUG


def fields(form: Answers) -> Answers:
    return {"answers": second_phone(form)}


SECTION = Section(
    item="foundation",
    group="Foundation",
    kind=BY_SLUG["foundation"],
    intro="foundation_intro",
    button="btn_menu_foundation",
    steps=(Typed("extra_phone", "ask_extra_phone", validators.uz_phone, skip=True), Region()),
    summary=(Line("sum_extra_phone", answer_or_none("extra_phone")),),
    fields=fields,
)
