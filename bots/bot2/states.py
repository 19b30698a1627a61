"""The steps of bot2's survey (FSM states)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Survey(StatesGroup):
    language = State()
    contact = State()
    first_name = State()
    last_name = State()
    gender = State()
    region = State()
    student_id = State()
    program = State()
    course_year = State()
    employed = State()
    company = State()
    role = State()
    want_help = State()
    share = State()
    suggestions = State()
    confirm = State()
