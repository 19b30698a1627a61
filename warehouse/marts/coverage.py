"""The coverage marts of SPEC §7: per campaign, program and course year the roster total, the latest responses
and the planned headcount (`agg_coverage`), and the planned headcounts per academic year (`fct_enrollment`)."""

from __future__ import annotations

import polars as pl

from warehouse import contract as c
from warehouse.marts.frames import CAT, conform, labels
from warehouse.marts.registry import Inputs, mart

_COVERAGE_KEY = ["campaign", "program_id", "course_year"]


@mart(c.AGG_COVERAGE)
def agg_coverage(i: Inputs) -> pl.DataFrame:
    totals = (
        i["bot2_roster"]
        .filter(pl.col("is_active"))
        .group_by(pl.col("roster_campaign").alias("campaign"), "program_id", "course_year")
        .agg(pl.len().alias("roster_total"))
    )
    # Responses of retired (inactive) roster rows do not count, as in the analytics endpoints (SPEC §8; RS §13 lists
    # counting them as a defect).
    responded = (
        i["fct_survey_latest"]
        .filter(pl.col("roster_is_active"))
        .group_by(
            pl.col("survey_campaign").cast(pl.String).alias("campaign"),
            pl.col("program_id").cast(pl.String),
            "course_year",
        )
        .agg(pl.len().alias("responded"), pl.col("employed").sum().alias("employed"))
    )
    planned = (
        i["bot2_enrollment"]
        .filter(pl.col("is_active"))
        .group_by("campaign", "program_id", "course_year")
        .agg(pl.col("student_count").sum().alias("planned_headcount"))
    )
    counts = ["roster_total", "responded", "employed", "planned_headcount"]
    df = (
        totals.join(responded, on=_COVERAGE_KEY, how="full", coalesce=True)
        .join(planned, on=_COVERAGE_KEY, how="full", coalesce=True)
        .with_columns(pl.col(counts).fill_null(0).cast(pl.Int64), pl.col("program_id").cast(CAT))
        .with_columns((pl.col("responded") - pl.col("employed")).alias("unemployed"))
        .join(labels(i["catalog_item"], "program"), on="program_id", how="left")
    )
    return conform(df.sort("campaign", "program_code", "course_year"), c.AGG_COVERAGE)


@mart(c.FCT_ENROLLMENT)
def fct_enrollment(i: Inputs) -> pl.DataFrame:
    df = (
        i["bot2_enrollment"]
        .filter(pl.col("is_active"))
        .with_columns(pl.col("program_id").cast(CAT))
        .join(labels(i["catalog_item"], "program"), on="program_id", how="left")
    )
    return conform(df.sort("campaign", "academic_year", "program_code", "course_year"), c.FCT_ENROLLMENT)


# Which staged tables and marts each mart reads: an incremental build rebuilds a mart only when one of them changed.
