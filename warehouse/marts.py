"""Mart definitions: one polars function per mart of warehouse/contract.py, from the staged tables to a frame with
the mart's exact columns. Each function is pure (staged tables and the time zone in, a frame out).

Low-cardinality strings (catalog ids, codes and labels, kinds, statuses, campaigns) are polars Categoricals in
memory: joins, group-bys and sorts then work on integer codes, and Parquet gets them dictionary-encoded."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from warehouse import contract as c
from warehouse.staging import APPLICATION_TABLES

Staged = dict[str, pl.DataFrame]
CAT = pl.Categorical()
KIND = pl.Enum(list(c.APPLICATION_KINDS))
# String columns with (nearly) one value per row: kept as plain strings.
HIGH_CARDINALITY = frozenset(
    {"application_id", "applicant_id", "response_id", "student_id", "student_external_id", "roster_id", "item_id"}
    | {"employment_company", "employment_role", "name", "name_uz", "name_ru", "name_en", "parent_id"}
)


def is_categorical(mart: c.Mart, column: str) -> bool:
    return mart.schema.field(column).type == c.pa.string() and column not in HIGH_CARDINALITY


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
    """The catalog as `<dim>_id, <dim>_code, <dim>_name, <dim>_name_uz/ru/en` (categoricals) for a left join."""
    return catalog.select(
        pl.col(src).cast(CAT).alias(f"{dim}_{dst}")
        for src, dst in (
            ("id", "id"),
            ("code", "code"),
            ("name", "name"),
            ("name_uz", "name_uz"),
            ("name_ru", "name_ru"),
            ("name_en", "name_en"),
        )
    )


def local_date(col: str, timezone: str) -> pl.Expr:
    return pl.col(col).dt.convert_time_zone(timezone).dt.date()


def conform(df: pl.DataFrame, spec: c.Mart) -> pl.DataFrame:
    """Exactly the contract's columns, in order, with its types; strings stay categorical where they are."""
    target = pl.from_arrow(spec.schema.empty_table())
    assert isinstance(target, pl.DataFrame)
    exprs = []
    for name, dtype in target.schema.items():
        if dtype == pl.String and is_categorical(spec, name):
            exprs.append(pl.col(name).cast(CAT))
        else:
            exprs.append(pl.col(name).cast(dtype))
    return df.select(exprs)


# --- catalog -----------------------------------------------------------------------------------------------------


@mart(c.DIM_CATALOG)
def dim_catalog(i: Inputs) -> pl.DataFrame:
    df = i.staged["catalog_item"].rename({"id": "item_id"})
    return conform(df.sort("type", "sort_order", "code"), c.DIM_CATALOG)


# --- applications ------------------------------------------------------------------------------------------------


def staged_applications(staged: Staged) -> pl.DataFrame:
    """The four staged application tables as one frame with a `kind` column (absent columns are null)."""
    frames = [
        staged[table].with_columns(pl.lit(kind, KIND).alias("kind")) for kind, table in APPLICATION_TABLES.items()
    ]
    df = pl.concat(frames, how="diagonal_relaxed")
    for col, dtype in (("direction_id", pl.String), ("track_id", pl.String), ("subject_id", pl.String)):
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype).alias(col))
    if "preferred_date" not in df.columns:
        df = df.with_columns(pl.lit(None, pl.Date).alias("preferred_date"))
    return df


def enrich_applications(apps: pl.DataFrame, applicants: pl.DataFrame, catalog: pl.DataFrame, tz: str) -> pl.DataFrame:
    """Staged application rows → fct_applications rows (unsorted): applicant region, catalog labels, local date."""
    region = applicants.select(pl.col("id").alias("applicant_id"), pl.col("region_id").cast(CAT))
    df = apps.rename({"id": "application_id"}).join(region, on="applicant_id", how="left")
    df = df.with_columns(pl.col("direction_id", "track_id", "subject_id").cast(CAT))
    for dim in ("region", "direction", "track", "subject"):
        df = df.join(labels(catalog, dim), on=f"{dim}_id", how="left")
    df = df.with_columns(local_date("submitted_at", tz).alias("submitted_date"))
    return conform(df, c.FCT_APPLICATIONS)


def sort_exact(df: pl.DataFrame, fast: list[pl.Expr], exact: list[pl.Expr], descending: list[bool]) -> pl.DataFrame:
    """Sort by the Int64 keys `fast` (no nulls); only if two neighbours then tie on all of them (rare: equal
    microseconds), sort again by `exact` (the same keys plus a string tie-breaker). An arg-sort on plain Int64
    columns costs a fifth of one on datetimes and categoricals, and strings cost more still."""
    # the fast keys hold no nulls; asking for nulls_last would force the slow row-encoded path
    order = df.select(pl.arg_sort_by(fast, descending=descending[: len(fast)])).to_series()
    out = df[order]
    keys = out.select(e.alias(f"k{n}") for n, e in enumerate(fast))
    tied = pl.all_horizontal(pl.col(k).eq_missing(pl.col(k).shift(1)) for k in keys.columns)
    if not keys.select(tied.fill_null(False).any()).item():
        return out
    return df[df.select(pl.arg_sort_by(exact, descending=descending, nulls_last=True)).to_series()]


def _us(col: str) -> pl.Expr:
    return pl.col(col).dt.epoch("us")


NULL_LAST_US = 1 << 55  # beyond any real instant (year 3112); plus created_at it stays below 2**56


def application_key() -> pl.Expr:
    """(kind, submitted_at nulls last) as one Int64; rows without submitted_at (status new) order by created_at."""
    kind = pl.col("kind").cast(KIND).to_physical().cast(pl.Int64)
    when = _us("submitted_at").fill_null(NULL_LAST_US + _us("created_at"))
    return kind * (1 << 56) + when


def sort_applications(df: pl.DataFrame) -> pl.DataFrame:
    """(kind, submitted_at nulls last, created_at, application_id), the first two folded into one Int64 key."""
    fast = [application_key(), _us("created_at")]
    return sort_exact(df, fast, [*fast, pl.col("application_id")], [False, False, False])


@mart(c.FCT_APPLICATIONS)
def fct_applications(i: Inputs) -> pl.DataFrame:
    apps = staged_applications(i.staged)
    df = enrich_applications(apps, i.staged["bot1_applicant"], i.staged["catalog_item"], i.timezone)
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
    return rollup(ROLLUPS["agg_admissions_daily"], i.built["fct_applications"])


@mart(c.AGG_ADMISSIONS_DAILY_BY)
def agg_admissions_daily_by(i: Inputs) -> pl.DataFrame:
    daily = i.built["agg_admissions_daily"]
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
    return rollup(ROLLUPS["agg_polito_daily"], i.built["fct_applications"])


@mart(c.AGG_APPLICATIONS_DAILY)
def agg_applications_daily(i: Inputs) -> pl.DataFrame:
    return rollup(ROLLUPS["agg_applications_daily"], i.built["fct_applications"])


# --- survey ------------------------------------------------------------------------------------------------------


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
    fast = [group, _us("submitted_at"), _us("created_at")]
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
    s = i.staged
    df = enrich_responses(s["bot2_survey_response"], s["bot2_student"], s["bot2_roster"], s["catalog_item"], i.timezone)
    return with_supersession(df)


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
    # Responses of retired (inactive) roster rows do not count, as in the analytics endpoints (SPEC §8; RS §13 lists
    # counting them as a defect).
    responded = (
        i.built["fct_survey_latest"]
        .filter(pl.col("roster_is_active"))
        .group_by(
            pl.col("survey_campaign").cast(pl.String).alias("campaign"),
            pl.col("program_id").cast(pl.String),
            "course_year",
        )
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
        .with_columns(pl.col(counts).fill_null(0).cast(pl.Int64), pl.col("program_id").cast(CAT))
        .with_columns((pl.col("responded") - pl.col("employed")).alias("unemployed"))
        .join(labels(i.staged["catalog_item"], "program"), on="program_id", how="left")
    )
    return conform(df.sort("campaign", "program_code", "course_year"), c.AGG_COVERAGE)


@mart(c.FCT_ENROLLMENT)
def fct_enrollment(i: Inputs) -> pl.DataFrame:
    df = (
        i.staged["bot2_enrollment"]
        .filter(pl.col("is_active"))
        .with_columns(pl.col("program_id").cast(CAT))
        .join(labels(i.staged["catalog_item"], "program"), on="program_id", how="left")
    )
    return conform(df.sort("campaign", "academic_year", "program_code", "course_year"), c.FCT_ENROLLMENT)


# Which staged tables and marts each mart reads: an incremental build rebuilds a mart only when one of them changed.
DEPENDS: dict[str, tuple[str, ...]] = {
    "dim_catalog": ("catalog_item",),
    "fct_applications": ("catalog_item", "bot1_applicant", *APPLICATION_TABLES.values()),
    "agg_admissions_daily": ("fct_applications",),
    "agg_admissions_daily_by": ("agg_admissions_daily",),
    "agg_polito_daily": ("fct_applications",),
    "agg_applications_daily": ("fct_applications",),
    "fct_survey_responses": ("catalog_item", "bot2_student", "bot2_roster", "bot2_survey_response"),
    "fct_survey_latest": ("fct_survey_responses",),
    "agg_coverage": ("catalog_item", "bot2_roster", "bot2_enrollment", "fct_survey_latest"),
    "fct_enrollment": ("catalog_item", "bot2_enrollment"),
}


def build_marts(
    staged: Staged,
    timezone: str,
    only: set[str] | None = None,
    given: dict[str, pl.DataFrame] | None = None,
) -> dict[str, pl.DataFrame]:
    """The marts in `only` (default: all) from the staged tables; `given` supplies marts already built (e.g. a fact
    maintained incrementally) that later marts read."""
    built: dict[str, pl.DataFrame] = dict(given or {})
    inputs = Inputs(staged, timezone, built)
    for name, fn in DEFINITIONS.items():
        if name not in built and (only is None or name in only):
            built[name] = fn(inputs)
    return {k: v for k, v in built.items() if only is None or k in only}
