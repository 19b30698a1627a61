"""Incremental maintenance of the two big facts (SPEC §7): the previous snapshot's fact plus the rows changed since
its watermark gives the new fact, re-deriving only the rows a change can reach (the changed rows, the rows of
changed applicants / students / roster rows, or every row when the catalog changed). The result equals a full
build."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from warehouse.marts.applications import APPLICATION_STAGED, application_key, enrich_applications, sort_applications
from warehouse.marts.frames import KIND
from warehouse.marts.surveys import enrich_responses, with_supersession

RESPONSE_STAGED = ["id", "student_id", "roster_id", "program_id", "course_year", "survey_campaign"]
RESPONSE_STAGED += ["employment_status", "employment_company", "employment_role", "submitted_at", "created_at"]


def applications_as_staged(fct: pl.DataFrame) -> pl.DataFrame:
    """fct_applications rows back to the staged application columns (what enrich_applications takes)."""
    return fct.select(
        pl.col("application_id").alias("id"),
        "applicant_id",
        pl.col("status").cast(pl.String),
        "submitted_at",
        "created_at",
        "updated_at",
        pl.col("direction_id", "track_id", "subject_id", "application_region_id").cast(pl.String),
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


@dataclass
class FactUpdate:
    fact: pl.DataFrame  # the new fact
    removed: pl.DataFrame  # previous rows that left it (deleted or re-derived)
    added: pl.DataFrame  # rows that entered it (new or re-derived)


MAX_SPLICES = 1000
MAX_CHUNKS = 256


def _splice(keep: pl.DataFrame, fresh: pl.DataFrame) -> pl.DataFrame | None:
    """keep and fresh both sorted as sort_applications sorts: fresh rows spliced in at their places, as zero-copy
    slices (new submissions are the newest of their kind, so they land in a few runs). None when a fresh key ties
    with a kept one or the fresh rows scatter over too many places (then the caller sorts)."""
    fresh = sort_applications(fresh)
    keep_key = keep.select(application_key()).to_series()
    fresh_key = fresh.select(application_key()).to_series()
    if keep_key.is_in(fresh_key.implode()).any():  # ties among fresh rows are ordered by sort_applications already
        return None
    at = keep_key.search_sorted(fresh_key, side="left")
    starts = (at.diff().fill_null(1) != 0).arg_true().to_list()
    if len(starts) > MAX_SPLICES:
        return None
    pieces, done = [], 0
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(at)
        place = int(at[start])
        pieces += [keep.slice(done, place - done), fresh.slice(start, end - start)]
        done = place
    pieces.append(keep.slice(done))
    spliced = pl.concat([p for p in pieces if p.height], rechunk=False)
    # many builds of splices fragment the columns; gather them up once in a while
    return spliced.rechunk() if spliced.n_chunks() > MAX_CHUNKS else spliced


def update_applications(
    previous: pl.DataFrame,
    changes: pl.DataFrame,
    replaced_kinds: set[str],
    applicants: pl.DataFrame,
    changed_applicants: pl.Series,
    catalog: pl.DataFrame,
    catalog_changed: bool,
    tz: str,
    existing: pl.Series,
) -> FactUpdate:
    """The new fct_applications. `changes` holds changed application rows (staged columns plus `kind`); for kinds in
    `replaced_kinds` it holds the whole table (rows were deleted), whose previous rows are dropped. `existing`: the
    ids among `changes` that the previous fact holds."""
    kinds = pl.col("kind").cast(pl.String).is_in(list(replaced_kinds))
    gone = previous.filter(kinds) if replaced_kinds else previous.clear()
    base = previous.filter(~kinds) if replaced_kinds else previous
    changed_ids = changes["id"]
    if catalog_changed:
        touched = base
    else:
        touched = base.filter(pl.col("applicant_id").is_in(changed_applicants.implode()))
    redo_ids = pl.concat([changed_ids, touched["application_id"]]).unique()
    if touched.height == 0 and existing.is_empty():  # only new rows: nothing of the previous fact is re-derived
        leaving, keep = base.clear(), base
    else:
        leaving = base.filter(pl.col("application_id").is_in(redo_ids.implode()))
        keep = base.filter(~pl.col("application_id").is_in(redo_ids.implode()))
    again = applications_as_staged(touched).filter(~pl.col("id").is_in(changed_ids.implode()))
    redo = pl.concat([again, changes.select(APPLICATION_STAGED)], how="vertical_relaxed")
    fresh = enrich_applications(redo, applicants, catalog, tz)
    spliced = _splice(keep, fresh) if fresh.height < keep.height // 10 else None
    fact = spliced if spliced is not None else sort_applications(pl.concat([keep, fresh]))
    return FactUpdate(fact, pl.concat([gone, leaving]), fresh)


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
