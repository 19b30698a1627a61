"""The published marts (SPEC §7): name, grain, key, sort order and every column's Arrow type, plus the reader API
that `reports/` uses. This file is the contract between the warehouse build and everything that reads snapshots.

Conventions that hold for every mart, on SQLite and Postgres alike:
- ids are canonical lowercase UUID strings with dashes (`"3f2a…-…"`), never raw bytes or 32-char hex;
- instants are `timestamp[us, tz=UTC]`; local calendar days (`*_date`) are `date32` in `settings.timezone`;
- catalog references carry `<dim>_id` and `<dim>_code`; facts also carry `<dim>_name` (the catalog `name`, RS §5.4
  label) and `<dim>_name_uz/_ru/_en`; rollups carry only id and code (join `dim_catalog` for labels);
- counts are int64; `course_year` is int16 in 1..5 (5 = graduated);
- the Parquet files carry no embedded Arrow schema: every reader sees these plain types (low-cardinality strings are
  dictionary-encoded on disk, which readers do not see).

Reader API (implemented in `warehouse/snapshot.py`)::

    current(settings) -> Snapshot | None           # the published snapshot (reads data_dir/warehouse/current.json)

    class Snapshot:                                # frozen; one published build
        id: str                                    # sortable: "20260115T093000.123456Z-1a2b3c"
        built_at: datetime                         # UTC, aware
        watermark: dict[str, dict[str, str]]       # per source table {"updated_at": iso, "id": uuid}
        row_counts: dict[str, int]                 # per mart
        files: dict[str, Path]                     # per mart: absolute path of its Parquet file, or for a
                                                   # segmented mart a folder of Parquet files (parts(path) lists
                                                   # them in order; scan(path) is what DuckDB's read_parquet takes)
        full: bool                                 # True when this build was a full rebuild
        def age_seconds(self) -> float
        def etag(self) -> str                      # '"<id>"', for the ETag header
        def duckdb(self, load: Iterable[str] = ()) -> duckdb.DuckDBPyConnection
            # a NEW in-memory DuckDB connection with one view per mart (named as the mart); marts named in
            # `load` are copied into memory tables instead of views (faster repeated scans, more memory).

    class SnapshotReader:                          # one per process (e.g. in app.state); thread-safe
        def __init__(self, settings, load: Iterable[str] = ()) -> None
        def snapshot(self) -> Snapshot | None      # re-reads current.json only when it changed (stat)
        def cursor(self) -> tuple[Snapshot, duckdb.DuckDBPyConnection] | None
            # a cursor over a shared connection for the current snapshot, reopened when current.json changes;
            # use one cursor per request/thread (DuckDB cursors are cheap; connections are not thread-safe).

Segmented marts (`Mart.segmented`): the file is a folder of Parquet parts `part-00000.parquet`, … that hold consecutive
key ranges of the sort order, so reading the parts in name order gives the mart in its sort order. An incremental
build rewrites only the parts its changed rows fall in and hard-links the others from the previous snapshot.

Who reads what (DESIGN: no endpoint scans a million rows per request):
- the analytics endpoints do not read the `agg_*_daily` rollups: reports/analytics/data.py loads `fct_applications`
  and `fct_survey_responses` once per snapshot into its own in-memory indexes (sorted instants per group, counts per
  local day) and takes roster totals from `agg_coverage` and planned headcounts from `fct_enrollment`. So the same
  counts are computed twice; tests/test_warehouse_rollups.py checks that the rollups and the endpoints agree on
  whole-day windows;
- the rollups are exported as they are (reports/exports/datasets.py) and checked against the source counts before each
  publish; `agg_admissions_daily_by` is the narrow "day × one dimension" form of `agg_admissions_daily`;
- `fct_applications` is sorted by (kind, submitted_at), so a window's rows are a range of row groups that readers
  find by their statistics;
- `fct_survey_responses` keeps each (campaign, student) group's rows adjacent, newest first; groups come in no
  particular order. Its `superseded_at` makes "latest response per student and campaign inside [from, to)" a plain
  filter: a response is the latest in the window iff `from <= submitted_at < to` and
  (`superseded_at IS NULL OR superseded_at >= to`) (the next newer response of that student and campaign, in RS §5.2
  order (submitted_at, created_at, id), is then outside the window). With no window: `is_latest` (= fct_survey_latest).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from ingest.contracts import kinds

TS = pa.timestamp("us", tz="UTC")
ID = pa.string()
COUNT = pa.int64()
YEAR = pa.int16()

APPLICATION_KINDS = tuple(k.slug for k in kinds.APPLICATION_KINDS)
EMPLOYED = "employed"  # exact match (RS §5.8 as fixed): any other status, including "", counts as unemployed
ADMISSIONS_DIMENSIONS = ("direction", "track", "region", "status")


@dataclass(frozen=True)
class Mart:
    """One mart, declared once: what its rows are, its columns, and what it is built from. The build order, the
    marts an incremental build re-derives, the checks, the export datasets and publishing all follow from here."""

    name: str
    grain: str
    key: tuple[str, ...]
    schema: pa.Schema
    sort_by: tuple[str, ...]
    # the staged tables (warehouse/staging.py) and marts its function reads: the only ones it can read, and the
    # ones whose change makes an incremental build re-derive it
    reads: tuple[str, ...]
    nullable: frozenset[str] = frozenset()  # columns allowed to hold nulls (key columns listed here may be null)
    time_column: str | None = None  # what a time window filters: an instant, or a local day (`*_date`)
    campaign_column: str | None = None  # what a campaign filter matches
    segmented: bool = False  # published as a folder of Parquet parts (see "Segmented marts" above)

    @property
    def columns(self) -> list[str]:
        return self.schema.names


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, dtype) for name, dtype in fields])


def _ref(dim: str) -> list[tuple[str, pa.DataType]]:
    """A catalog reference as the rollups carry it: its id and code."""
    return [(f"{dim}_id", ID), (f"{dim}_code", pa.string())]


def _labels(dim: str) -> list[tuple[str, pa.DataType]]:
    return [
        *_ref(dim),
        (f"{dim}_name", pa.string()),
        (f"{dim}_name_uz", pa.string()),
        (f"{dim}_name_ru", pa.string()),
        (f"{dim}_name_en", pa.string()),
    ]


def _ref_cols(*dims: str) -> frozenset[str]:
    return frozenset(f"{d}_{suffix}" for d in dims for suffix in ("id", "code"))


def _daily_rollup(*dims: tuple[str, pa.DataType]) -> pa.Schema:
    """A daily rollup of fct_applications: applications per local date × `dims` × status."""
    return _schema(("submitted_date", pa.date32()), *dims, ("status", pa.string()), ("applications", COUNT))


def _label_cols(*dims: str) -> frozenset[str]:
    return frozenset(
        f"{d}_{suffix}" for d in dims for suffix in ("id", "code", "name", "name_uz", "name_ru", "name_en")
    )


DIM_CATALOG = Mart(
    name="dim_catalog",
    grain="one row per catalog item (every type, active or not)",
    key=("item_id",),
    schema=_schema(
        ("item_id", ID),
        ("type", pa.string()),
        ("code", pa.string()),
        ("name", pa.string()),
        ("name_uz", pa.string()),
        ("name_ru", pa.string()),
        ("name_en", pa.string()),
        ("parent_id", ID),
        ("is_active", pa.bool_()),
        ("sort_order", pa.int32()),
    ),
    sort_by=("type", "sort_order", "code"),
    reads=("catalog_item",),
    nullable=frozenset({"parent_id"}),
)

FCT_APPLICATIONS = Mart(
    name="fct_applications",
    grain="one row per bot1 application of any kind",
    key=("application_id",),
    schema=_schema(
        ("application_id", ID),
        ("kind", pa.string()),  # one of APPLICATION_KINDS
        ("applicant_id", ID),
        ("status", pa.string()),  # new | submitted | in_progress | approved | rejected
        ("submitted_at", TS),  # null ⇔ status = new
        ("submitted_date", pa.date32()),  # local day of submitted_at
        ("created_at", TS),
        ("updated_at", TS),
        # the region the application counts under (analytics, rollups, exports): its own region when the person
        # chose one for it, else the applicant's (docs/region-per-application.md)
        *_labels("region"),
        *_ref("applicant_region"),  # the applicant's profile region
        *_ref("application_region"),  # the region chosen for this application (null: not asked)
        *_labels("direction"),  # admissions-2026 only
        *_labels("track"),  # admissions-2026 only
        *_labels("subject"),  # polito-academy only
        ("preferred_date", pa.date32()),  # campus-tour only
    ),
    sort_by=("kind", "submitted_at", "created_at", "application_id"),  # nulls (status new) last within a kind
    reads=("catalog_item", "bot1_applicant", *(k.table for k in kinds.APPLICATION_KINDS)),
    time_column="submitted_at",
    segmented=True,
    nullable=frozenset({"submitted_at", "submitted_date", "preferred_date"})
    | _label_cols("region", "direction", "track", "subject")
    | _ref_cols("applicant_region", "application_region"),
)

AGG_ADMISSIONS_DAILY = Mart(
    name="agg_admissions_daily",
    grain="admissions-2026 applications with submitted_at: local date × direction × track × region × status",
    key=("submitted_date", "direction_id", "track_id", "region_id", "status"),
    schema=_daily_rollup(*_ref("direction"), *_ref("track"), *_ref("region")),
    sort_by=("submitted_date",),  # rows of one day in no particular order
    reads=("fct_applications",),
    time_column="submitted_date",
    nullable=_ref_cols("track", "region"),
)

AGG_ADMISSIONS_DAILY_BY = Mart(
    name="agg_admissions_daily_by",
    grain="admissions-2026 applications with submitted_at: dimension × local date × value (one narrow rollup per "
    "group-by: filter `dimension`); value is the catalog id (direction/track/region, null when unset) or the status",
    key=("dimension", "submitted_date", "value"),
    schema=_schema(
        ("dimension", pa.string()),  # one of ADMISSIONS_DIMENSIONS
        ("submitted_date", pa.date32()),
        ("value", pa.string()),
        ("code", pa.string()),  # catalog code for catalog dimensions, the status itself for `status`
        ("applications", COUNT),
    ),
    sort_by=("dimension", "submitted_date", "value"),
    reads=("agg_admissions_daily",),
    time_column="submitted_date",
    nullable=frozenset({"value", "code"}),
)

AGG_POLITO_DAILY = Mart(
    name="agg_polito_daily",
    grain="polito-academy applications with submitted_at: local date × subject × status",
    key=("submitted_date", "subject_id", "status"),
    schema=_daily_rollup(*_ref("subject")),
    sort_by=("submitted_date",),
    reads=("fct_applications",),
    time_column="submitted_date",
    nullable=_ref_cols("subject"),
)

AGG_APPLICATIONS_DAILY = Mart(
    name="agg_applications_daily",
    grain="all applications: local date (null for status new) × kind × region (the application's own, else the "
    "applicant's) × status (funnel, by-region)",
    key=("submitted_date", "kind", "region_id", "status"),
    schema=_daily_rollup(("kind", pa.string()), *_ref("region")),
    sort_by=("submitted_date",),  # status `new` (no date) last
    reads=("fct_applications",),
    time_column="submitted_date",
    nullable=frozenset({"submitted_date"}) | _ref_cols("region"),
)

_RESPONSE_COLUMNS = (
    ("response_id", ID),
    ("student_id", ID),
    ("student_external_id", pa.string()),
    ("survey_campaign", pa.string()),
    ("submitted_at", TS),
    ("submitted_date", pa.date32()),  # local day
    ("created_at", TS),
    # the response's own program and course year (copied from the roster when it was submitted; RS §5.2 groups by these)
    *_labels("program"),
    ("course_year", YEAR),
    # the roster row as it is now
    ("roster_id", ID),
    ("roster_campaign", pa.string()),
    ("roster_program_id", ID),
    ("roster_course_year", YEAR),
    ("roster_is_active", pa.bool_()),
    ("employment_status", pa.string()),
    ("employed", pa.bool_()),  # employment_status == "employed", exactly
    ("employment_company", pa.string()),
    ("employment_role", pa.string()),
    ("student_region_id", ID),
    # the submitted_at of the next newer response of this student and campaign (RS §5.2 order); null when latest
    ("superseded_at", TS),
    ("is_latest", pa.bool_()),
)

FCT_SURVEY_RESPONSES = Mart(
    name="fct_survey_responses",
    grain="one row per survey response (append-only history)",
    key=("response_id",),
    schema=_schema(*_RESPONSE_COLUMNS),
    # a student's responses in one campaign are adjacent, newest first (RS §5.2: submitted_at, created_at, id desc);
    # the (campaign, student) groups themselves come in no particular order
    sort_by=("survey_campaign", "student_id", "submitted_at desc", "created_at desc", "response_id desc"),
    reads=("catalog_item", "bot2_student", "bot2_roster", "bot2_survey_response"),
    time_column="submitted_at",
    campaign_column="survey_campaign",
    nullable=frozenset({"student_region_id", "superseded_at"}),
)

FCT_SURVEY_LATEST = Mart(
    name="fct_survey_latest",
    grain="the latest response (RS §5.2 order) per student and survey campaign, all time",
    key=("survey_campaign", "student_id"),
    schema=_schema(*_RESPONSE_COLUMNS),
    sort_by=(),  # in fct_survey_responses' group order
    reads=("fct_survey_responses",),
    time_column="submitted_at",
    campaign_column="survey_campaign",
    nullable=frozenset({"student_region_id", "superseded_at"}),
)

AGG_COVERAGE = Mart(
    name="agg_coverage",
    grain="campaign × program × course year (all time): roster total = active roster rows with roster_campaign = "
    "campaign (by the roster's program/year); responded/employed/unemployed = latest responses with survey_campaign "
    "= campaign whose roster row is active (by the response's program/year); planned = active enrollment "
    "headcounts with that campaign",
    key=("campaign", "program_id", "course_year"),
    schema=_schema(
        ("campaign", pa.string()),
        *_labels("program"),
        ("course_year", YEAR),
        ("roster_total", COUNT),
        ("responded", COUNT),
        ("employed", COUNT),
        ("unemployed", COUNT),  # responded - employed (every non-"employed" status, including blank)
        ("planned_headcount", COUNT),  # sum over all active academic years; see fct_enrollment for one year
    ),
    sort_by=("campaign", "program_code", "course_year"),
    reads=("catalog_item", "bot2_roster", "bot2_enrollment", "fct_survey_latest"),
    campaign_column="campaign",
)

FCT_ENROLLMENT = Mart(
    name="fct_enrollment",
    grain="one row per active planned-headcount row (campaign × academic year × program × course year)",
    key=("campaign", "academic_year", "program_id", "course_year"),
    schema=_schema(
        ("campaign", pa.string()),
        ("academic_year", pa.string()),
        *_labels("program"),
        ("course_year", YEAR),
        ("student_count", COUNT),
    ),
    sort_by=("campaign", "academic_year", "program_code", "course_year"),
    reads=("catalog_item", "bot2_enrollment"),
    campaign_column="campaign",
)

MARTS: dict[str, Mart] = {
    m.name: m
    for m in (
        DIM_CATALOG,
        FCT_APPLICATIONS,
        AGG_ADMISSIONS_DAILY,
        AGG_ADMISSIONS_DAILY_BY,
        AGG_POLITO_DAILY,
        AGG_APPLICATIONS_DAILY,
        FCT_SURVEY_RESPONSES,
        FCT_SURVEY_LATEST,
        AGG_COVERAGE,
        FCT_ENROLLMENT,
    )
}


def _build_order(marts: dict[str, Mart]) -> tuple[str, ...]:
    """The marts in declaration order, except that each comes after the marts it reads."""
    order: list[str] = []

    def place(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            raise ValueError(f"marts read each other in a cycle: {' -> '.join((*path, name))}")
        if name not in order:
            for read in marts[name].reads:
                if read in marts:
                    place(read, (*path, name))
            order.append(name)

    for name in marts:
        place(name, ())
    return tuple(order)


BUILD_ORDER = _build_order(MARTS)

# Layout under settings.data_dir
WAREHOUSE_DIR = "warehouse"
SNAPSHOTS_DIR = "snapshots"
CURRENT_FILE = "current.json"
