"""Bot1's request bodies, built through the ingestion contract (`ingest.contracts.api`): a field the API does not know
fails here, in the bot's tests, not as a dead letter in production. Each section adds its own fields (its spec's
`fields`) to the applicant's."""

from __future__ import annotations

from typing import Any

import msgspec

from ingest.contracts.api import ApplicantUpsert

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


def application(struct: type[ApplicantUpsert], profile: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """A section's submission: the applicant's fields, then the section's own."""
    return _body(struct, {**_applicant(profile), **fields})


def second_phone(form: dict[str, Any]) -> dict[str, str]:
    """The optional extra phone, as the `answers` entry the sections that ask for it keep."""
    return {"second_phone": form["extra_phone"]} if form.get("extra_phone") else {}
