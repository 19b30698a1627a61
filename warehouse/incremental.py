"""Incremental maintenance of the two big facts: the previous snapshot's fact plus the rows changed since its
watermark gives the new fact, re-deriving only the rows a change can reach (the changed rows, the rows of changed
applicants / students / roster rows, or every row when the catalog changed). The result equals a full build."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from warehouse import contract as c
from warehouse.marts import (
    CAT,
    KIND,
    enrich_applications,
    enrich_responses,
    is_categorical,
    sort_applications,
    with_supersession,
)

APPLICATION_STAGED = ["id", "applicant_id", "status", "submitted_at", "created_at", "updated_at"]
APPLICATION_STAGED += ["direction_id", "track_id", "subject_id", "preferred_date", "kind"]
RESPONSE_STAGED = ["id", "student_id", "roster_id", "program_id", "course_year", "survey_campaign"]
RESPONSE_STAGED += ["employment_status", "employment_company", "employment_role", "submitted_at", "created_at"]


def read_fact(path: Path, spec: c.Mart) -> pl.DataFrame:
    """A published fact back in memory with its categoricals (read from the Parquet dictionaries, not re-hashed)."""
    table = pq.read_table(path, read_dictionary=[n for n in spec.columns if is_categorical(spec, n)])
    df = pl.from_arrow(table)
    assert isinstance(df, pl.DataFrame)
    return df.with_columns(pl.col(n).cast(CAT) for n in spec.columns if is_categorical(spec, n))


def applications_as_staged(fct: pl.DataFrame) -> pl.DataFrame:
    """fct_applications rows back to the staged application columns (what enrich_applications takes)."""
    return fct.select(
        pl.col("application_id").alias("id"),
        "applicant_id",
        pl.col("status").cast(pl.String),
        "submitted_at",
        "created_at",
        "updated_at",
        pl.col("direction_id", "track_id", "subject_id").cast(pl.String),
        "preferred_date",
        pl.col("kind").cast(pl.String).cast(KIND),
    )


def responses_as_staged(fct: pl.DataFrame) -> pl.DataFrame:
    return fct.select(
        pl.col("response_id").alias("id"),
        "student_id",
        "roster_id",
        pl.col("program_id", "survey_campaign", "employment_status").cast(pl.String),
        "course_year",
        "employment_company",
        "employment_role",
        "submitted_at",
        "created_at",
    ).select(RESPONSE_STAGED)


def update_applications(
    previous: pl.DataFrame,
    changes: pl.DataFrame,
    replaced_kinds: set[str],
    applicants: pl.DataFrame,
    changed_applicants: pl.Series,
    catalog: pl.DataFrame,
    catalog_changed: bool,
    tz: str,
) -> pl.DataFrame:
    """The new fct_applications. `changes` holds changed application rows (staged columns plus `kind`); for kinds in
    `replaced_kinds` it holds the whole table (rows were deleted), whose previous rows are dropped."""
    base = previous.filter(~pl.col("kind").cast(pl.String).is_in(list(replaced_kinds))) if replaced_kinds else previous
    changed_ids = changes["id"]
    if catalog_changed:
        touched = base
    else:
        touched = base.filter(pl.col("applicant_id").is_in(changed_applicants.implode()))
    redo_ids = pl.concat([changed_ids, touched["application_id"]]).unique()
    keep = base.filter(~pl.col("application_id").is_in(redo_ids.implode()))
    again = applications_as_staged(touched).filter(~pl.col("id").is_in(changed_ids.implode()))
    redo = pl.concat([again, changes.select(APPLICATION_STAGED)], how="vertical_relaxed")
    fresh = enrich_applications(redo, applicants, catalog, tz)
    return sort_applications(pl.concat([keep, fresh], how="vertical_relaxed"))


def update_responses(
    previous: pl.DataFrame,
    changes: pl.DataFrame,
    replaced: bool,
    students: pl.DataFrame,
    roster: pl.DataFrame,
    changed_students: pl.Series,
    changed_roster: pl.Series,
    catalog: pl.DataFrame,
    catalog_changed: bool,
    tz: str,
) -> pl.DataFrame:
    """The new fct_survey_responses: every response of an affected student is re-derived (supersession is per
    student and campaign), the rest is kept in place."""
    base = previous.clear() if replaced else previous
    if catalog_changed:
        affected = base["student_id"]
    else:
        by_roster = base.filter(pl.col("roster_id").is_in(changed_roster.implode()))["student_id"]
        affected = pl.concat([changed_students, by_roster])
    affected = pl.concat([affected, changes["student_id"]]).unique()
    keep = base.filter(~pl.col("student_id").is_in(affected.implode()))
    touched = base.filter(pl.col("student_id").is_in(affected.implode()))
    again = responses_as_staged(touched).filter(~pl.col("id").is_in(changes["id"].implode()))
    redo = pl.concat([again, changes.select(RESPONSE_STAGED)], how="vertical_relaxed")
    fresh = with_supersession(enrich_responses(redo, students, roster, catalog, tz))
    return pl.concat([keep, fresh], how="vertical_relaxed")
