"""The ingestion API's request and response bodies (SPEC §4): strict msgspec Structs shared by the server and the bots.

Every request Struct forbids unknown fields, so a typo is a 400 naming the field, never silently dropped. Blank
strings and absent fields mean "not supplied": the applicant and student upserts never erase a stored value with them.
Catalog references come as `<name>_id` (a UUID) or `<name>_code` (a string); the server resolves and type-checks them.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from ingest.contracts.fields import (  # noqa: F401  (re-exported: part of the bots' contract)
    BIGINT_MAX,
    Answers,
    Campaign,
    CatalogType,
    Code,
    CourseYear,
    Email,
    ExternalId,
    Gender,
    IdempotencyKey,
    Language,
    Phone,
    Short,
    Status,
    SubmittedAt,
    TelegramChatId,
    TelegramUserId,
)


class RequestBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Base of every request body: unknown fields are errors; encoding omits defaults (what the bots send)."""


# --- bot1 --------------------------------------------------------------------------------------------------------


class ApplicantUpsert(RequestBody):
    """`POST /bot1/applicants/upsert`; also the applicant part of every bot1 submit. Absent or blank = keep."""

    telegram_user_id: TelegramUserId
    telegram_chat_id: TelegramChatId | None = None
    username: Short = ""
    first_name: Short = ""
    last_name: Short = ""
    phone: Phone = ""
    email: Email = ""
    gender: Gender = ""
    birth_date: date | None = None
    language: Language = ""
    region_id: uuid.UUID | None = None
    region_code: Code | None = None


class ApplicationSubmit(ApplicantUpsert, kw_only=True):
    """What every application body adds to the applicant: its status, the bot's answers, and the region this
    application is made from (`application_region_id` or `_code`; absent = the applicant's). `region_id` /
    `region_code` stay the applicant's profile region (a partial upsert); the application's region never changes
    the profile."""

    status: Status = "submitted"
    answers: Answers = msgspec.field(default_factory=dict)
    submitted_at: SubmittedAt | None = None  # status `new` stores none (SPEC §3)
    application_region_id: uuid.UUID | None = None
    application_region_code: Code | None = None


class Admissions2026Submit(ApplicationSubmit, kw_only=True):
    """`POST /bot1/admissions-2026/submit`: a direction is required (by id or code), a track is optional."""

    direction_id: uuid.UUID | None = None
    direction_code: Code | None = None
    track_id: uuid.UUID | None = None
    track_code: Code | None = None


class CampusTourSubmit(ApplicationSubmit, kw_only=True):
    """`POST /bot1/campus-tour/submit`: `preferred_date` is stored in its own column."""

    preferred_date: date | None = None


class FoundationSubmit(ApplicationSubmit, kw_only=True):
    """`POST /bot1/foundation/submit`."""


class PolitoAcademySubmit(ApplicationSubmit, kw_only=True):
    """`POST /bot1/polito-academy/submit`: an optional subject by id or code."""

    subject_id: uuid.UUID | None = None
    subject_code: Code | None = None


class ApplicantOut(msgspec.Struct, kw_only=True):
    """The answer to an applicant upsert: ids and state only. It is kept for 7 days as the idempotent replay, so it
    holds no personal data (names, phone, e-mail, birth date stay in the applicant row); no bot reads more."""

    id: uuid.UUID
    telegram_user_id: int
    created_at: datetime
    updated_at: datetime


class CatalogLabel(msgspec.Struct, kw_only=True):
    """A catalog item as a label in uz/ru/en."""

    id: uuid.UUID
    code: str
    name: str
    name_uz: str
    name_ru: str
    name_en: str


class CatalogNested(msgspec.Struct, kw_only=True):
    """A catalog item as a label, with its type; an empty translation falls back to `name`. The base of every
    Struct that shows a whole catalog item (dashboard rows, the catalog API, the bots' catalog)."""

    id: uuid.UUID
    type: str
    code: str
    name: str
    name_uz: str
    name_ru: str
    name_en: str


# --- bot2 --------------------------------------------------------------------------------------------------------


class SurveySubmit(RequestBody):
    """`POST /bot2/surveys/submit`. The roster decides program and course year; `program_*` and `course_year` are
    used only to auto-enrol a student the roster does not know (campaign `bot2_auto`). `language` is the language
    the survey was answered in (the reference bot2 sends `uz`/`ru`/`en`), stored on the response. A catalog
    reference may come as its id, its code, or both (the reference bot2 sends both, from one catalog item): both
    given must name the same item, else 400 on the code."""

    student_external_id: ExternalId
    telegram_user_id: TelegramUserId | None = None
    username: Short = ""
    first_name: Short = ""
    last_name: Short = ""
    phone: Phone = ""
    gender: Gender = ""
    language: Language = ""
    region_id: uuid.UUID | None = None
    region_code: Code | None = None
    program_id: uuid.UUID | None = None
    program_code: Code | None = None
    course_year: CourseYear | None = None
    survey_campaign: Campaign = "default"
    employment_status: Annotated[str, Meta(max_length=100)] = ""
    employment_company: Annotated[str, Meta(max_length=255)] = ""
    employment_role: Annotated[str, Meta(max_length=255)] = ""
    suggestions: Annotated[str, Meta(max_length=10_000)] = ""
    consents: dict[str, Any] = msgspec.field(default_factory=dict)
    answers: Answers = msgspec.field(default_factory=dict)
    submitted_at: SubmittedAt | None = None


class RosterRef(msgspec.Struct, kw_only=True):
    program_id: uuid.UUID
    course_year: int


class SurveySubmitted(msgspec.Struct, kw_only=True):
    """`{ok, roster: {program_id, course_year}, response_id}`: the roster's values, which the response row copies."""

    ok: bool
    roster: RosterRef
    response_id: uuid.UUID


# --- either bot --------------------------------------------------------------------------------------------------


class BotCatalogItem(CatalogNested, kw_only=True):
    """One active catalog item for the bots' buttons (ids, never substring matching)."""

    parent_id: uuid.UUID | None
    sort_order: int
    metadata: dict[str, Any]


class BotCatalog(msgspec.Struct, kw_only=True):
    """`GET /bot/catalog?type=...`: every active item of the type(s), in a stable order, in one answer."""

    type: str | None
    count: int
    results: list[BotCatalogItem]


__all__ = [
    "Admissions2026Submit",
    "ApplicantOut",
    "ApplicantUpsert",
    "ApplicationSubmit",
    "BotCatalog",
    "BotCatalogItem",
    "CampusTourSubmit",
    "CatalogLabel",
    "CatalogNested",
    "FoundationSubmit",
    "PolitoAcademySubmit",
    "RequestBody",
    "RosterRef",
    "SurveySubmit",
    "SurveySubmitted",
]
