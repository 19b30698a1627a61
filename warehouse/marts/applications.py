"""The application marts of SPEC §7: `fct_applications` (every bot1 application, kept sorted by kind and
submission time) and its count rollups, which an incremental build can also move by the rows that changed."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from warehouse import contract as c
from warehouse.marts.frames import CAT, KIND, conform, epoch_us, labels, local_date, sort_exact
from warehouse.marts.registry import Inputs, mart
from warehouse.staging import APPLICATION_TABLES

APPLICATION_STAGED = ["id", "applicant_id", "status", "submitted_at", "created_at", "updated_at"]
APPLICATION_STAGED += ["direction_id", "track_id", "subject_id", "application_region_id", "preferred_date", "kind"]
REFERENCES = ("direction_id", "track_id", "subject_id", "application_region_id")  # staged catalog ids


def application_rows(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """One staged application table's rows in the columns every kind shares (APPLICATION_STAGED): its `kind`, and
    null for the columns of other kinds."""
    frame = frame.with_columns(pl.lit(kind, KIND).alias("kind"))
    for col in REFERENCES:
        if col not in frame.columns:
            frame = frame.with_columns(pl.lit(None, pl.String).alias(col))
    if "preferred_date" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.Date).alias("preferred_date"))
    return frame.select(APPLICATION_STAGED)


def enrich_applications(apps: pl.DataFrame, applicants: pl.DataFrame, catalog: pl.DataFrame, tz: str) -> pl.DataFrame:
    """Staged application rows → fct_applications rows (unsorted): the region it counts under (its own when the
    person chose one, else the applicant's), both of those, catalog labels, local date."""
    profile = applicants.select(pl.col("id").alias("applicant_id"), pl.col("region_id").alias("applicant_region_id"))
    df = apps.rename({"id": "application_id"}).join(profile, on="applicant_id", how="left")
    df = df.with_columns(pl.coalesce("application_region_id", "applicant_region_id").alias("region_id"))
    df = df.with_columns(pl.col(*REFERENCES, "applicant_region_id", "region_id").cast(CAT))
    for dim in ("region", "direction", "track", "subject"):
        df = df.join(labels(catalog, dim), on=f"{dim}_id", how="left")
    for dim in ("applicant_region", "application_region"):  # id and code only: the labels are the region's above
        df = df.join(labels(catalog, dim).select(f"{dim}_id", f"{dim}_code"), on=f"{dim}_id", how="left")
    df = df.with_columns(local_date("submitted_at", tz).alias("submitted_date"))
    return conform(df, c.FCT_APPLICATIONS)


NULL_LAST_US = 1 << 55  # beyond any real instant (year 3112); plus created_at it stays below 2**56


def application_key() -> pl.Expr:
    """(kind, submitted_at nulls last) as one Int64; rows without submitted_at (status new) order by created_at."""
    kind = pl.col("kind").cast(KIND).to_physical().cast(pl.Int64)
    when = epoch_us("submitted_at").fill_null(NULL_LAST_US + epoch_us("created_at"))
    return kind * (1 << 56) + when


def sort_applications(df: pl.DataFrame) -> pl.DataFrame:
    """(kind, submitted_at nulls last, created_at, application_id), the first two folded into one Int64 key."""
    fast = [application_key(), epoch_us("created_at")]
    return sort_exact(df, fast, [*fast, pl.col("application_id")], [False, False, False])


@mart(c.FCT_APPLICATIONS, segment_key=application_key)
def fct_applications(i: Inputs) -> pl.DataFrame:
    rows = [application_rows(i[table], kind) for kind, table in APPLICATION_TABLES.items()]
    apps = pl.concat(rows, how="vertical_relaxed")
    df = enrich_applications(apps, i["bot1_applicant"], i["catalog_item"], i.timezone)
    return sort_applications(df)


@dataclass(frozen=True)
class Rollup:
    """A count rollup of fct_applications: which rows, grouped by which keys, stored in which order."""

    spec: c.Mart
    where: pl.Expr | None
    keys: tuple[str, ...]
    order: tuple[str, ...]


def _submitted(kind: str) -> pl.Expr:
    return (pl.col("kind") == kind) & pl.col("submitted_at").is_not_null()


ADMISSIONS_KEYS = ("submitted_date", "direction_id", "direction_code", "track_id", "track_code")
ADMISSIONS_KEYS += ("region_id", "region_code", "status")
ROLLUPS = {
    r.spec.name: r
    for r in (
        Rollup(
            c.AGG_ADMISSIONS_DAILY,
            _submitted("admissions-2026"),
            ADMISSIONS_KEYS,
            ("submitted_date", "direction_code", "track_code", "region_code", "status"),
        ),
        Rollup(
            c.AGG_POLITO_DAILY,
            _submitted("polito-academy"),
            ("submitted_date", "subject_id", "subject_code", "status"),
            ("submitted_date", "subject_code", "status"),
        ),
        Rollup(
            c.AGG_APPLICATIONS_DAILY,
            None,
            ("submitted_date", "kind", "region_id", "region_code", "status"),
            ("submitted_date", "kind", "region_code", "status"),
        ),
    )
}


def count_rows(r: Rollup, fct: pl.DataFrame, sign: int = 1) -> pl.DataFrame:
    rows = fct if r.where is None else fct.filter(r.where)
    return rows.group_by(list(r.keys)).agg((pl.len().cast(pl.Int64) * sign).alias("applications"))


def finish_rollup(r: Rollup, df: pl.DataFrame) -> pl.DataFrame:
    # by day only: a multi-column sort of the rollup would cost more than computing it
    return conform(df.sort("submitted_date", nulls_last=True), r.spec)


def rollup(r: Rollup, fct: pl.DataFrame) -> pl.DataFrame:
    return finish_rollup(r, count_rows(r, fct))


def rollup_delta(r: Rollup, previous: pl.DataFrame, added: pl.DataFrame, removed: pl.DataFrame) -> pl.DataFrame:
    """The rollup after `removed` rows left the fact and `added` rows entered it: equal to `rollup` on the new fact,
    at the cost of the rollup's size rather than the fact's."""
    keys = list(r.keys)
    parts = [previous.select(*keys, "applications"), count_rows(r, added), count_rows(r, removed, sign=-1)]
    merged = pl.concat(parts, how="vertical_relaxed").group_by(keys).agg(pl.col("applications").sum())
    return finish_rollup(r, merged.filter(pl.col("applications") != 0))


@mart(c.AGG_ADMISSIONS_DAILY)
def agg_admissions_daily(i: Inputs) -> pl.DataFrame:
    return rollup(ROLLUPS["agg_admissions_daily"], i["fct_applications"])


@mart(c.AGG_ADMISSIONS_DAILY_BY)
def agg_admissions_daily_by(i: Inputs) -> pl.DataFrame:
    daily = i["agg_admissions_daily"]
    parts = []
    for dim in c.ADMISSIONS_DIMENSIONS:
        value, code = ("status", "status") if dim == "status" else (f"{dim}_id", f"{dim}_code")
        part = daily.group_by(
            "submitted_date", pl.col(value).cast(pl.String).alias("value"), pl.col(code).cast(pl.String).alias("code")
        ).agg(pl.col("applications").sum())
        parts.append(part.select(pl.lit(dim).alias("dimension"), "submitted_date", "value", "code", "applications"))
    df = pl.concat(parts).sort("dimension", "submitted_date", "value", nulls_last=True)
    return conform(df, c.AGG_ADMISSIONS_DAILY_BY)


@mart(c.AGG_POLITO_DAILY)
def agg_polito_daily(i: Inputs) -> pl.DataFrame:
    return rollup(ROLLUPS["agg_polito_daily"], i["fct_applications"])


@mart(c.AGG_APPLICATIONS_DAILY)
def agg_applications_daily(i: Inputs) -> pl.DataFrame:
    return rollup(ROLLUPS["agg_applications_daily"], i["fct_applications"])
