"""The survey marts of SPEC §7: every bot2 response with the roster row it belongs to and the time it was
superseded by the student's next response of the campaign (`fct_survey_responses`), and the latest ones."""

from __future__ import annotations

import polars as pl

from warehouse import contract as c
from warehouse.marts.frames import CAT, conform, epoch_us, labels, local_date, sort_exact
from warehouse.marts.registry import Inputs, mart


def enrich_responses(
    responses: pl.DataFrame, students: pl.DataFrame, roster: pl.DataFrame, catalog: pl.DataFrame, tz: str
) -> pl.DataFrame:
    """Staged response rows → fct_survey_responses rows without the supersession columns."""
    student = students.with_row_index("student_idx").select(
        pl.col("id").alias("student_id"),
        "student_idx",
        "student_external_id",
        pl.col("region_id").cast(CAT).alias("student_region_id"),
    )
    rost = roster.select(
        pl.col("id").alias("roster_id"),
        pl.col("roster_campaign").cast(CAT),
        pl.col("program_id").cast(CAT).alias("roster_program_id"),
        pl.col("course_year").alias("roster_course_year"),
        pl.col("is_active").alias("roster_is_active"),
    )
    return (
        responses.rename({"id": "response_id"})
        .with_columns(pl.col("program_id", "survey_campaign", "employment_status").cast(CAT))
        .join(student, on="student_id", how="left")
        .join(rost, on="roster_id", how="left")
        .join(labels(catalog, "program"), on="program_id", how="left")
        .with_columns(
            local_date("submitted_at", tz).alias("submitted_date"),
            (pl.col("employment_status").cast(pl.String) == c.EMPLOYED).alias("employed"),
        )
    )


def with_supersession(df: pl.DataFrame) -> pl.DataFrame:
    """Group rows by (campaign, student), newest first in RS §5.2 order, and mark each row's next newer response.

    Groups are ordered by the categorical code of the campaign and the student's row number in the staged students
    (`student_idx`, from the join; only adjacency matters), so the sort is numeric."""
    campaign = pl.col("survey_campaign").to_physical().cast(pl.Int64)
    group = campaign * (1 << 32) + pl.col("student_idx").cast(pl.Int64)
    if df["student_idx"].null_count():  # a response whose student is not staged: group by the id itself
        group = pl.col("student_id")
    fast = [group, epoch_us("submitted_at"), epoch_us("created_at")]
    df = sort_exact(df, fast, [*fast, pl.col("response_id")], [False, True, True, True])
    same_group = (pl.col("survey_campaign") == pl.col("survey_campaign").shift(1)) & (
        pl.col("student_id") == pl.col("student_id").shift(1)
    )
    same_group = same_group.fill_null(False)
    df = df.with_columns(
        pl.when(same_group).then(pl.col("submitted_at").shift(1)).otherwise(None).alias("superseded_at"),
        (~same_group).alias("is_latest"),
    )
    return conform(df, c.FCT_SURVEY_RESPONSES)


@mart(c.FCT_SURVEY_RESPONSES)
def fct_survey_responses(i: Inputs) -> pl.DataFrame:
    df = enrich_responses(i["bot2_survey_response"], i["bot2_student"], i["bot2_roster"], i["catalog_item"], i.timezone)
    return with_supersession(df)


@mart(c.FCT_SURVEY_LATEST)
def fct_survey_latest(i: Inputs) -> pl.DataFrame:
    return i["fct_survey_responses"].filter(pl.col("is_latest"))
