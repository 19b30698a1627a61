"""Each mart is declared once (warehouse/contract.py): every contract entry has one registered function, its `reads`
name known staged tables and marts, and a function can read exactly what its entry declares, nothing else."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from warehouse.contract import BUILD_ORDER, MARTS
from warehouse.marts.registry import DEFINITIONS, Inputs, UndeclaredRead, build_marts
from warehouse.staging import SOURCES

TZ = "Asia/Tashkent"


def empty_staged() -> dict[str, pl.DataFrame]:
    return {name: pl.DataFrame(schema=table.schema) for name, table in SOURCES.items()}


def test_every_contract_entry_has_one_function_and_known_inputs() -> None:
    assert set(DEFINITIONS) == set(MARTS)
    for name, spec in MARTS.items():
        assert spec.reads, name
        assert set(spec.reads) <= set(SOURCES) | set(MARTS), name


def test_build_order_puts_each_mart_after_the_marts_it_reads() -> None:
    assert sorted(BUILD_ORDER) == sorted(MARTS)
    for name in BUILD_ORDER:
        for read in MARTS[name].reads:
            if read in MARTS:
                assert BUILD_ORDER.index(read) < BUILD_ORDER.index(name), (read, name)


@pytest.mark.parametrize("name", list(MARTS))
def test_a_mart_function_reads_exactly_its_declared_inputs(name: str) -> None:
    """Withholding any one declared input fails the function (so it does read it), and only declared inputs are
    reachable at all: a function reading a table its entry does not name fails on every build."""
    staged = empty_staged()
    built = build_marts(staged, TZ)
    spec = MARTS[name]
    assert DEFINITIONS[name].fn(Inputs(spec, staged, built, TZ)).columns == spec.columns
    for read in spec.reads:
        narrowed = replace(spec, reads=tuple(r for r in spec.reads if r != read))
        with pytest.raises(UndeclaredRead, match=repr(read)):
            DEFINITIONS[name].fn(Inputs(narrowed, staged, built, TZ))
