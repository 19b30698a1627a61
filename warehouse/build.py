"""One warehouse build: lock → extract (one consistent transaction, incremental by watermark or full) → marts →
checks → publish (new snapshot folder, then the atomic swap of current.json) → prune. A failure at any step
publishes nothing and is recorded for `crm warehouse status`."""

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

from ingest.settings import Settings
from warehouse import contract as c
from warehouse.checks import ChecksFailed, check_marts
from warehouse.extract import Mark, Source, advance, open_source
from warehouse.lock import build_lock
from warehouse.marts import build_marts
from warehouse.publish import (
    STAGING_SUBDIR,
    new_snapshot_dir,
    prune,
    record_failure,
    seal,
    swap_current,
    write_mart,
    write_staged,
)
from warehouse.snapshot import Snapshot, current, warehouse_dir
from warehouse.staging import SOURCES, SourceTable

STAGING_VERSION = 1  # bump when staged columns change: the next build is then a full one
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
    return f"{now.strftime('%Y%m%dT%H%M%S')}Z-{secrets.token_hex(3)}"


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
        return "staging version changed"
    if m.get("database") != database_fingerprint(settings.database_url) or m.get("timezone") != settings.timezone:
        return "database or time zone changed"
    last_full = datetime.fromisoformat(m.get("last_full_at") or "1970-01-01T00:00:00+00:00")
    if datetime.now(UTC) - last_full > FULL_REBUILD_EVERY:
        return "periodic full rebuild"
    staged = m.get("staging", {})
    if any(not (warehouse_dir(settings) / staged.get(t, "-")).is_file() for t in SOURCES):
        return "previous staging files missing"
    return None


def _merge(previous: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    """Changed rows replace their previous version (by id); new rows are added."""
    if changes.height == 0:
        return previous
    return pl.concat([previous.filter(~pl.col("id").is_in(changes["id"].implode())), changes])


@dataclass
class Extracted:
    staged: dict[str, pl.DataFrame]
    counts: dict[str, int]
    watermark: dict[str, Mark]
    changed: dict[str, int]  # rows read per table (the whole table when read whole)
    reread: list[str]  # incremental tables read whole because rows were deleted


def _extract_table(
    src: Source, table: SourceTable, previous: pl.DataFrame | None, mark: Mark | None, count: int
) -> tuple[pl.DataFrame, int, bool]:
    """(staged table, rows read, re-read whole after a delete)."""
    if previous is None or mark is None or not table.incremental:
        frame = src.read(table)
        return frame, frame.height, False
    changes = src.read(table, since=mark)
    merged = _merge(previous, changes)
    if merged.height == count:
        return merged, changes.height, False
    # Rows were deleted since the last build (the merge keeps every old id): read the table whole.
    frame = src.read(table)
    return frame, changes.height + frame.height, True


def extract(settings: Settings, previous: Snapshot | None, incremental: bool) -> Extracted:
    base = warehouse_dir(settings)
    prev_staged: dict[str, pl.DataFrame] = {}
    marks: dict[str, Mark] = {}
    if incremental and previous is not None:
        for name, table in SOURCES.items():
            if table.incremental:
                prev_staged[name] = pl.read_parquet(base / previous.manifest["staging"][name])
                if name in previous.watermark:  # absent while the table was empty
                    marks[name] = Mark.from_json(previous.watermark[name])
    out = Extracted({}, {}, {}, {}, [])
    with open_source(settings.database_url) as src:
        out.counts = src.counts()
        for name, table in SOURCES.items():
            frame, read, reread = _extract_table(src, table, prev_staged.get(name), marks.get(name), out.counts[name])
            out.staged[name], out.changed[name] = frame, read
            if reread:
                out.reread.append(name)
            if table.incremental:
                mark = advance(marks.get(name), frame if reread or name not in marks else frame.tail(read))
                if mark is not None:
                    out.watermark[name] = mark
    return out


def _manifest(
    settings: Settings,
    snapshot_id: str,
    built_at: datetime,
    ext: Extracted,
    marts: dict[str, pl.DataFrame],
    full: bool,
    previous: Snapshot | None,
) -> dict[str, Any]:
    last_full = built_at if full else datetime.fromisoformat(previous.manifest["last_full_at"])  # type: ignore[union-attr]
    return {
        "snapshot_id": snapshot_id,
        "built_at": built_at.isoformat(),
        "full": full,
        "last_full_at": last_full.isoformat(),
        "timezone": settings.timezone,
        "database": database_fingerprint(settings.database_url),
        "staging_version": STAGING_VERSION,
        "watermark": {name: mark.to_json() for name, mark in ext.watermark.items()},
        "row_counts": {name: df.height for name, df in marts.items()},
        "source_counts": ext.counts,
        "changed_rows": ext.changed,
        "files": {name: f"{c.SNAPSHOTS_DIR}/{snapshot_id}/{name}.parquet" for name in marts},
        "staging": {name: f"{c.SNAPSHOTS_DIR}/{snapshot_id}/{STAGING_SUBDIR}/{name}.parquet" for name in ext.staged},
        "grains": {name: {"grain": c.MARTS[name].grain, "key": list(c.MARTS[name].key)} for name in marts},
    }


def _write(tmp: Path, marts: dict[str, pl.DataFrame], staged: dict[str, pl.DataFrame]) -> None:
    for index, (name, df) in enumerate(marts.items()):
        write_mart(df, c.MARTS[name], tmp / f"{name}.parquet")
        if index == len(marts) // 2:
            hold("mid_write")
    for name, df in staged.items():
        write_staged(df, tmp / STAGING_SUBDIR / f"{name}.parquet")


def _run(settings: Settings, full: bool) -> BuildResult:
    timer = Timer()
    previous = current(settings)
    reason = _full_reason(settings, previous, full)
    ext = extract(settings, previous, incremental=reason is None)
    timer.lap("extract")
    hold("after_extract")
    marts = build_marts(ext.staged, settings.timezone)
    timer.lap("marts")
    failures = check_marts(marts, ext.counts)
    timer.lap("checks")
    if failures:
        raise ChecksFailed(failures)
    built_at = datetime.now(UTC)
    snapshot_id = new_snapshot_id(built_at)
    tmp = new_snapshot_dir(settings, snapshot_id)
    _write(tmp, marts, ext.staged)
    seal(tmp)
    timer.lap("write")
    hold("before_publish")
    manifest = _manifest(settings, snapshot_id, built_at, ext, marts, reason is not None, previous)
    manifest["full_reason"] = reason
    manifest["timings"] = timer.laps
    manifest["build_seconds"] = round(sum(timer.laps.values()), 4)
    swap_current(settings, manifest)
    timer.lap("publish")
    prune(settings, snapshot_id)
    timer.lap("prune")
    return BuildResult(
        "published",
        snapshot_id=snapshot_id,
        full=reason is not None,
        seconds=round(sum(timer.laps.values()), 4),
        row_counts=manifest["row_counts"],
        timings=timer.laps,
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
