"""Bot1's section specs are complete: each application kind of the contract's registry has exactly one section, its
states are the ones users' FSM storage already holds, every step is asked, and every text it names exists in each
language."""

from __future__ import annotations

from bots.bot1 import apply, menu
from bots.bot1.bot import BOT1
from bots.bot1.sections import SECTIONS, main_menu
from bots.forms import PROMPTS
from bots.texts import CATALOGUES
from ingest.contracts.kinds import APPLICATION_KINDS, BATCH_KINDS

# Stored in users' FSM storage (state "<group>:<step>", form "section"): a change strands people mid-form.
# New steps may be added (`application_region`, issue 15); stored names never change.
PERSISTED = {
    "campus": (
        "CampusTour",
        ["organization", "position", "extra_phone", "visitors", "date", "time", "application_region", "confirm"],
    ),
    "admissions": ("Admissions", ["track", "direction", "application_region", "extra_phone", "confirm"]),
    "foundation": ("Foundation", ["extra_phone", "application_region", "confirm"]),
    "polito": ("Polito", ["subject", "application_region", "confirm"]),
}


def test_each_application_kind_has_exactly_one_section() -> None:
    assert sorted(s.kind.slug for s in SECTIONS) == sorted(k.slug for k in APPLICATION_KINDS)
    assert len({s.item for s in SECTIONS}) == len({s.group for s in SECTIONS}) == len(SECTIONS)
    assert all(s.kind.batch_kind in BATCH_KINDS for s in SECTIONS)


def test_section_states_keep_their_stored_names_and_each_is_asked() -> None:
    assert apply.router in BOT1.routers  # the router every section's steps are registered on
    stored = {s.item: (s.group, [name.split(":")[1] for name in s.states.__all_states_names__]) for s in SECTIONS}
    assert stored == PERSISTED
    for section in SECTIONS:
        assert section.first.state == f"{section.group}:{section.steps[0].name}"
        for state in section.states.__all_states_names__:
            assert PROMPTS.knows(state), state


def test_every_text_a_section_names_exists_in_each_language() -> None:
    for section in SECTIONS:
        keys = {
            section.intro,
            section.button,
            menu.KIND_KEYS[section.kind.slug],
            menu.KIND_KEYS[section.kind.batch_kind],
            *(step.question for step in section.steps),
            *(line.key for line in section.summary),
        }
        for lang, texts in CATALOGUES.items():
            assert keys <= texts.keys(), (section.item, lang, keys - texts.keys())


def test_the_main_menu_is_a_persistent_keyboard_offering_the_sections_two_to_a_row() -> None:
    markup = main_menu("en")
    assert markup.is_persistent
    assert [[button.text for button in row] for row in markup.keyboard] == [
        ["🏛 Campus Tour", "🎓 Admissions 2026"],
        ["📘 Foundation Year", "🧪 Polito Academy"],
        ["📋 My applications", "⚙️ Settings"],
    ]
