"""Checks run on the built marts before anything is published: contract schema, unique key, not-null columns,
value domains, and row counts consistent with the source counts read in the extraction transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from ingest.contracts.fields import STATUSES as APPLICATION_STATUSES
from ingest.core.schema import CATALOG_TYPES
from warehouse import contract as c
from warehouse.snapshot import parts
from warehouse.staging import APPLICATION_TABLES


@dataclass(frozen=True)
class Failure:
    mart: str
    check: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


class ChecksFailed(Exception):
    """Raised by the build when any check fails; nothing is published."""

    def __init__(self, failures: list[Failure]) -> None:
        self.failures = failures
        super().__init__("; ".join(f"{f.mart}: {f.check}: {f.detail}" for f in failures[:5]))


DOMAINS: dict[str, set[object]] = {
    "status": set(APPLICATION_STATUSES),
    "kind": set(c.APPLICATION_KINDS),
    "type": set(CATALOG_TYPES),
    "dimension": set(c.ADMISSIONS_DIMENSIONS),
    "course_year": set(range(1, 6)),
    "roster_course_year": set(range(1, 6)),
}


def _expected_schema(spec: c.Mart) -> dict[str, pl.DataType]:
    frame = pl.from_arrow(spec.schema.empty_table())
    assert isinstance(frame, pl.DataFrame)
    return dict(frame.schema)


def _logical(schema: pl.Schema) -> dict[str, pl.DataType]:
    """Categoricals are strings in memory only: the Parquet column is a (dictionary-encoded) string."""
    return {name: pl.String() if isinstance(dtype, pl.Categorical) else dtype for name, dtype in schema.items()}


def check_shape(name: str, df: pl.DataFrame) -> list[Failure]:
    """Columns and types exactly as the contract; key unique; non-nullable columns without nulls; domains."""
    spec = c.MARTS[name]
    if _logical(df.schema) != _expected_schema(spec):
        return [Failure(name, "schema", f"columns {df.schema} differ from the contract")]
    failures = []
    key = list(spec.key)
    duplicates = df.height - _distinct(df, key)
    if duplicates:
        failures.append(Failure(name, "unique_key", f"{duplicates} duplicate row(s) on {tuple(key)}"))
    for col in df.columns:
        nulls = df[col].null_count()
        if nulls and col not in spec.nullable:
            failures.append(Failure(name, "not_null", f"{col} has {nulls} null(s)"))
    for col, allowed in DOMAINS.items():
        if col in df.columns and df.height:
            values = df[col].drop_nulls().unique()
            bad = set(values.cast(pl.String).to_list() if values.dtype == pl.Categorical else values.to_list())
            bad -= allowed
            if bad:
                failures.append(Failure(name, "domain", f"{col} has unexpected values {sorted(map(str, bad))[:5]}"))
    return failures


def _distinct(df: pl.DataFrame, key: list[str]) -> int:
    """Distinct keys. Distinct 64-bit hashes prove distinct keys and are ~5x cheaper to count than strings; only
    when hashes repeat (a duplicate, or a collision) are the keys themselves counted."""
    if df.height == 0:
        return 0
    hashes = df.select(pl.struct(key).hash() if len(key) > 1 else pl.col(key[0]).hash()).to_series()
    if hashes.n_unique() == df.height:
        return df.height
    return df[key[0]].n_unique() if len(key) == 1 else df.select(key).n_unique()


class Marts:
    """Row counts and column sums of every mart: from the frames built now, or from the reused previous files."""

    def __init__(self, built: dict[str, pl.DataFrame], reused: dict[str, Path]) -> None:
        self.built, self.reused = built, reused

    def height(self, name: str) -> int:
        if name in self.built:
            return self.built[name].height
        return sum(pq.read_metadata(part).num_rows for part in parts(self.reused[name]))

    def total(self, name: str, col: str, where: tuple[str, str] | None = None) -> int:
        if name in self.built:
            df = self.built[name]
        else:
            df = pl.read_parquet(self.reused[name], columns=[col, *([where[0]] if where else [])])
        if where:
            df = df.filter(pl.col(where[0]).cast(pl.String) == where[1])
        return int(df[col].sum() or 0)


def check_counts(m: Marts, source: dict[str, int]) -> list[Failure]:
    """Row counts and totals that must agree with the source counts of the same transaction."""
    submitted = source["bot1_admissions_2026.submitted"]
    expected: list[tuple[str, str, int, int]] = [
        ("dim_catalog", "rows = catalog_item rows", m.height("dim_catalog"), source["catalog_item"]),
        (
            "fct_applications",
            "rows = application rows",
            m.height("fct_applications"),
            sum(source[t] for t in APPLICATION_TABLES.values()),
        ),
        (
            "agg_admissions_daily",
            "sum = submitted admissions",
            m.total("agg_admissions_daily", "applications"),
            submitted,
        ),
        (
            "agg_polito_daily",
            "sum = submitted polito applications",
            m.total("agg_polito_daily", "applications"),
            source["bot1_polito_academy.submitted"],
        ),
        (
            "agg_applications_daily",
            "sum = fct rows",
            m.total("agg_applications_daily", "applications"),
            m.height("fct_applications"),
        ),
        (
            "fct_survey_responses",
            "rows = survey rows",
            m.height("fct_survey_responses"),
            source["bot2_survey_response"],
        ),
        (
            "agg_coverage",
            "roster_total = active roster rows",
            m.total("agg_coverage", "roster_total"),
            source["bot2_roster.active"],
        ),
        (
            "agg_coverage",
            "responded = fct_survey_latest rows of active roster rows",
            m.total("agg_coverage", "responded"),
            m.total("fct_survey_latest", "roster_is_active"),
        ),
    ]
    for dim in c.ADMISSIONS_DIMENSIONS:
        total = m.total("agg_admissions_daily_by", "applications", ("dimension", dim))
        expected.append(("agg_admissions_daily_by", f"{dim} sum = submitted admissions", total, submitted))
    return [Failure(mart, "row_count", f"{what}: {got} != {want}") for mart, what, got, want in expected if got != want]


def check_marts(
    marts: dict[str, pl.DataFrame], source: dict[str, int], reused: dict[str, Path] | None = None
) -> list[Failure]:
    """Shape checks on the marts built now, count checks on all of them (reused ones passed when first built)."""
    reused = reused or {}
    failures = [f for name, df in marts.items() for f in check_shape(name, df)]
    if missing := set(c.MARTS) - set(marts) - set(reused):
        failures.append(Failure(",".join(sorted(missing)), "present", "mart not built"))
        return failures
    return failures + check_counts(Marts(marts, reused), source)
