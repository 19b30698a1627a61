"""Campus Tour (SPEC §10): a school or organisation books a visit; the time is a slot button or typed within
opening hours, and not in the past on today's date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import partial

from aiogram import F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message

from bots import keyboards, validators
from bots.bot1.payloads import second_phone
from bots.bot1.section import Answers, Day, Line, Region, Section, Typed, answer, answer_or_none, day
from bots.deps import Deps
from bots.forms import PROMPTS, Turn, get_form, pressed, put
from bots.routing import Handlers
from bots.steps import TEXT, TOUR, invalid
from ingest.contracts.kinds import BY_SLUG


@dataclass(frozen=True)
class TourTime:
    """The visit's time: a slot button, or typed; checked against the chosen date (kept as `date`)."""

    name: str = "time"
    question: str = "ask_tour_time"

    def register(self, router: Handlers, step: State, then: State) -> None:
        PROMPTS.typed(step)

        @PROMPTS.of(step)
        async def ask(turn: Turn) -> None:
            hours = {"opens": validators.OPENS.strftime("%H:%M"), "closes": validators.CLOSES.strftime("%H:%M")}
            day = date.fromisoformat((await get_form(turn.state))["date"])
            slots = validators.open_slots(day, turn.deps.now().replace(tzinfo=None))
            await turn.say(self.question, keyboards.time_slots(turn.lang, slots), **hours)

        @router.callback_query(step, keyboards.PickCB.filter(F.field == self.name))
        async def slot_picked(
            callback: CallbackQuery, callback_data: keyboards.PickCB, state: FSMContext, deps: Deps
        ) -> None:
            await pressed(callback)
            value = callback_data.value
            await chosen(await Turn.of(callback, deps, state), f"{value[:2]}:{value[2:]}")

        @router.message(step, *TEXT)
        async def typed(message: Message, state: FSMContext, deps: Deps) -> None:
            await chosen(await Turn.of(message, deps, state), message.text)

        async def chosen(turn: Turn, text: str) -> None:
            form = await get_form(turn.state)
            now = turn.deps.now().replace(tzinfo=None)
            try:
                value = validators.tour_time(text, date.fromisoformat(form["date"]), now)
            except validators.Invalid as error:
                return await invalid(turn, error)
            await put(turn.state, **{self.name: value})
            await turn.go(then)


def fields(form: Answers) -> Answers:
    answers = {
        "organization": form["organization"],
        "position": form["position"],
        "visitor_count": form["visitors"],
        "preferred_date": form["date"],
        "time_slot": form["time"],
        **second_phone(form),
    }
    # preferred_date goes top-level too: the column is what staff and marts read (RS §13 item 6).
    return {"preferred_date": form["date"], "answers": answers}


SECTION = Section(
    item="campus",
    group="CampusTour",
    kind=BY_SLUG["campus-tour"],
    intro="campus_intro",
    button="btn_menu_campus",
    steps=(
        Typed("organization", "ask_org", partial(validators.free_text, key="bad_org", max_len=200)),
        Typed("position", "ask_position", partial(validators.free_text, key="bad_position", max_len=100)),
        Typed("extra_phone", "ask_extra_phone", validators.uz_phone, skip=True),
        Typed("visitors", "ask_visitors", validators.visitor_count),
        Day("date", "ask_tour_date", TOUR),
        TourTime(),
        Region(),
    ),
    summary=(
        Line("sum_org", answer("organization")),
        Line("sum_position", answer("position")),
        Line("sum_visitors", answer("visitors")),
        Line("sum_date", day("date")),
        Line("sum_time", answer("time")),
        Line("sum_extra_phone", answer_or_none("extra_phone")),
    ),
    fields=fields,
)
