"""Checks run on the built marts before anything is published: contract schema, unique key, not-null columns,
value domains, and row counts consistent with the source counts read in the extraction transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import polars as pl

from ingest.schema import APPLICATION_STATUSES, CATALOG_TYPES
from warehouse import contract as c
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


def check_shape(name: str, df: pl.DataFrame) -> list[Failure]:
    """Columns and types exactly as the contract; key unique; non-nullable columns without nulls; domains."""
    spec = c.MARTS[name]
    if dict(df.schema) != _expected_schema(spec):
        return [Failure(name, "schema", f"columns {df.schema} differ from the contract")]
    failures = []
    key = list(spec.key)
    duplicates = df.height - (df[key[0]].n_unique() if len(key) == 1 else df.select(key).n_unique())
    if duplicates:
        failures.append(Failure(name, "unique_key", f"{duplicates} duplicate row(s) on {tuple(key)}"))
    for col in df.columns:
        nulls = df[col].null_count()
        if nulls and col not in spec.nullable:
            failures.append(Failure(name, "not_null", f"{col} has {nulls} null(s)"))
    for col, allowed in DOMAINS.items():
        if col in df.columns and df.height:
            bad = set(df[col].drop_nulls().unique().to_list()) - allowed
            if bad:
                failures.append(Failure(name, "domain", f"{col} has unexpected values {sorted(map(str, bad))[:5]}"))
    return failures


def _sum(df: pl.DataFrame, col: str) -> int:
    return int(df[col].sum() or 0)


def check_counts(marts: dict[str, pl.DataFrame], source: dict[str, int]) -> list[Failure]:
    """Row counts and totals that must agree with the source counts of the same transaction."""
    fct = marts["fct_applications"]
    by_dim = marts["agg_admissions_daily_by"]
    expected: list[tuple[str, str, int, int]] = [
        ("dim_catalog", "rows = catalog_item rows", marts["dim_catalog"].height, source["catalog_item"]),
        (
            "fct_applications",
            "rows = application rows",
            fct.height,
            sum(source[t] for t in APPLICATION_TABLES.values()),
        ),
        (
            "agg_admissions_daily",
            "sum = submitted admissions",
            _sum(marts["agg_admissions_daily"], "applications"),
            source["bot1_admissions_2026.submitted"],
        ),
        (
            "agg_polito_daily",
            "sum = submitted polito applications",
            _sum(marts["agg_polito_daily"], "applications"),
            source["bot1_polito_academy.submitted"],
        ),
        ("agg_applications_daily", "sum = fct rows", _sum(marts["agg_applications_daily"], "applications"), fct.height),
        (
            "fct_survey_responses",
            "rows = survey rows",
            marts["fct_survey_responses"].height,
            source["bot2_survey_response"],
        ),
        (
            "agg_coverage",
            "roster_total = active roster rows",
            _sum(marts["agg_coverage"], "roster_total"),
            source["bot2_roster.active"],
        ),
        (
            "agg_coverage",
            "responded = fct_survey_latest rows",
            _sum(marts["agg_coverage"], "responded"),
            marts["fct_survey_latest"].height,
        ),
    ]
    for dim in c.ADMISSIONS_DIMENSIONS:
        total = _sum(by_dim.filter(pl.col("dimension") == dim), "applications")
        expected.append(("agg_admissions_daily_by", f"{dim} sum = submitted admissions", total, expected[2][3]))
    return [Failure(m, "row_count", f"{what}: {got} != {want}") for m, what, got, want in expected if got != want]


def check_marts(marts: dict[str, pl.DataFrame], source: dict[str, int]) -> list[Failure]:
    failures = [f for name, df in marts.items() for f in check_shape(name, df)]
    if missing := set(c.MARTS) - set(marts):
        failures.append(Failure(",".join(sorted(missing)), "present", "mart not built"))
        return failures
    return failures + check_counts(marts, source)
