"""The catalog mart of SPEC §7 (`dim_catalog`): every catalog item, the labels the other marts carry by id."""

from __future__ import annotations

import polars as pl

from warehouse import contract as c
from warehouse.marts.frames import conform
from warehouse.marts.registry import Inputs, mart


@mart(c.DIM_CATALOG)
def dim_catalog(i: Inputs) -> pl.DataFrame:
    df = i["catalog_item"].rename({"id": "item_id"})
    return conform(df.sort("type", "sort_order", "code"), c.DIM_CATALOG)
