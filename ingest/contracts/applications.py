"""What the bot1 API answers about applications (SPEC §4.3): the answer to a submit, and an applicant's applications.
Above the registry (`kinds.py`): `kind` is one of its slugs."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import msgspec

from ingest.contracts.api import CatalogLabel
from ingest.contracts.fields import Status
from ingest.contracts.kinds import Slug


class ApplicationCreated(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The answer to a submit: ids and state only (no personal data, so the stored idempotent replay holds none)."""

    id: uuid.UUID
    kind: Slug
    telegram_user_id: int
    status: Status
    submitted_at: datetime | None
    created_at: datetime
    direction_id: uuid.UUID | None = None
    track_id: uuid.UUID | None = None
    subject_id: uuid.UUID | None = None
    preferred_date: date | None = None
    application_region_id: uuid.UUID | None = None


class ApplicationSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One application of an applicant with its current status (`GET /bot1/applicants/{id}/applications`)."""

    id: uuid.UUID
    kind: Slug
    status: Status
    submitted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    direction: CatalogLabel | None = None
    track: CatalogLabel | None = None
    subject: CatalogLabel | None = None
    preferred_date: date | None = None
    application_region: CatalogLabel | None = None  # the region it was made from, when asked (else the profile's)


class ApplicantApplications(msgspec.Struct, kw_only=True):
    """All applications of one Telegram user, newest first; empty when the user never applied."""

    telegram_user_id: int
    applicant_id: uuid.UUID | None
    count: int
    results: list[ApplicationSummary]
