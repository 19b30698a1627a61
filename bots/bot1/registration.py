"""Bot1 registration: language, own contact, names, gender, birth date (calendar or typed), e-mail, region. The
answers become the profile only when the last step is done, then the applicant upsert is queued in the outbox."""

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
from bots.steps import BIRTH, date_step, identity_steps, text_step

router = Handlers("bot1.registration")

# The profile's fields: a refusal naming one is fixed in Settings (by registering again), not in a section's form.
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


@router.callback_query(keyboards.MenuCB.filter(F.item == "profile"))
async def update_profile(callback: CallbackQuery, state: FSMContext, deps: Deps) -> None:
    """Settings → update my profile: the registration again, from the contact step."""
    await pressed(callback)
    await begin(state, Registration.contact)
    await (await Turn.of(callback, deps, state)).go(Registration.contact)


# --- steps -------------------------------------------------------------------------------------------------------


async def complete(turn: Turn) -> None:
    """The region was the last step: the answers become the profile, and the applicant upsert is queued."""
    answers = await get_form(turn.state)
    profile = await get_profile(turn.state)
    profile.update(answers, registered=True, telegram_user_id=turn.user.id, language=turn.lang)
    await turn.state.update_data(profile=profile)
    outcome = await turn.submit("bot1.applicant", payloads.applicant(profile))
    await finish(turn.state)
    if outcome.state == "rejected":
        await turn.say_text(outcome_text(turn.lang, outcome, settings_fields=PROFILE_FIELDS), main_menu(turn.lang))
        return
    await turn.say("registration_done", main_menu(turn.lang))


identity_steps(router, Registration, after_gender=Registration.birth_date, after_region=complete, keep_chat_id=True)
date_step(router, Registration.birth_date, "ask_birth_date", "birth_date", BIRTH, Registration.email)
text_step(router, Registration.email, "ask_email", "email", validators.email, Registration.region, skip=True)
