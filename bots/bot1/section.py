"""What a bot1 section is (SPEC §10): one spec object per application kind of `ingest.contracts.kinds`, holding
its questions as data, its summary lines, its submission's fields and its texts keys. Its FSM states are derived
from its steps; `bots.bot1.apply` runs any section from its spec.

A section's `item` and `group` and its steps' names are stored in users' FSM storage (`"<group>:<step>"`, and the
`section` kept in the form): renaming one would strand everyone in the middle of that form after a restart."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from aiogram.fsm.state import State, StatesGroup

from bots.bot1 import payloads
from bots.catalog_cache import name_in
from bots.routing import Handlers
from bots.steps import DateRule, catalog_step, date_step, region_step, text_step
from bots.texts import t
from ingest.contracts.kinds import APPLICATION_REGION, ApplicationKind

Answers = dict[str, Any]  # the answers of the form in progress
CONFIRM = "confirm"  # every section ends on its summary, asked in this state


class Step(Protocol):
    """One question of a section."""

    name: str  # its FSM state within the section's group, and the answer's key in the form
    question: str  # texts key

    def register(self, router: Handlers, state: State, then: State) -> None:
        """Register its prompt and the handlers reading its answer; `then` is the step after it."""


@dataclass(frozen=True)
class Typed:
    """A typed answer kept once `parse` accepts it; with `skip`, a Skip button keeps an empty answer."""

    name: str
    question: str
    parse: Callable[[str], Any]
    skip: bool = False

    def register(self, router: Handlers, state: State, then: State) -> None:
        text_step(router, state, self.question, self.name, self.parse, then, skip=self.skip)


@dataclass(frozen=True)
class Day:
    """A date picked on the calendar or typed, within what `rule` allows."""

    name: str
    question: str
    rule: DateRule

    def register(self, router: Handlers, state: State, then: State) -> None:
        date_step(router, state, self.question, self.name, self.rule, then)


@dataclass(frozen=True)
class Choice:
    """An item of the catalog type `name`. When the catalog offers none, an optional choice is passed over and a
    required one offers Retry."""

    name: str
    question: str
    columns: int = 1
    required: bool = False

    def register(self, router: Handlers, state: State, then: State) -> None:
        catalog_step(
            router, state, self.name, then, question=self.question, columns=self.columns, required=self.required
        )


@dataclass(frozen=True)
class Region(Choice):
    """The region this application is made from (`application_region_id`), which may differ from the profile's:
    the profile's region first (one tap keeps it), then every region. The profile itself is never changed."""

    name: str = APPLICATION_REGION
    question: str = "ask_app_region"

    def register(self, router: Handlers, state: State, then: State) -> None:
        region_step(router, state, self.name, self.question, then)


@dataclass(frozen=True)
class Line:
    """One line of the summary: the texts key `key` filled with `value(answers, lang)`."""

    key: str
    value: Callable[[Answers, str], object]

    def text(self, form: Answers, lang: str) -> str:
        return t(lang, self.key, value=self.value(form, lang))


def answer(name: str) -> Callable[[Answers, str], object]:
    return lambda form, _lang: form.get(name, "")


def answer_or_none(name: str) -> Callable[[Answers, str], object]:
    """An optional answer: a dash when it was skipped."""
    return lambda form, lang: form.get(name) or t(lang, "sum_none")


def day(name: str) -> Callable[[Answers, str], object]:
    return lambda form, _lang: date.fromisoformat(form[name]).strftime("%d.%m.%Y")


def chosen(name: str, *, optional: bool = True) -> Callable[[Answers, str], object]:
    """The chosen catalog item's name in the user's language (a dash for an optional one not chosen)."""
    return lambda form, lang: name_in(form.get(f"{name}_names"), lang) or (t(lang, "sum_none") if optional else "")


@dataclass(frozen=True)
class Section:
    """A bot1 section, declared once; its FSM states (`states`) are derived from its steps."""

    item: str  # its main-menu item: the button's callback data and the `section` kept in the form
    group: str  # its states are stored as "<group>:<step>"
    kind: ApplicationKind  # what it submits
    intro: str  # texts key said on entering it
    button: str  # texts key of its main-menu button
    steps: tuple[Step, ...]  # its questions, in the order they are asked; the summary comes after the last
    summary: tuple[Line, ...]  # its lines of the summary, between the applicant's phone and the region
    fields: Callable[[Answers], Answers]  # its submission's fields besides the applicant's, from the answers
    states: type[StatesGroup] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = [*(step.name for step in self.steps), CONFIRM]
        group = types.new_class(self.group, (StatesGroup,), exec_body=lambda ns: ns.update({n: State() for n in names}))
        object.__setattr__(self, "states", group)

    def state(self, name: str) -> State:
        return getattr(self.states, name)

    @property
    def first(self) -> State:
        return self.state(self.steps[0].name)

    @property
    def confirm(self) -> State:
        return self.state(CONFIRM)

    def questions(self) -> Iterator[tuple[Step, State, State]]:
        """Each step with its state and the state after it (the last is followed by the summary)."""
        after = [*(self.state(step.name) for step in self.steps[1:]), self.confirm]
        for step, then in zip(self.steps, after, strict=True):
            yield step, self.state(step.name), then

    def body(self, profile: Answers, form: Answers) -> Answers:
        """The submission, through the contract of its kind: the profile (its region included, unchanged), the
        section's fields and the region chosen for this application."""
        chosen = {f"{APPLICATION_REGION}_id": form.get(f"{APPLICATION_REGION}_id")}
        return payloads.application(self.kind.struct, profile, {**self.fields(form), **chosen})
