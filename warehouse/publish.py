"""Publishing: Parquet files into a new snapshot folder, then an atomic `os.replace` of current.json; pruning of
old snapshots after a grace period; the record of the last failed build."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from ingest.core.settings import Settings
from warehouse import contract as c
from warehouse.marts.frames import is_categorical
from warehouse.marts.registry import DEFINITIONS
from warehouse.snapshot import current_path, parts, snapshots_dir, warehouse_dir

STAGING_SUBDIR = "stg"
TMP_SUFFIX = ".tmp"
FAILURE_FILE = "last_failure.json"
GRACE_SECONDS = 900  # readers may hold views over a replaced snapshot this long (a request, a streamed export)
KEEP_PREVIOUS = 2  # and the newest few old snapshots are kept whatever their age
ROW_GROUP_ROWS = 128 * 1024  # fct tables are sorted, so row-group statistics let DuckDB skip most of a window


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: dict[str, Any], before_rename: Callable[[], None] | None = None) -> None:
    """Write to a temporary file, fsync, then rename over `path`: readers see the old or the new file, never half.
    A process killed before the rename leaves `.<name>.<pid>.tmp`, which the next build's `prune` removes."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    if before_rename is not None:
        before_rename()
    os.replace(tmp, path)
    _fsync_dir(path.parent)


# Columns worth min/max statistics: what readers filter windows and partitions on.
STATISTICS = frozenset({"submitted_at", "submitted_date", "kind", "survey_campaign", "dimension", "campaign"})


def write_mart(df: pl.DataFrame, spec: c.Mart, path: Path) -> None:
    """The mart as Parquet. Categorical columns are written dictionary-encoded straight from their codes; without
    an embedded Arrow schema, every reader sees the contract's plain types (string, int16, timestamp[us, UTC]...)."""
    table = df.to_arrow()
    dictionary = [name for name in spec.columns if is_categorical(spec, name)]
    stats = [name for name in spec.columns if name in STATISTICS]
    pq.write_table(
        table,
        path,
        compression="zstd",
        store_schema=False,
        use_dictionary=dictionary or False,
        write_statistics=stats or False,
        row_group_size=ROW_GROUP_ROWS,
    )


# --- segmented marts (Mart.segmented): a folder of parts, each one range of the sort key --------------------------

PART_ROWS = ROW_GROUP_ROWS  # rows per part when a build cuts a segmented mart (one row group each)
PART_ROWS_ENV = "CRM_WAREHOUSE_PART_ROWS"  # overrides PART_ROWS (tests use small parts to get many of them)
REGROW = 4  # a part grown beyond REGROW * part rows by incremental builds makes the build cut the mart afresh


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


@dataclass(frozen=True)
class Segments:
    """Where a segmented mart is cut: part i holds the rows with cuts[i-1] <= key < cuts[i] (len(cuts) + 1 parts,
    some possibly empty); `rows` counts each part's rows."""

    cuts: list[int]
    rows: list[int]

    def to_json(self) -> dict[str, list[int]]:
        return {"cuts": self.cuts, "rows": self.rows}

    @classmethod
    def from_json(cls, data: dict[str, list[int]]) -> Segments:
        return cls(list(data["cuts"]), list(data["rows"]))


def part_rows() -> int:
    return int(os.environ.get(PART_ROWS_ENV) or PART_ROWS)


def cut(keys: pl.Series, every: int) -> list[int]:
    """Cuts every `every` rows of the ascending `keys` (rows with equal keys stay in one part)."""
    picks = keys.gather(list(range(every, len(keys), every))).unique().sort()
    return [int(k) for k in picks if k > keys[0]]


def _slices(keys: pl.Series, cuts: list[int]) -> list[tuple[int, int]]:
    """(offset, rows) of every part."""
    at = [0, *keys.search_sorted(pl.Series(cuts, dtype=pl.Int64), side="left").to_list(), len(keys)]
    return [(start, end - start) for start, end in pairwise(at)]


def write_segmented(
    df: pl.DataFrame, spec: c.Mart, folder: Path, previous: tuple[Path, Segments] | None, changed: pl.Series | None
) -> Segments:
    """Write the mart (sorted by its segment key) as parts into `folder`. Given the previous snapshot's folder and
    cuts and the keys of every row that entered or left the mart since (`changed`: old and new keys), only the parts
    those keys fall in are written; the others are hard links of the previous parts (same rows: no changed key falls
    in their range, and each part is sorted exactly). Otherwise, or when a part has grown too big, it is cut afresh."""
    folder.mkdir()
    segment_key = DEFINITIONS[spec.name].segment_key
    assert segment_key is not None
    keys = df.select(segment_key()).to_series()
    every = part_rows()
    touched: set[int] | None = None
    if previous is not None and changed is not None:
        cuts = previous[1].cuts
        slices = _slices(keys, cuts)
        if max(n for _, n in slices) <= REGROW * every:
            touched = set(pl.Series(cuts, dtype=pl.Int64).search_sorted(changed, side="right").to_list())
            touched |= {i for i, (_, n) in enumerate(slices) if n != previous[1].rows[i]}  # belt and braces
    if touched is None:
        cuts = cut(keys, every)
        slices = _slices(keys, cuts)
    for i, (start, n) in enumerate(slices):
        target = folder / part_name(i)
        if touched is None or i in touched:
            write_mart(df.slice(start, n), spec, target)
        else:
            assert previous is not None
            link_or_copy(previous[0] / part_name(i), target)
    return Segments(cuts, [n for _, n in slices])


def write_staged(df: pl.DataFrame, path: Path) -> None:
    df.write_parquet(path, compression="lz4", statistics=False)


def link_or_copy(source: Path, target: Path) -> None:
    """An unchanged file (or folder of parts) of the previous snapshot: hard links (no copy, no extra space) where
    possible."""
    if source.is_dir():
        target.mkdir()
        for part in parts(source):
            link_or_copy(part, target / part.name)
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def new_snapshot_dir(settings: Settings, snapshot_id: str) -> Path:
    """The temporary folder a build writes into; renamed to snapshots/<id> once every file is written."""
    tmp = snapshots_dir(settings) / f"{snapshot_id}{TMP_SUFFIX}"
    (tmp / STAGING_SUBDIR).mkdir(parents=True)
    return tmp


def seal(tmp: Path) -> Path:
    """fsync every file and rename the temporary folder to its final name."""
    for path in tmp.rglob("*"):
        fd = os.open(path, os.O_RDONLY)  # files, and folders (their entries)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    final = tmp.with_name(tmp.name.removesuffix(TMP_SUFFIX))
    os.replace(tmp, final)
    _fsync_dir(final.parent)
    return final


def swap_current(settings: Settings, manifest: dict[str, Any], before_rename: Callable[[], None] | None = None) -> None:
    """The commit point of a build: after this rename every reader sees the new snapshot."""
    write_json_atomic(current_path(settings), manifest, before_rename)


def record_failure(settings: Settings, failure: dict[str, Any]) -> None:
    warehouse_dir(settings).mkdir(parents=True, exist_ok=True)
    write_json_atomic(warehouse_dir(settings) / FAILURE_FILE, failure)


def last_failure(settings: Settings) -> dict[str, Any] | None:
    try:
        return json.loads((warehouse_dir(settings) / FAILURE_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def prune(
    settings: Settings, current_id: str, published_before: str | None, grace_seconds: float = GRACE_SECONDS
) -> list[str]:
    """Remove what dead builds left and snapshots replaced more than `grace_seconds` ago (keeping a few).

    Runs under the build lock, so every leftover belongs to a build that is no longer running: temporary folders
    and files (a build killed while writing, or between writing current.json's temporary file and the rename),
    and sealed folders newer than `published_before` (the snapshot that was current when this build started)
    other than `current_id`: sealed by a build that died before publishing them, so never seen by a reader."""
    root = snapshots_dir(settings)
    if not root.is_dir():
        return []
    removed = []
    leftovers = [p for p in root.iterdir() if p.name.endswith(TMP_SUFFIX)]
    leftovers += [p for p in warehouse_dir(settings).glob(f".*{TMP_SUFFIX}") if p.is_file()]
    leftovers += [
        p
        for p in root.iterdir()
        if p.is_dir() and p.name != current_id and (published_before is None or p.name > published_before)
    ]
    for path in leftovers:
        _remove(path)
        removed.append(path.name)
    # newest first (ids sort by build time); a snapshot was replaced when the next newer one was sealed
    sealed = sorted((p for p in root.iterdir() if p.is_dir()), reverse=True)
    sealed_at = [p.stat().st_mtime for p in sealed]
    now = time.time()
    for index in range(KEEP_PREVIOUS + 1, len(sealed)):
        path = sealed[index]
        if path.name != current_id and now - sealed_at[index - 1] > grace_seconds:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed
