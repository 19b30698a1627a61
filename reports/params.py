"""Query parameters shared by the analytics and export endpoints, validated into values or a 400 naming the
parameter (SPEC §12: bad input never reaches a 500)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

from ingest.core.problems import ProblemError
from warehouse.contract import ADMISSIONS_DIMENSIONS, APPLICATION_KINDS

LANGS = ("uz", "ru", "en")

FromParam = Annotated[
    str | None,
    QueryParameter(
        name="from",
        description="start of the half-open window [from, to): ISO date or datetime; naive values are in "
        "CRM_TIMEZONE; omitted = unbounded",
    ),
]
ToParam = Annotated[
    str | None,
    QueryParameter(
        description="end of the window (exclusive); a date alone includes that whole day; omitted = unbounded"
    ),
]
CampaignParam = Annotated[str | None, QueryParameter(description="survey/roster campaign (default `default`)")]
AcademicYearParam = Annotated[
    str | None, QueryParameter(description="academic year of the planned headcounts (default: the latest one)")
]
CourseYearParam = Annotated[str | None, QueryParameter(description="course year 1..5 (5 = graduated)")]
LangParam = Annotated[
    str | None, QueryParameter(description="label language: uz, ru or en (default: the catalog name)")
]
GroupByParam = Annotated[str | None, QueryParameter(description="direction, track, region or status")]
KindParam = Annotated[str | None, QueryParameter(description="application kind: " + ", ".join(APPLICATION_KINDS))]


def campaign_of(raw: str | None) -> str:
    if raw is None:
        return "default"
    value = raw.strip()
    if not value or len(value) > 64:
        raise ProblemError(400, "INVALID_CAMPAIGN", "campaign must be 1 to 64 characters.", field="campaign")
    return value


def academic_year_of(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    if len(raw) > 20:
        raise ProblemError(
            400, "INVALID_ACADEMIC_YEAR", "academic_year is at most 20 characters.", field="academic_year"
        )
    return raw.strip()


def course_year_of(raw: str | None, *, required: bool) -> int | None:
    if raw is None or not raw.strip():
        if required:
            raise ProblemError(400, "COURSE_YEAR_REQUIRED", "course_year query param is required.", field="course_year")
        return None
    try:
        year = int(raw.strip())
    except ValueError:
        raise ProblemError(400, "INVALID_COURSE_YEAR", "course_year must be an integer.", field="course_year") from None
    if not 1 <= year <= 5:
        raise ProblemError(400, "INVALID_COURSE_YEAR", "course_year must be 1..5 (5 = graduated).", field="course_year")
    return year


def _choice(raw: str | None, name: str, code: str, choices: tuple[str, ...]) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise ProblemError(400, code, f"{name} must be one of {', '.join(choices)}.", field=name)
    return raw


def lang_of(raw: str | None) -> str | None:
    return _choice(raw, "lang", "INVALID_LANG", LANGS)


def group_by_of(raw: str | None) -> str | None:
    return _choice(raw, "group_by", "INVALID_GROUP_BY", ADMISSIONS_DIMENSIONS)


def kind_of(raw: str | None) -> str | None:
    return _choice(raw, "kind", "INVALID_KIND", APPLICATION_KINDS)
