"""The steps of bot1's forms (FSM states)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Registration(StatesGroup):
    language = State()
    contact = State()
    first_name = State()
    last_name = State()
    gender = State()
    birth_date = State()
    email = State()
    region = State()


class CampusTour(StatesGroup):
    organization = State()
    position = State()
    extra_phone = State()
    visitors = State()
    date = State()
    time = State()
    confirm = State()


class Admissions(StatesGroup):
    track = State()
    direction = State()
    extra_phone = State()
    confirm = State()


class Foundation(StatesGroup):
    extra_phone = State()
    confirm = State()


class Polito(StatesGroup):
    subject = State()
    confirm = State()
