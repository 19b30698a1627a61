"""Reading the published snapshot: `current(settings)` and a per-process `SnapshotReader` giving DuckDB over the
current snapshot's Parquet files, reopened when `current.json` is swapped (see warehouse/contract.py)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.core.settings import Settings
from warehouse.contract import CURRENT_FILE, SNAPSHOTS_DIR, WAREHOUSE_DIR

if TYPE_CHECKING:
    import duckdb


def warehouse_dir(settings: Settings) -> Path:
    return settings.data_dir / WAREHOUSE_DIR


def current_path(settings: Settings) -> Path:
    return warehouse_dir(settings) / CURRENT_FILE


def snapshots_dir(settings: Settings) -> Path:
    return warehouse_dir(settings) / SNAPSHOTS_DIR


@dataclass(frozen=True)
class Snapshot:
    """One published build: its manifest and the absolute paths of its mart files."""

    id: str
    built_at: datetime
    watermark: dict[str, dict[str, str]]
    row_counts: dict[str, int]
    files: dict[str, Path]
    full: bool
    build_seconds: float = 0.0
    manifest: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    base: Path = Path()  # the warehouse dir the manifest's paths are relative to

    @property
    def staging(self) -> dict[str, Path]:
        """The staged tables kept with this snapshot (the warehouse's own state for the next incremental build)."""
        return {name: self.base / rel for name, rel in self.manifest.get("staging", {}).items()}

    def age_seconds(self, now: datetime | None = None) -> float:
        return ((now or datetime.now(UTC)) - self.built_at).total_seconds()

    def etag(self) -> str:
        return f'"{self.id}"'

    def duckdb(self, load: Iterable[str] = ()) -> duckdb.DuckDBPyConnection:
        """A new in-memory DuckDB connection with one view per mart (or a memory table for marts in `load`)."""
        import duckdb  # here, not at module level: a server that has not read a snapshot yet need not load it

        conn = duckdb.connect(":memory:")
        in_memory = set(load)
        for name, path in self.files.items():
            kind = "TABLE" if name in in_memory else "VIEW"
            conn.execute(f"CREATE {kind} {name} AS SELECT * FROM read_parquet('{scan(path)}')")
        return conn

    def probe(self) -> dict[str, Any]:
        """What /readyz shows: {id, built_at, age_seconds}."""
        return {"id": self.id, "built_at": self.built_at.isoformat(), "age_seconds": round(self.age_seconds(), 3)}


def _quote(path: Path | str) -> str:
    return str(path).replace("'", "''")


def parts(path: Path) -> list[Path]:
    """The Parquet files of a mart in their order: the file itself, or a segmented mart's parts by name."""
    return sorted(path.glob("*.parquet")) if path.is_dir() else [path]


def scan(path: Path) -> str:
    """What DuckDB's read_parquet takes for a mart (quoted for a SQL string literal): the file, or a glob of the
    parts (DuckDB reads globbed files in name order, so the mart keeps its sort order)."""
    return _quote(path / "*.parquet" if path.is_dir() else path)


def parse_manifest(manifest: dict[str, Any], base: Path) -> Snapshot:
    """A Snapshot from the JSON of current.json; file paths are relative to the warehouse dir `base`."""
    return Snapshot(
        id=manifest["snapshot_id"],
        built_at=datetime.fromisoformat(manifest["built_at"]),
        watermark=manifest.get("watermark", {}),
        row_counts=manifest.get("row_counts", {}),
        files={name: base / rel for name, rel in manifest.get("files", {}).items()},
        full=bool(manifest.get("full", True)),
        build_seconds=float(manifest.get("build_seconds", 0.0)),
        manifest=manifest,
        base=base,
    )


def read_current(path: Path) -> Snapshot | None:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return parse_manifest(manifest, path.parent)


def current(settings: Settings) -> Snapshot | None:
    """The published snapshot, or None before the first successful build."""
    return read_current(current_path(settings))


class SnapshotReader:
    """Per-process access to the current snapshot; cheap to call on every request (one stat of current.json)."""

    def __init__(self, settings: Settings, load: Iterable[str] = ()) -> None:
        self._path = current_path(settings)
        self._load = tuple(load)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._snapshot: Snapshot | None = None
        self._conn: duckdb.DuckDBPyConnection | None = None

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = self._path.stat()
        except FileNotFoundError:
            return None
        # os.replace gives the manifest a new inode, so (inode, mtime, size) changes on every publish
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _refresh(self) -> None:
        stamp = self._stat()
        if stamp == self._stamp and (stamp is None or self._snapshot is not None):
            return
        with self._lock:
            stamp = self._stat()
            if stamp == self._stamp:
                return
            snapshot = read_current(self._path) if stamp else None
            # The old connection is not closed: cursors handed out from it may still be answering a request;
            # it goes away with its last cursor.
            self._conn = snapshot.duckdb(self._load) if snapshot else None
            self._snapshot, self._stamp = snapshot, stamp

    def snapshot(self) -> Snapshot | None:
        self._refresh()
        return self._snapshot

    def cursor(self) -> tuple[Snapshot, duckdb.DuckDBPyConnection] | None:
        """(snapshot, a new cursor on its connection), or None before the first build."""
        self._refresh()
        with self._lock:
            if self._snapshot is None or self._conn is None:
                return None
            return self._snapshot, self._conn.cursor()
