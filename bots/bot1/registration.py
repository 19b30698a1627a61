"""Bot1 registration: language, own contact, names, gender, birth date (calendar or typed), e-mail, region. The
answers become the profile only when the last step is done, then the applicant upsert is queued in the outbox.
Settings edits one field of the profile through the same step, then saves it the same way."""

from __future__ import annotations

from aiogram import F
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bots import keyboards, validators
from bots.bot1 import menu, payloads
from bots.bot1.sections import main_menu
from bots.deps import Deps
from bots.forms import Turn, begin, finish, get_form, get_profile, outcome_text, pressed
from bots.routing import Handlers
from bots.steps import BIRTH, Then, date_step, identity_steps, text_step

router = Handlers("bot1.registration")

# The profile's fields: a refusal naming one is fixed in Settings (each field edited there), not in a section's form.
PROFILE_FIELDS = frozenset({"email", "phone", "first_name", "last_name", "birth_date", "region", "gender"})


class Registration(StatesGroup):
    """Stored as "Registration:<step>" in users' FSM storage: never rename."""

    language = State()
    contact = State()
    first_name = State()
    last_name = State()
    gender = State()
    birth_date = State()
    email = State()
    region = State()


# --- entry points ------------------------------------------------------------------------------------------------


@router.message(CommandStart())
async def start(message: Message, state: FSMContext, deps: Deps) -> None:
    """Registered users get the menu; others register (the language step first)."""
    profile = await get_profile(state)
    if profile.get("registered"):
        await finish(state)
        await menu.show(await Turn.of(message, deps, state))
        return
    await begin(state, Registration.language)
    turn = await Turn.of(message, deps, state)
    await turn.say("welcome_bot1")
    await turn.go(Registration.language)


EDITING = "editing"  # in the form: the profile field Settings is editing (its step, then saved)
EDIT_STEPS = {
    "name": Registration.first_name,  # then the last name
    "phone": Registration.contact,
    "gender": Registration.gender,
    "birth_date": Registration.birth_date,
    "email": Registration.email,
    "region": Registration.region,
}


@router.callback_query(keyboards.EditCB.filter(F.field.in_(EDIT_STEPS)))
async def edit_field(callback: CallbackQuery, callback_data: keyboards.EditCB, state: FSMContext, deps: Deps) -> None:
    """Settings → one field: its question alone, then the profile is saved."""
    await pressed(callback)
    turn = await Turn.of(callback, deps, state)
    if not await menu.registered(turn):
        return
    step = EDIT_STEPS[callback_data.field]
    await begin(state, step, **{EDITING: callback_data.field})
    await turn.go(step)


def then(step: State) -> Then:
    """The step after an answer: the next registration step, or, when Settings edits one field, saving it (the
    name is two steps: first, then last)."""

    async def next_or_save(turn: Turn) -> None:
        editing = (await get_form(turn.state)).get(EDITING)
        if editing and not (editing == "name" and step == Registration.last_name):
            await complete(turn)
        else:
            await turn.go(step)

    return next_or_save


# --- steps -------------------------------------------------------------------------------------------------------


async def complete(turn: Turn) -> None:
    """The region was the last step: the answers become the profile, and the applicant upsert is queued."""
    answers = await get_form(turn.state)
    editing = answers.pop(EDITING, None)
    profile = await get_profile(turn.state)
    profile.update(answers, registered=True, telegram_user_id=turn.user.id, language=turn.lang)
    await turn.state.update_data(profile=profile)
    outcome = await turn.submit("bot1.applicant", payloads.applicant(profile))
    await finish(turn.state)
    if outcome.state == "rejected":
        await turn.say_text(outcome_text(turn.lang, outcome, settings_fields=PROFILE_FIELDS), main_menu(turn.lang))
        return
    await turn.say("profile_updated" if editing else "registration_done", main_menu(turn.lang))


identity_steps(
    router, Registration, after_gender=Registration.birth_date, after_region=complete, keep_chat_id=True, then=then
)
date_step(router, Registration.birth_date, "ask_birth_date", "birth_date", BIRTH, then(Registration.email))
text_step(router, Registration.email, "ask_email", "email", validators.email, then(Registration.region), skip=True)
