"""Bot1's request bodies, built through the ingestion contract (`ingest.contracts.api`): a field the API does not know
fails here, in the bot's tests, not as a dead letter in production."""

from __future__ import annotations

from typing import Any

import msgspec

from ingest.contracts.api import (
    Admissions2026Submit,
    ApplicantUpsert,
    CampusTourSubmit,
    FoundationSubmit,
    PolitoAcademySubmit,
)

APPLICANT_FIELDS = (
    "telegram_user_id", "telegram_chat_id", "username", "first_name", "last_name", "phone", "email", "gender",
    "birth_date", "language", "region_id",
)  # fmt: skip


def _body(struct: type[msgspec.Struct], fields: dict[str, Any]) -> dict[str, Any]:
    """Validate against the contract (types and constraints) and return the JSON-ready body."""
    clean = {k: v for k, v in fields.items() if v not in (None, "", {})}
    return msgspec.to_builtins(msgspec.convert(clean, struct))


def _applicant(profile: dict[str, Any]) -> dict[str, Any]:
    return {name: profile.get(name) for name in APPLICANT_FIELDS}


def applicant(profile: dict[str, Any]) -> dict[str, Any]:
    return _body(ApplicantUpsert, _applicant(profile))


def campus_tour(profile: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    answers = {
        "organization": form["organization"],
        "position": form["position"],
        "visitor_count": form["visitors"],
        "preferred_date": form["date"],
        "time_slot": form["time"],
    }
    if form.get("extra_phone"):
        answers["second_phone"] = form["extra_phone"]
    # preferred_date goes top-level too: the column is what staff and marts read (RS §13 item 6).
    return _body(CampusTourSubmit, {**_applicant(profile), "preferred_date": form["date"], "answers": answers})


def admissions(profile: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    answers = {"second_phone": form.get("extra_phone", "")} if form.get("extra_phone") else {}
    return _body(
        Admissions2026Submit,
        {
            **_applicant(profile),
            "direction_id": form["direction_id"],
            "track_id": form.get("track_id"),
            "answers": answers,
        },
    )


def foundation(profile: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    answers = {"second_phone": form["extra_phone"]} if form.get("extra_phone") else {}
    return _body(FoundationSubmit, {**_applicant(profile), "answers": answers})


def polito_academy(profile: dict[str, Any], form: dict[str, Any]) -> dict[str, Any]:
    return _body(PolitoAcademySubmit, {**_applicant(profile), "subject_id": form.get("subject_id")})
