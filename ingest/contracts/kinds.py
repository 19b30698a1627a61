"""The registry of what bots submit (SPEC §4.3): each application kind declared once, everything else derived.

A kind's slug is its API path segment (`/bot1/<slug>/submit`, `/bot1/applications/<slug>/`) and its name in the
marts; its batch kind names it in `POST /ingest/batch` and in the bots' outboxes; its table is the operational table
(`ingest.core.schema` maps table names to models); `refs` are the catalog references it takes besides the
applicant's region (each as `<ref>_id` or `<ref>_code`), and `required` the ones it cannot do without.
Adding a fifth kind means: a declaration here (with its Struct), its table's migration, its bot texts.

This module is part of the bots' contract: it imports msgspec Structs only.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.contracts.api import (
    Admissions2026Submit,
    ApplicantUpsert,
    CampusTourSubmit,
    FoundationSubmit,
    PolitoAcademySubmit,
    SurveySubmit,
)

# The application statuses of RS §2.6 in their workflow order; `new` is the one without a `submitted_at`.
STATUSES: tuple[str, ...] = ("new", "submitted", "in_progress", "approved", "rejected")


@dataclass(frozen=True)
class ApplicationKind:
    """One kind of bot1 application."""

    slug: str  # "admissions-2026": API path segment, `kind` in answers and marts
    batch_kind: str  # "bot1.admissions_2026": the batch endpoint's and the outbox's name for it
    table: str  # "bot1_admissions_2026": its operational table
    struct: type[ApplicantUpsert]  # the body of its submit endpoint
    label: str  # "Admissions 2026": its English name in the API documentation
    refs: tuple[str, ...] = ()  # catalog references besides the applicant's region, in column order
    required: tuple[str, ...] = ()  # references that must be given

    @property
    def path(self) -> str:
        """The submit path under `/api/v1/bot1`."""
        return f"/{self.slug}/submit"


APPLICATION_KINDS: tuple[ApplicationKind, ...] = (
    ApplicationKind(
        "admissions-2026",
        "bot1.admissions_2026",
        "bot1_admissions_2026",
        Admissions2026Submit,
        "Admissions 2026",
        refs=("direction", "track"),
        required=("direction",),
    ),
    ApplicationKind("campus-tour", "bot1.campus_tour", "bot1_campus_tour", CampusTourSubmit, "Campus Tour"),
    ApplicationKind("foundation", "bot1.foundation", "bot1_foundation", FoundationSubmit, "Foundation Year"),
    ApplicationKind(
        "polito-academy",
        "bot1.polito_academy",
        "bot1_polito_academy",
        PolitoAcademySubmit,
        "Polito Academy",
        refs=("subject",),
    ),
)
BY_SLUG: dict[str, ApplicationKind] = {k.slug: k for k in APPLICATION_KINDS}
BY_BATCH_KIND: dict[str, ApplicationKind] = {k.batch_kind: k for k in APPLICATION_KINDS}


@dataclass(frozen=True)
class BatchKind:
    """Anything a bot may queue: an applicant upsert, an application, a survey."""

    name: str  # "bot1.applicant"
    service: str  # "bot1" | "bot2": the only token that may send it
    struct: type  # the body of its single endpoint
    path: str  # that endpoint, under /api/v1


BATCH_KINDS: dict[str, BatchKind] = {
    b.name: b
    for b in (
        BatchKind("bot1.applicant", "bot1", ApplicantUpsert, "/bot1/applicants/upsert"),
        *(BatchKind(k.batch_kind, "bot1", k.struct, f"/bot1{k.path}") for k in APPLICATION_KINDS),
        BatchKind("bot2.survey", "bot2", SurveySubmit, "/bot2/surveys/submit"),
    )
}
