"""One warehouse build: lock → extract (one consistent transaction, incremental by watermark or full) → marts →
checks → publish (new snapshot folder, then the atomic swap of current.json) → prune. A failure at any step
publishes nothing and is recorded for `crm warehouse status`.

A full build reads every table whole and derives every mart. An incremental build reads only rows changed since
the previous snapshot's watermark, maintains the two big facts in place (warehouse/incremental/), re-derives the
marts whose inputs changed and hard-links the others' files from the previous snapshot."""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import polars as pl
from sqlalchemy.engine import make_url

from ingest.core.settings import Settings
from warehouse import contract as c
from warehouse.checks import ChecksFailed, check_marts
from warehouse.extract import Mark, Source, advance, capped, open_source
from warehouse.incremental.memory import forget, remember, start_from
from warehouse.incremental.plan import Change, Extracted, plan_incremental, prior_rows
from warehouse.lock import build_lock
from warehouse.marts.registry import build_marts
from warehouse.publish import (
    STAGING_SUBDIR,
    Segments,
    link_or_copy,
    new_snapshot_dir,
    prune,
    record_failure,
    seal,
    swap_current,
    write_mart,
    write_segmented,
    write_staged,
)
from warehouse.snapshot import Snapshot, current, warehouse_dir
from warehouse.staging import SOURCES

STAGING_VERSION = 4  # bump when staged columns or mart layouts change: the next build is then a full one
FULL_REBUILD_EVERY = timedelta(hours=24)
HOLD_ENV = "CRM_WAREHOUSE_TEST_HOLD"  # test hook: a phase name at which the build pauses (see hold())

Status = Literal["published", "skipped", "failed"]


@dataclass
class BuildResult:
    status: Status
    snapshot_id: str | None = None
    full: bool = False
    seconds: float = 0.0
    row_counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    rebuilt: list[str] = field(default_factory=list)
    error: str | None = None
    failures: list[dict[str, str]] = field(default_factory=list)


def hold(phase: str) -> None:
    """Test hook: when CRM_WAREHOUSE_TEST_HOLD names this phase, say so on stdout and wait for a line on stdin.

    Lets a test stop a build at an exact point (to SIGKILL it, or to start a competing build) without sleeping."""
    if os.environ.get(HOLD_ENV) == phase:
        print(f"warehouse-hold {phase}", flush=True)
        sys.stdin.readline()


def database_fingerprint(database_url: str) -> str:
    """Identifies the source database in the manifest (no password), so a changed URL forces a full build."""
    rendered = make_url(database_url).render_as_string(hide_password=True)
    return hashlib.sha256(rendered.encode()).hexdigest()[:16]


def new_snapshot_id(now: datetime) -> str:
    """Sortable by build time to the microsecond: publishing tells an unpublished leftover from the snapshot it
    replaced by this order, so two builds within one second must not sort by their random suffix."""
    return f"{now.strftime('%Y%m%dT%H%M%S.%f')}Z-{secrets.token_hex(3)}"


class Timer:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._t, 4)
        self._t = now


def _full_reason(settings: Settings, previous: Snapshot | None, full: bool) -> str | None:
    """Why this build must read every table whole, or None when it can be incremental."""
    if full:
        return "requested"
    if previous is None:
        return "no previous snapshot"
    m = previous.manifest
    if m.get("staging_version") != STAGING_VERSION:
        return "warehouse version changed"
    if m.get("database") != database_fingerprint(settings.database_url) or m.get("timezone") != settings.timezone:
        return "database or time zone changed"
    last_full = datetime.fromisoformat(m.get("last_full_at") or "1970-01-01T00:00:00+00:00")
    if datetime.now(UTC) - last_full > FULL_REBUILD_EVERY:
        return "periodic full rebuild"
    files = [*m.get("staging", {}).values(), *m.get("files", {}).values()]
    if len(files) < len(c.MARTS) or any(not (warehouse_dir(settings) / f).exists() for f in files):
        return "previous snapshot files missing"
    return None


def _extract_full(src: Source) -> Extracted:
    counts = src.counts()
    staged = {name: src.read(table) for name, table in SOURCES.items()}
    changes = {name: Change(frame, whole=True) for name, frame in staged.items()}
    return Extracted(counts, changes, src.safe_until())


def _extract_changes(src: Source, previous: Snapshot) -> Extracted:
    """Changed rows of every incremental table; a table with deleted rows (its count does not add up) is read
    whole. Small tables are always read whole."""
    out = Extracted(src.counts(), {}, src.safe_until())
    for name, table in SOURCES.items():
        if not table.incremental or name not in previous.watermark:
            out.changes[name] = Change(src.read(table), whole=True)
            continue
        frame = src.read(table, since=Mark.from_json(previous.watermark[name]))
        prior = prior_rows(previous, name, frame["id"]) if frame.height else None
        new_rows = frame.height - (prior.height if prior is not None else 0)
        if previous.manifest["source_counts"][name] + new_rows != out.counts[name]:
            out.changes[name] = Change(src.read(table), whole=True)
            continue
        out.changes[name] = Change(frame, whole=False)
        if prior is not None:
            out.prior[name] = prior
    return out


def _watermark(previous: Snapshot | None, ext: Extracted) -> dict[str, Mark]:
    marks: dict[str, Mark] = {}
    for name, table in SOURCES.items():
        if not table.incremental:
            continue
        change = ext.changes[name]
        before = (
            None if change.whole or previous is None or name not in previous.watermark else previous.watermark[name]
        )
        mark = capped(advance(Mark.from_json(before) if before else None, change.frame), ext.safe_until)
        if mark is not None:
            marks[name] = mark
    return marks


def _manifest(
    settings: Settings, snapshot_id: str, built_at: datetime, ext: Extracted, row_counts: dict[str, int],
    full: bool, previous: Snapshot | None, kept: list[str], segments: dict[str, Segments],
) -> dict[str, Any]:  # fmt: skip
    last_full = built_at if full or previous is None else datetime.fromisoformat(previous.manifest["last_full_at"])
    return {
        "snapshot_id": snapshot_id,
        "built_at": built_at.isoformat(),
        "full": full,
        "last_full_at": last_full.isoformat(),
        "timezone": settings.timezone,
        "database": database_fingerprint(settings.database_url),
        "staging_version": STAGING_VERSION,
        "watermark": {name: mark.to_json() for name, mark in _watermark(previous, ext).items()},
        "row_counts": row_counts,
        "source_counts": ext.counts,
        "changed_rows": {name: ch.frame.height for name, ch in ext.changes.items()},
        "files": {name: f"{c.SNAPSHOTS_DIR}/{snapshot_id}/{mart_file(name)}" for name in c.MARTS},
        "segments": {name: s.to_json() for name, s in segments.items()},
        "staging": {name: f"{c.SNAPSHOTS_DIR}/{snapshot_id}/{STAGING_SUBDIR}/{name}.parquet" for name in kept},
        "grains": {name: {"grain": spec.grain, "key": list(spec.key)} for name, spec in c.MARTS.items()},
    }


def mart_file(name: str) -> str:
    """A mart's file name in the snapshot folder: a segmented mart is a folder of parts."""
    return name if c.MARTS[name].segmented else f"{name}.parquet"


def _write_marts(
    tmp: Path, marts: dict[str, pl.DataFrame], reused: dict[str, Path], previous: Snapshot | None,
    changed_keys: dict[str, pl.Series],
) -> dict[str, Segments]:  # fmt: skip
    """Every mart into the new snapshot folder: written, or linked from the previous snapshot. Returns where the
    segmented marts are cut."""
    recorded = previous.manifest.get("segments", {}) if previous else {}
    before = {name: Segments.from_json(s) for name, s in recorded.items()}
    segments: dict[str, Segments] = {}
    for index, (name, df) in enumerate(marts.items()):
        if c.MARTS[name].segmented:
            prior = (previous.files[name], before[name]) if previous is not None and name in before else None
            segments[name] = write_segmented(df, c.MARTS[name], tmp / mart_file(name), prior, changed_keys.get(name))
        else:
            write_mart(df, c.MARTS[name], tmp / mart_file(name))
        if index == len(marts) // 2:
            hold("mid_write")
    for name, path in reused.items():
        link_or_copy(path, tmp / mart_file(name))
        if c.MARTS[name].segmented:
            segments[name] = before[name]
    return segments


def _run(settings: Settings, full: bool) -> BuildResult:
    timer = Timer()
    previous = current(settings)
    start_from(previous.id if previous else None)
    reason = _full_reason(settings, previous, full)
    with open_source(settings.database_url) as src:
        ext = _extract_full(src) if reason or previous is None else _extract_changes(src, previous)
    timer.lap("extract")
    hold("after_extract")
    if reason or previous is None:
        staged = {name: ch.frame for name, ch in ext.changes.items()}
        marts, reused, staged_changed = build_marts(staged, settings.timezone), {}, set(staged)
        changed_keys = {}
    else:
        plan = plan_incremental(previous, ext, settings.timezone)
        marts, reused, staged, staged_changed = plan.marts, plan.reused, plan.staged, plan.staged_changed
        changed_keys = plan.changed_keys
    timer.lap("marts")
    failures = check_marts(marts, ext.counts, reused)
    timer.lap("checks")
    if failures:
        raise ChecksFailed(failures)
    built_at = datetime.now(UTC)
    snapshot_id = new_snapshot_id(built_at)
    tmp = new_snapshot_dir(settings, snapshot_id)
    segments = _write_marts(tmp, marts, reused, previous, changed_keys)
    kept = [name for name, table in SOURCES.items() if table.kept]
    for name in kept:
        target = tmp / STAGING_SUBDIR / f"{name}.parquet"
        if name in staged_changed or previous is None:
            write_staged(staged[name], target)
        else:
            link_or_copy(warehouse_dir(settings) / previous.manifest["staging"][name], target)
    seal(tmp)
    timer.lap("write")
    hold("before_publish")
    row_counts = {name: df.height for name, df in marts.items()}
    row_counts |= {name: previous.row_counts[name] for name in reused} if previous else {}
    row_counts = {name: row_counts[name] for name in c.MARTS}
    is_full = reason is not None
    manifest = _manifest(settings, snapshot_id, built_at, ext, row_counts, is_full, previous, kept, segments)
    manifest |= {"full_reason": reason, "rebuilt": list(marts), "timings": timer.laps}
    manifest["build_seconds"] = round(sum(timer.laps.values()), 4)
    swap_current(settings, manifest, before_rename=lambda: hold("mid_swap"))
    sealed = tmp.with_name(snapshot_id)
    files = {name: sealed / mart_file(name) for name in c.MARTS}
    files |= {name: sealed / STAGING_SUBDIR / f"{name}.parquet" for name in kept}
    remember(
        snapshot_id, files, marts | {name: staged[name] for name in kept if name in staged_changed or previous is None}
    )
    timer.lap("publish")
    prune(settings, snapshot_id, previous.id if previous else None)
    timer.lap("prune")
    return BuildResult(
        "published",
        snapshot_id=snapshot_id,
        full=is_full,
        seconds=round(sum(timer.laps.values()), 4),
        row_counts=row_counts,
        timings=timer.laps,
        rebuilt=list(marts),
    )


def build(settings: Settings, full: bool = False) -> BuildResult:
    """Build and publish the marts now, unless another build holds the lock (then status `skipped`)."""
    with build_lock(settings) as acquired:
        if not acquired:
            return BuildResult("skipped", error="another build is running")
        started = time.perf_counter()
        try:
            return _run(settings, full)
        except Exception as exc:
            forget()
            failures = exc.failures if isinstance(exc, ChecksFailed) else []
            result = BuildResult(
                "failed",
                full=full,
                seconds=round(time.perf_counter() - started, 4),
                error=f"{type(exc).__name__}: {exc}",
                failures=[f.to_json() for f in failures],
            )
            record_failure(
                settings,
                {
                    "at": datetime.now(UTC).isoformat(),
                    "error": result.error,
                    "failures": result.failures,
                    "traceback": "" if failures else traceback.format_exc(limit=8),
                },
            )
            return result
