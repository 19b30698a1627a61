"""The registry of what bots submit (SPEC §4.3): each application kind declared once, everything else derived.

A kind's slug is its API path segment (`/bot1/<slug>/submit`, `/bot1/applications/<slug>/`) and its name in the
marts; its batch kind names it in `POST /ingest/batch` and in the bots' outboxes; its table is the operational table
(`ingest.core.schema` maps table names to models); `refs` are the catalog references it takes besides the
applicant's region (each as `<ref>_id` or `<ref>_code`, stored as `<ref>_id`, of the catalog type `ref_type(ref)`),
and `required` the ones it cannot do without. Every kind takes `application_region`: the region this application is
made from, which may differ from the applicant's profile (`region_id`, which it never changes). Its Struct's other
own fields (`preferred_date`) are stored in columns of the same name.
Adding a fifth kind means: a declaration here (with its Struct), its table's migration, its bot texts.

The statuses (`STATUSES`) are declared in `ingest.contracts.fields`, below the bodies whose `status` they type.
This module is part of the bots' contract: it imports msgspec Structs only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ingest.contracts.api import (
    Admissions2026Submit,
    ApplicantUpsert,
    ApplicationSubmit,
    CampusTourSubmit,
    FoundationSubmit,
    PolitoAcademySubmit,
    RequestBody,
    SurveySubmit,
)

APPLICATION_REGION = "application_region"  # every kind's own region (docs/region-per-application.md)
# A reference's catalog type is its name, but for these.
REF_TYPES: dict[str, str] = {APPLICATION_REGION: "region"}


def ref_type(ref: str) -> str:
    """The catalog type a reference (`direction`, `application_region`) points at."""
    return REF_TYPES.get(ref, ref)


@dataclass(frozen=True)
class ApplicationKind:
    """One kind of bot1 application."""

    slug: str  # "admissions-2026": API path segment, `kind` in answers and marts
    batch_kind: str  # "bot1.admissions_2026": the batch endpoint's and the outbox's name for it
    table: str  # "bot1_admissions_2026": its operational table
    struct: type[ApplicationSubmit]  # the body of its submit endpoint
    label: str  # "Admissions 2026": its English name in the API documentation
    noun: str  # "admissions 2026 application": one of them in an English sentence (summaries, messages)
    refs: tuple[str, ...] = ()  # catalog references besides the applicant's region, in column order
    required: tuple[str, ...] = ()  # references that must be given

    @property
    def path(self) -> str:
        """The submit path under `/api/v1/bot1`."""
        return f"/{self.slug}/submit"

    @property
    def own_fields(self) -> tuple[str, ...]:
        """Body fields stored as they are in a column of the same name: the Struct's fields that are neither common
        to every application nor a reference."""
        common = set(ApplicationSubmit.__struct_fields__) | {f"{r}_{s}" for r in self.refs for s in ("id", "code")}
        return tuple(f for f in self.struct.__struct_fields__ if f not in common)

    @property
    def columns(self) -> tuple[str, ...]:
        """The kind's columns besides those every application table has: its references, then its own fields."""
        return (*(f"{r}_id" for r in self.refs), *self.own_fields)


APPLICATION_KINDS: tuple[ApplicationKind, ...] = (
    ApplicationKind(
        "admissions-2026",
        "bot1.admissions_2026",
        "bot1_admissions_2026",
        Admissions2026Submit,
        "Admissions 2026",
        "admissions 2026 application",
        refs=("direction", "track", APPLICATION_REGION),
        required=("direction",),
    ),
    ApplicationKind(
        "campus-tour",
        "bot1.campus_tour",
        "bot1_campus_tour",
        CampusTourSubmit,
        "Campus Tour",
        "campus tour request",
        refs=(APPLICATION_REGION,),
    ),
    ApplicationKind(
        "foundation",
        "bot1.foundation",
        "bot1_foundation",
        FoundationSubmit,
        "Foundation Year",
        "foundation request",
        refs=(APPLICATION_REGION,),
    ),
    ApplicationKind(
        "polito-academy",
        "bot1.polito_academy",
        "bot1_polito_academy",
        PolitoAcademySubmit,
        "Polito Academy",
        "Polito Academy request",
        refs=("subject", APPLICATION_REGION),
    ),
)
BY_SLUG: dict[str, ApplicationKind] = {k.slug: k for k in APPLICATION_KINDS}
BY_BATCH_KIND: dict[str, ApplicationKind] = {k.batch_kind: k for k in APPLICATION_KINDS}
Slug = Literal[tuple(BY_SLUG)]  # type: ignore[valid-type]  (the slugs, for answers that name a kind)


@dataclass(frozen=True)
class BatchKind:
    """Anything a bot may queue: an applicant upsert, an application, a survey."""

    name: str  # "bot1.applicant"
    service: str  # "bot1" | "bot2": the only token that may send it
    struct: type[RequestBody]  # the body of its single endpoint
    path: str  # that endpoint, under /api/v1
    table: str  # the table of the entity it creates (its idempotency record and audit row name it)


APPLICANT = "bot1.applicant"
SURVEY = "bot2.survey"
BATCH_KINDS: dict[str, BatchKind] = {
    b.name: b
    for b in (
        BatchKind(APPLICANT, "bot1", ApplicantUpsert, "/bot1/applicants/upsert", "bot1_applicant"),
        *(BatchKind(k.batch_kind, "bot1", k.struct, f"/bot1{k.path}", k.table) for k in APPLICATION_KINDS),
        BatchKind(SURVEY, "bot2", SurveySubmit, "/bot2/surveys/submit", "bot2_survey_response"),
    )
}
BatchKindName = Literal[tuple(BATCH_KINDS)]  # type: ignore[valid-type]
