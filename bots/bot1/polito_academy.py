"""Polito Academy (SPEC §10): a subject, when any is offered."""

from __future__ import annotations

from bots.bot1.section import Answers, Choice, Line, Region, Section, chosen
from ingest.contracts.kinds import BY_SLUG


def fields(form: Answers) -> Answers:
    return {"subject_id": form.get("subject_id")}


SECTION = Section(
    item="polito",
    group="Polito",
    kind=BY_SLUG["polito-academy"],
    intro="polito_intro",
    button="btn_menu_polito",
    steps=(Choice("subject", "ask_subject", columns=2), Region()),
    summary=(Line("sum_subject", chosen("subject")),),
    fields=fields,
)
