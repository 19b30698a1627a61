"""Mart definitions: one polars function per mart of warehouse/contract.py, from the staged tables to a frame with
the mart's exact columns. Each function is pure (staged tables and the time zone in, a frame out)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from warehouse import contract as c
from warehouse.staging import APPLICATION_TABLES

Staged = dict[str, pl.DataFrame]


@dataclass(frozen=True)
class Inputs:
    """What a mart function reads: the staged tables, the local time zone and marts built before it."""

    staged: Staged
    timezone: str
    built: dict[str, pl.DataFrame]


MartFn = Callable[[Inputs], pl.DataFrame]
DEFINITIONS: dict[str, MartFn] = {}


def mart(spec: c.Mart) -> Callable[[MartFn], MartFn]:
    """Register `fn` as the definition of `spec`; the build runs them in registration order."""

    def register(fn: MartFn) -> MartFn:
        DEFINITIONS[spec.name] = fn
        return fn

    return register


def labels(catalog: pl.DataFrame, dim: str) -> pl.DataFrame:
    """The catalog as `<dim>_id, <dim>_code, <dim>_name, <dim>_name_uz/ru/en` for a left join."""
    return catalog.select(
        pl.col("id").alias(f"{dim}_id"),
        pl.col("code").alias(f"{dim}_code"),
        pl.col("name").alias(f"{dim}_name"),
        pl.col("name_uz").alias(f"{dim}_name_uz"),
        pl.col("name_ru").alias(f"{dim}_name_ru"),
        pl.col("name_en").alias(f"{dim}_name_en"),
    )


def local_date(col: str, timezone: str) -> pl.Expr:
    return pl.col(col).dt.convert_time_zone(timezone).dt.date()


def conform(df: pl.DataFrame, spec: c.Mart) -> pl.DataFrame:
    """Exactly the contract's columns, in order, with its types (int16 years, int64 counts...)."""
    target = pl.from_arrow(spec.schema.empty_table())
    assert isinstance(target, pl.DataFrame)
    return df.select(pl.col(name).cast(dtype) for name, dtype in target.schema.items())


@mart(c.DIM_CATALOG)
def dim_catalog(i: Inputs) -> pl.DataFrame:
    df = i.staged["catalog_item"].rename({"id": "item_id"})
    return conform(df.sort(list(c.DIM_CATALOG.sort_by)), c.DIM_CATALOG)


def _applications(i: Inputs) -> pl.DataFrame:
    frames = [
        i.staged[table].with_columns(pl.lit(kind).alias("kind")).rename({"id": "application_id"})
        for kind, table in APPLICATION_TABLES.items()
    ]
    return pl.concat(frames, how="diagonal_relaxed")


@mart(c.FCT_APPLICATIONS)
def fct_applications(i: Inputs) -> pl.DataFrame:
    catalog = i.staged["catalog_item"]
    applicants = i.staged["bot1_applicant"].select(pl.col("id").alias("applicant_id"), "region_id")
    df = _applications(i).join(applicants, on="applicant_id", how="left")
    for dim in ("region", "direction", "track", "subject"):
        if f"{dim}_id" not in df.columns:
            df = df.with_columns(pl.lit(None, pl.String).alias(f"{dim}_id"))
        df = df.join(labels(catalog, dim), on=f"{dim}_id", how="left")
    df = df.with_columns(local_date("submitted_at", i.timezone).alias("submitted_date"))
    df = df.sort(["kind", "submitted_at", "application_id"], nulls_last=True)
    return conform(df, c.FCT_APPLICATIONS)


def _submitted(i: Inputs, kind: str) -> pl.DataFrame:
    fct = i.built["fct_applications"]
    return fct.filter((pl.col("kind") == kind) & pl.col("submitted_at").is_not_null())


@mart(c.AGG_ADMISSIONS_DAILY)
def agg_admissions_daily(i: Inputs) -> pl.DataFrame:
    keys = ["submitted_date", "direction_id", "direction_code", "track_id", "track_code", "region_id"]
    keys += ["region_code", "status"]
    df = _submitted(i, "admissions-2026").group_by(keys).agg(pl.len().alias("applications"))
    return conform(df.sort(list(c.AGG_ADMISSIONS_DAILY.sort_by), nulls_last=True), c.AGG_ADMISSIONS_DAILY)


@mart(c.AGG_ADMISSIONS_DAILY_BY)
def agg_admissions_daily_by(i: Inputs) -> pl.DataFrame:
    daily = i.built["agg_admissions_daily"]
    parts = []
    for dim in c.ADMISSIONS_DIMENSIONS:
        value, code = (
            (pl.col("status"), pl.col("status")) if dim == "status" else (pl.col(f"{dim}_id"), pl.col(f"{dim}_code"))
        )
        part = daily.group_by("submitted_date", value.alias("value"), code.alias("code")).agg(
            pl.col("applications").sum()
        )
        parts.append(part.select(pl.lit(dim).alias("dimension"), "submitted_date", "value", "code", "applications"))
    df = pl.concat(parts).sort(list(c.AGG_ADMISSIONS_DAILY_BY.sort_by), nulls_last=True)
    return conform(df, c.AGG_ADMISSIONS_DAILY_BY)


@mart(c.AGG_POLITO_DAILY)
def agg_polito_daily(i: Inputs) -> pl.DataFrame:
    df = (
        _submitted(i, "polito-academy")
        .group_by("submitted_date", "subject_id", "subject_code", "status")
        .agg(pl.len().alias("applications"))
    )
    return conform(df.sort(list(c.AGG_POLITO_DAILY.sort_by), nulls_last=True), c.AGG_POLITO_DAILY)


@mart(c.AGG_APPLICATIONS_DAILY)
def agg_applications_daily(i: Inputs) -> pl.DataFrame:
    df = (
        i.built["fct_applications"]
        .group_by("submitted_date", "kind", "region_id", "region_code", "status")
        .agg(pl.len().alias("applications"))
    )
    return conform(df.sort(list(c.AGG_APPLICATIONS_DAILY.sort_by), nulls_last=True), c.AGG_APPLICATIONS_DAILY)


def _with_supersession(df: pl.DataFrame) -> pl.DataFrame:
    """Sort newest first within (campaign, student) in RS §5.2 order and mark each row's next newer response."""
    df = df.sort(
        ["survey_campaign", "student_id", "submitted_at", "created_at", "response_id"],
        descending=[False, False, True, True, True],
    )
    same_group = (pl.col("survey_campaign") == pl.col("survey_campaign").shift(1)) & (
        pl.col("student_id") == pl.col("student_id").shift(1)
    )
    same_group = same_group.fill_null(False)
    return df.with_columns(
        pl.when(same_group).then(pl.col("submitted_at").shift(1)).otherwise(None).alias("superseded_at"),
        (~same_group).alias("is_latest"),
    )


@mart(c.FCT_SURVEY_RESPONSES)
def fct_survey_responses(i: Inputs) -> pl.DataFrame:
    students = i.staged["bot2_student"].select(
        pl.col("id").alias("student_id"), "student_external_id", pl.col("region_id").alias("student_region_id")
    )
    roster = i.staged["bot2_roster"].select(
        pl.col("id").alias("roster_id"),
        "roster_campaign",
        pl.col("program_id").alias("roster_program_id"),
        pl.col("course_year").alias("roster_course_year"),
        pl.col("is_active").alias("roster_is_active"),
    )
    df = (
        i.staged["bot2_survey_response"]
        .rename({"id": "response_id"})
        .join(students, on="student_id", how="left")
        .join(roster, on="roster_id", how="left")
        .join(labels(i.staged["catalog_item"], "program"), on="program_id", how="left")
        .with_columns(
            local_date("submitted_at", i.timezone).alias("submitted_date"),
            (pl.col("employment_status") == c.EMPLOYED).alias("employed"),
        )
    )
    return conform(_with_supersession(df), c.FCT_SURVEY_RESPONSES)


@mart(c.FCT_SURVEY_LATEST)
def fct_survey_latest(i: Inputs) -> pl.DataFrame:
    return i.built["fct_survey_responses"].filter(pl.col("is_latest"))


_COVERAGE_KEY = ["campaign", "program_id", "course_year"]


@mart(c.AGG_COVERAGE)
def agg_coverage(i: Inputs) -> pl.DataFrame:
    totals = (
        i.staged["bot2_roster"]
        .filter(pl.col("is_active"))
        .group_by(pl.col("roster_campaign").alias("campaign"), "program_id", "course_year")
        .agg(pl.len().alias("roster_total"))
    )
    responded = (
        i.built["fct_survey_latest"]
        .group_by(pl.col("survey_campaign").alias("campaign"), "program_id", "course_year")
        .agg(pl.len().alias("responded"), pl.col("employed").sum().alias("employed"))
    )
    planned = (
        i.staged["bot2_enrollment"]
        .filter(pl.col("is_active"))
        .group_by("campaign", "program_id", "course_year")
        .agg(pl.col("student_count").sum().alias("planned_headcount"))
    )
    counts = ["roster_total", "responded", "employed", "planned_headcount"]
    df = (
        totals.join(responded, on=_COVERAGE_KEY, how="full", coalesce=True)
        .join(planned, on=_COVERAGE_KEY, how="full", coalesce=True)
        .with_columns(pl.col(counts).fill_null(0).cast(pl.Int64))
        .with_columns((pl.col("responded") - pl.col("employed")).alias("unemployed"))
        .join(labels(i.staged["catalog_item"], "program"), on="program_id", how="left")
    )
    return conform(df.sort(list(c.AGG_COVERAGE.sort_by)), c.AGG_COVERAGE)


@mart(c.FCT_ENROLLMENT)
def fct_enrollment(i: Inputs) -> pl.DataFrame:
    df = (
        i.staged["bot2_enrollment"]
        .filter(pl.col("is_active"))
        .join(labels(i.staged["catalog_item"], "program"), on="program_id", how="left")
    )
    return conform(df.sort(list(c.FCT_ENROLLMENT.sort_by)), c.FCT_ENROLLMENT)


def build_marts(staged: Staged, timezone: str) -> dict[str, pl.DataFrame]:
    """Every mart from the staged tables; a mart may read marts registered before it."""
    built: dict[str, pl.DataFrame] = {}
    inputs = Inputs(staged, timezone, built)
    for name, fn in DEFINITIONS.items():
        built[name] = fn(inputs)
    return built
