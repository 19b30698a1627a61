"""Each mart's polars function, registered against its contract entry (SPEC §7), and the build that runs them.

A function sees only the inputs its contract entry declares (`Mart.reads`): reading anything else raises, so the
declaration that incremental builds follow cannot fall behind what the code reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from warehouse import contract as c

Staged = dict[str, pl.DataFrame]


class UndeclaredRead(LookupError):
    """A mart function read a staged table or mart that its contract entry does not list in `reads`."""


class Inputs:
    """What one mart function reads: its declared staged tables and marts (by name), and the local time zone."""

    def __init__(self, spec: c.Mart, staged: Staged, built: dict[str, pl.DataFrame], timezone: str) -> None:
        self._spec, self._staged, self._built = spec, staged, built
        self.timezone = timezone

    def __getitem__(self, name: str) -> pl.DataFrame:
        if name not in self._spec.reads:
            raise UndeclaredRead(f"{self._spec.name} reads {name!r}, which its contract entry does not declare")
        return self._built[name] if name in c.MARTS else self._staged[name]


MartFn = Callable[[Inputs], pl.DataFrame]


@dataclass(frozen=True)
class Definition:
    fn: MartFn
    segment_key: Callable[[], pl.Expr] | None  # a segmented mart's Int64 part key, ascending in its sort order


DEFINITIONS: dict[str, Definition] = {}


def mart(spec: c.Mart, segment_key: Callable[[], pl.Expr] | None = None) -> Callable[[MartFn], MartFn]:
    """Register `fn` as the definition of `spec` (a segmented mart also gives the key its parts are cut by)."""
    if spec.segmented != (segment_key is not None):
        raise ValueError(f"{spec.name}: a segment key is given exactly when the contract says segmented")

    def register(fn: MartFn) -> MartFn:
        DEFINITIONS[spec.name] = Definition(fn, segment_key)
        return fn

    return register


def build_marts(
    staged: Staged,
    timezone: str,
    only: set[str] | None = None,
    given: dict[str, pl.DataFrame] | None = None,
) -> dict[str, pl.DataFrame]:
    """The marts in `only` (default: all) from the staged tables, in the contract's build order; `given` supplies
    marts already built (e.g. a fact maintained incrementally) that later marts read."""
    built: dict[str, pl.DataFrame] = dict(given or {})
    for name in c.BUILD_ORDER:
        if name not in built and (only is None or name in only):
            built[name] = DEFINITIONS[name].fn(Inputs(c.MARTS[name], staged, built, timezone))
    return {k: v for k, v in built.items() if only is None or k in only}
