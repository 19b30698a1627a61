"""Admissions 2026 (SPEC §10): a track (when any is offered), a direction (required), an optional extra phone."""

from __future__ import annotations

from bots import validators
from bots.bot1.payloads import second_phone
from bots.bot1.section import Answers, Choice, Line, Region, Section, Typed, answer_or_none, chosen
from ingest.contracts.kinds import BY_SLUG


def fields(form: Answers) -> Answers:
    return {"direction_id": form["direction_id"], "track_id": form.get("track_id"), "answers": second_phone(form)}


SECTION = Section(
    item="admissions",
    group="Admissions",
    kind=BY_SLUG["admissions-2026"],
    intro="admissions_intro",
    button="btn_menu_admissions",
    steps=(
        Choice("track", "ask_track"),
        Choice("direction", "ask_direction", required=True),
        Region(),
        Typed("extra_phone", "ask_extra_phone", validators.uz_phone, skip=True),
    ),
    summary=(
        Line("sum_track", chosen("track")),
        Line("sum_direction", chosen("direction", optional=False)),
        Line("sum_extra_phone", answer_or_none("extra_phone")),
    ),
    fields=fields,
)
