"""What every mart function of SPEC §7 shares: how strings are typed in memory, the contract's exact columns,
catalog labels, local days and the fast exact sort.

Low-cardinality strings (catalog ids, codes and labels, kinds, statuses, campaigns) are polars Categoricals in
memory: joins, group-bys and sorts then work on integer codes, and Parquet gets them dictionary-encoded."""

from __future__ import annotations

import polars as pl

from warehouse import contract as c

CAT = pl.Categorical()
KIND = pl.Enum(list(c.APPLICATION_KINDS))
# String columns with (nearly) one value per row: kept as plain strings.
HIGH_CARDINALITY = frozenset(
    {"application_id", "applicant_id", "response_id", "student_id", "student_external_id", "roster_id", "item_id"}
    | {"employment_company", "employment_role", "name", "name_uz", "name_ru", "name_en", "parent_id"}
)


def is_categorical(mart: c.Mart, column: str) -> bool:
    return mart.schema.field(column).type == c.pa.string() and column not in HIGH_CARDINALITY


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


def epoch_us(col: str) -> pl.Expr:
    return pl.col(col).dt.epoch("us")
