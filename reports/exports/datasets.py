"""The exportable datasets (SPEC §9): every published mart as it is, plus the flattened `applications` and
`survey-responses` with catalog labels in one language, and the filters each accepts, as DuckDB SQL over the
snapshot's marts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from ingest.contracts.fields import STATUSES
from ingest.core.problems import ProblemError
from ingest.http.windows import Window
from warehouse.contract import APPLICATION_KINDS, FCT_APPLICATIONS, FCT_SURVEY_RESPONSES, MARTS, Mart


@dataclass(frozen=True)
class Dataset:
    name: str
    mart: str
    description: str
    time_column: str | None = None  # an instant column (window on instants) or a *_date column (window on days)
    campaign_column: str | None = None
    has_kind: bool = False
    has_status: bool = False
    flattened: bool = False

    @property
    def time_is_date(self) -> bool:
        return bool(self.time_column and self.time_column.endswith("_date"))


def of_mart(mart: Mart) -> Dataset:
    """A mart exported as it is: its contract says which column a window and a campaign filter; `kind` and
    `status` filter the columns of those names, where the mart has them."""
    filters = (mart.time_column, mart.campaign_column, "kind" in mart.columns, "status" in mart.columns)
    return Dataset(mart.name, mart.name, mart.grain, *filters)  # fields in Dataset's order


DATASETS: dict[str, Dataset] = {name: of_mart(mart) for name, mart in MARTS.items()}
DATASETS["applications"] = replace(
    of_mart(FCT_APPLICATIONS),
    name="applications",
    description="every bot1 application, one row each, with region/direction/track/subject labels in `lang` (`region`: "
    "the application's own, else its applicant's; both codes beside it)",
    flattened=True,
)
DATASETS["survey-responses"] = replace(
    of_mart(FCT_SURVEY_RESPONSES),
    name="survey-responses",
    description="every survey response, one row each, with program and region labels in `lang`",
    flattened=True,
)


@dataclass(frozen=True)
class Filters:
    window: Window = field(default_factory=Window)
    campaign: str | None = None
    kind: str | None = None
    status: str | None = None
    lang: str = "en"

    @property
    def any(self) -> bool:
        return not self.window.is_all_time or any(v is not None for v in (self.campaign, self.kind, self.status))


def check_filters(dataset: Dataset, filters: Filters) -> None:
    """Refuse filters a dataset cannot apply, naming the parameter (rather than silently exporting everything)."""
    if not filters.window.is_all_time and dataset.time_column is None:
        raise ProblemError(400, "FILTER_NOT_SUPPORTED", f"{dataset.name} has no time column to window.", field="from")
    for param, value, ok in (
        ("campaign", filters.campaign, dataset.campaign_column is not None),
        ("kind", filters.kind, dataset.has_kind),
        ("status", filters.status, dataset.has_status),
    ):
        if value is not None and not ok:
            raise ProblemError(
                400, "FILTER_NOT_SUPPORTED", f"{dataset.name} cannot be filtered by {param}.", field=param
            )


def _label(dim: str, lang: str, alias: str = "f") -> str:
    return f"coalesce(nullif({alias}.{dim}_name_{lang}, ''), {alias}.{dim}_name) AS {dim}"


def _select(dataset: Dataset, lang: str) -> str:
    if dataset.name == "applications":
        return f"""SELECT f.application_id, f.kind, f.status, f.submitted_at, f.submitted_date, f.applicant_id,
                   {_label("region", lang)}, f.region_code, f.applicant_region_code, f.application_region_code,
                   {_label("direction", lang)}, f.direction_code,
                   {_label("track", lang)}, f.track_code, {_label("subject", lang)}, f.subject_code,
                   f.preferred_date, f.created_at
                   FROM fct_applications f"""
    if dataset.name == "survey-responses":
        return f"""SELECT f.response_id, f.student_external_id, f.survey_campaign, f.submitted_at, f.submitted_date,
                   {_label("program", lang)}, f.program_code, f.course_year, f.roster_campaign,
                   f.roster_course_year, f.roster_is_active, f.employment_status, f.employed,
                   f.employment_company, f.employment_role,
                   coalesce(nullif(r.name_{lang}, ''), r.name) AS student_region, r.code AS student_region_code,
                   f.is_latest
                   FROM fct_survey_responses f LEFT JOIN dim_catalog r ON r.item_id = f.student_region_id"""
    return f"SELECT * FROM {dataset.mart} f"


def _local_date(instant: datetime, tz: tzinfo) -> str:
    return instant.astimezone(tz).date().isoformat()


def query(dataset: Dataset, filters: Filters, tz: tzinfo) -> tuple[str, list[Any]]:
    """DuckDB SQL and parameters for the dataset with its filters (no ORDER BY: marts are stored sorted and DuckDB
    keeps file order, so the export streams)."""
    where: list[str] = []
    params: list[Any] = []
    window = filters.window
    if dataset.time_column and not window.is_all_time:
        column = f"f.{dataset.time_column}"
        if dataset.time_is_date:
            # Daily rows cannot be split: a day is in when it overlaps the window.
            if window.start is not None:
                where.append(f"{column} >= ?::DATE")
                params.append(_local_date(window.start, tz))
            if window.end is not None:
                where.append(f"{column} <= ?::DATE")
                params.append(_local_date(window.end - timedelta(microseconds=1), tz))
        else:
            if window.start is not None:
                where.append(f"{column} >= ?")
                params.append(window.start.astimezone(UTC))
            if window.end is not None:
                where.append(f"{column} < ?")
                params.append(window.end.astimezone(UTC))
    if filters.campaign is not None and dataset.campaign_column:
        where.append(f"f.{dataset.campaign_column} = ?")
        params.append(filters.campaign)
    if filters.kind is not None and dataset.has_kind:
        where.append("f.kind = ?")
        params.append(filters.kind)
    if filters.status is not None and dataset.has_status:
        where.append("f.status = ?")
        params.append(filters.status)
    sql = _select(dataset, filters.lang)
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql, params


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _stamp(instant: datetime, tz: tzinfo) -> str:
    local = instant.astimezone(tz)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return local.date().isoformat()
    return local.strftime("%Y-%m-%dT%H%M%S")


def filename(dataset: Dataset, filters: Filters, built_at: datetime, fmt: str, tz: tzinfo) -> str:
    """`<dataset>[_<from>_to_<to>][_<campaign>][_<kind>][_<status>][_<lang>]_snapshot-<built UTC>.<fmt>`: what,
    which slice, and as of when. A date-only `to` shows as the last included day."""
    parts = [dataset.name]
    window = filters.window
    if not window.is_all_time:
        start = _stamp(window.start, tz) if window.start else "start"
        if window.end is None:
            end = "now"
        else:
            end = _stamp(window.end, tz)
            if len(end) == 10:  # a local midnight: name the last whole day in the window
                end = _stamp(window.end - timedelta(days=1), tz)
        parts.append(f"{start}_to_{end}")
    parts += [v for v in (filters.campaign, filters.kind, filters.status) if v]
    if dataset.flattened:
        parts.append(filters.lang)
    parts.append("snapshot-" + built_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
    return _UNSAFE.sub("-", "_".join(parts)) + f".{fmt}"


def dataset_of(name: str) -> Dataset:
    dataset = DATASETS.get(name)
    if dataset is None:
        raise ProblemError(
            404, "UNKNOWN_DATASET", f"No dataset {name!r}; available: {', '.join(sorted(DATASETS))}.", field="dataset"
        )
    return dataset


def status_of(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if raw not in STATUSES:
        raise ProblemError(400, "INVALID_STATUS", f"status must be one of {', '.join(STATUSES)}.", field="status")
    return raw


__all__ = ["APPLICATION_KINDS", "DATASETS", "Dataset", "Filters", "check_filters", "dataset_of", "filename", "query"]
