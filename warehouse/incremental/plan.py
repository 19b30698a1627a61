"""What an incremental build (SPEC §7) does with the rows it extracted: which changes are real (a re-read row
identical to its previous version is not a change), which staged tables and marts they reach, and the new marts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from warehouse import contract as c
from warehouse.incremental.facts import (
    RESPONSE_STAGED,
    applications_as_staged,
    responses_as_staged,
    update_applications,
    update_responses,
)
from warehouse.incremental.memory import is_remembered, read_fact, read_staged
from warehouse.marts.applications import ROLLUPS, application_key, application_rows, rollup_delta
from warehouse.marts.registry import build_marts
from warehouse.snapshot import Snapshot
from warehouse.staging import APPLICATION_TABLES, SOURCES

KIND_OF = {table: kind for kind, table in APPLICATION_TABLES.items()}
RESPONSES = "bot2_survey_response"


@dataclass
class Change:
    """Rows read for one table: the whole table (`whole`), or the rows changed since the watermark."""

    frame: pl.DataFrame
    whole: bool


@dataclass
class Extracted:
    counts: dict[str, int]  # source row counts, same transaction
    changes: dict[str, Change]
    safe_until: datetime  # the latest watermark this extraction may record
    prior: dict[str, pl.DataFrame] = field(default_factory=dict)  # previous versions of changed rows (staged columns)


@dataclass
class Plan:
    marts: dict[str, pl.DataFrame]  # re-derived marts
    reused: dict[str, Path]  # unchanged marts: the previous snapshot's files
    staged: dict[str, pl.DataFrame]  # the kept staged tables, current
    staged_changed: set[str]
    # per re-derived segmented mart: the segment keys of every row that entered or left it (which parts to rewrite)
    changed_keys: dict[str, pl.Series] = field(default_factory=dict)


def prior_rows(previous: Snapshot, table: str, ids: pl.Series) -> pl.DataFrame:
    """The previous snapshot's version of the rows `ids` of `table` (staged columns), from its kept staged file or,
    for a fact-backed table, read back from the fact that carries its rows."""
    if SOURCES[table].kept:
        before = read_staged(previous.staging[table])
        return before.filter(pl.col("id").is_in(ids.implode()))
    if table == RESPONSES:
        spec, key, back = c.FCT_SURVEY_RESPONSES, "response_id", responses_as_staged
    else:
        spec, key, back = c.FCT_APPLICATIONS, "application_id", applications_as_staged
    path = previous.files[spec.name]
    # Usually the changed rows are new: one column tells, before reading any whole row.
    known = read_fact(path, spec)[key] if is_remembered(path) else pl.read_parquet(path, columns=[key])[key]
    # the small side is the one imploded (polars hashes it): 40x faster than the other way round
    matched = known.filter(known.is_in(ids.implode()))
    if len(matched):
        staged = back(read_fact(path, spec).filter(pl.col(key).is_in(matched.implode())))
    else:
        empty = pl.from_arrow(spec.schema.empty_table())
        assert isinstance(empty, pl.DataFrame)
        staged = back(empty)
    return staged if table == RESPONSES else staged.filter(pl.col("kind") == KIND_OF[table])


def _real(changes: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """Changed rows minus those identical (every column) to their previous version."""
    if changes.height == 0 or before.height == 0:
        return changes
    return changes.join(before.select(changes.columns), on=changes.columns, how="anti", nulls_equal=True)


def _merge(before: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    if changes.height == 0:
        return before
    return pl.concat([before.filter(~pl.col("id").is_in(changes["id"].implode())), changes])


def _same(a: pl.DataFrame, b: pl.DataFrame) -> bool:
    return a.height == b.height and a.sort("id").equals(b.sort("id"))


def _kept_tables(previous: Snapshot, ext: Extracted) -> tuple[dict[str, pl.DataFrame], dict[str, pl.Series]]:
    """The current kept staged tables, and per table the ids that really changed (all ids when read whole)."""
    staged: dict[str, pl.DataFrame] = {}
    changed: dict[str, pl.Series] = {}
    for name, table in SOURCES.items():
        if not table.kept:
            continue
        before = read_staged(previous.staging[name])
        change = ext.changes[name]
        if change.whole:
            staged[name] = change.frame
            if not _same(before, change.frame):
                changed[name] = change.frame["id"]
            continue
        real = _real(change.frame, before)
        staged[name] = _merge(before, real)
        if real.height:
            changed[name] = real["id"]
    return staged, changed


def _closure(changed: set[str]) -> set[str]:
    """Every mart that reads, directly or through other marts, one of the changed tables."""
    rebuild: set[str] = set()
    for mart in c.BUILD_ORDER:
        if any(i in changed or i in rebuild for i in c.MARTS[mart].reads):
            rebuild.add(mart)
    return rebuild


def _as_staged(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Extracted rows of a fact-backed table in the staged columns the fact maintenance takes."""
    if table == RESPONSES:
        return frame.select(RESPONSE_STAGED)
    return application_rows(frame, KIND_OF[table])


def _fact_changes(previous: Snapshot, ext: Extracted) -> dict[str, Change]:
    """Per fact-backed table: the whole table (rows were deleted) or its really changed rows."""
    out: dict[str, Change] = {}
    for name, table in SOURCES.items():
        if table.kept:
            continue
        change = ext.changes[name]
        frame = _as_staged(name, change.frame)
        if change.whole or frame.height == 0:
            out[name] = Change(frame, change.whole)
        else:
            out[name] = Change(_real(frame, ext.prior[name]), whole=False)
    return out


def _existing(ext: Extracted, tables: list[str]) -> pl.Series:
    """Ids of changed rows that the previous snapshot already held (their prior versions were read); a table read
    whole counts as all existing."""
    ids = [ext.prior[t]["id"] for t in tables if t in ext.prior]
    ids += [ext.changes[t].frame["id"] for t in tables if ext.changes[t].whole]
    return pl.concat(ids) if ids else pl.Series("id", [], pl.String)


def plan_incremental(previous: Snapshot, ext: Extracted, tz: str) -> Plan:
    staged, changed_ids = _kept_tables(previous, ext)
    facts = _fact_changes(previous, ext)
    changed = set(changed_ids) | {name for name, ch in facts.items() if ch.whole or ch.frame.height}
    rebuild = _closure(changed)
    catalog_changed = "catalog_item" in changed_ids
    empty = pl.Series("id", [], pl.String)
    given: dict[str, pl.DataFrame] = {}
    changed_keys: dict[str, pl.Series] = {}
    if "fct_applications" in rebuild:
        changes = pl.concat([facts[table].frame for table in KIND_OF], how="vertical_relaxed")
        replaced = {KIND_OF[table] for table in KIND_OF if facts[table].whole}
        update = update_applications(
            read_fact(previous.files["fct_applications"], c.FCT_APPLICATIONS), changes, replaced,
            staged["bot1_applicant"], changed_ids.get("bot1_applicant", empty), staged["catalog_item"],
            catalog_changed, tz, _existing(ext, list(KIND_OF)),
        )  # fmt: skip
        given["fct_applications"] = update.fact
        moved = pl.concat([update.removed.select(application_key()), update.added.select(application_key())])
        changed_keys = {"fct_applications": moved.to_series()}
        if update.removed.height + update.added.height < update.fact.height // 4:
            for name, r in ROLLUPS.items():  # a few rows changed: move the rollups by their difference
                before = read_fact(previous.files[name], c.MARTS[name])
                given[name] = rollup_delta(r, before, update.added, update.removed)
    if "fct_survey_responses" in rebuild:
        given["fct_survey_responses"] = update_responses(
            read_fact(previous.files["fct_survey_responses"], c.FCT_SURVEY_RESPONSES), facts[RESPONSES].frame,
            facts[RESPONSES].whole, staged["bot2_student"], staged["bot2_roster"],
            changed_ids.get("bot2_student", empty), changed_ids.get("bot2_roster", empty), staged["catalog_item"],
            catalog_changed, tz,
        )  # fmt: skip
    for mart in rebuild:
        for dep in c.MARTS[mart].reads:
            if dep in c.MARTS and dep not in rebuild and dep not in given:
                given[dep] = read_fact(previous.files[dep], c.MARTS[dep])
    marts = build_marts(staged, tz, only=rebuild, given=given)
    reused = {name: previous.files[name] for name in c.MARTS if name not in rebuild}
    return Plan(marts, reused, staged, set(changed_ids), changed_keys)
