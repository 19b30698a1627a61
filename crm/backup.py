"""`crm backup DEST` / `crm restore SRC`: what one machine on the embedded default needs to come back, copied safely
while the service runs.

- the SQLite database through SQLite's online backup API (one consistent copy while writers go on; copying the file
  and its WAL by hand is not);
- the published snapshot (current.json and the folder it names, staging included, so the next build can stay
  incremental);
- the secret key (or every issued login would stop working), the bots' SQLite state (outboxes: submissions not yet
  delivered) and the report runs' record, again through the backup API.

On Postgres the database is left to `pg_dump -Fc` / `pg_restore` (README, Operations); the rest is backed up alike.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from ingest.core.settings import SECRET_KEY_FILE, Settings
from warehouse.snapshot import current_path, warehouse_dir

MANIFEST = "backup.json"
DATABASE_FILE = "crm.sqlite3"
DATA_SUBDIR = "data"  # the data dir's files, under the same relative paths
BOTS_SUBDIR = "bots"


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says what to do."""


@dataclass
class Outcome:
    database: str  # "sqlite" (copied), "postgres" (not copied: pg_dump)
    snapshot_id: str | None
    files: list[str] = field(default_factory=list)
    table_rows: dict[str, int] = field(default_factory=dict)


def sqlite_path(settings: Settings) -> Path | None:
    """The database file of a SQLite URL; None on Postgres."""
    if not settings.is_sqlite:
        return None
    database = make_url(settings.database_url).database
    if not database or database == ":memory:":
        raise BackupError("CRM_DATABASE_URL names an in-memory SQLite database: there is nothing to back up")
    return Path(database)


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (readers and writers of `source` carry on meanwhile)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst)  # all pages in one step: one read transaction, so one point in time
    finally:
        dst.close()
        src.close()


def table_rows(path: Path) -> dict[str, int]:
    """Rows per table of a SQLite file (for the manifest, and for checking a restore)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        ]
        return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in sorted(names)}
    finally:
        conn.close()


def _is_empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def _state_databases(data_dir: Path) -> list[Path]:
    """The bots' SQLite files (outbox, conversation state) and the report runs' record (its "checked up to" marks
    keep a restored scheduler from running every report again)."""
    found = sorted(p for p in (data_dir / BOTS_SUBDIR).rglob("*.sqlite3") if p.is_file())
    runs = data_dir / "reports" / "runs.sqlite3"
    return [*found, runs] if runs.is_file() else found


def backup(settings: Settings, dest: Path) -> Outcome:
    """Write a backup folder at `dest` (which must not exist or be empty)."""
    if not _is_empty(dest):
        raise BackupError(f"{dest} is not empty: give a new folder")
    data_dir = settings.data_dir
    out = dest / DATA_SUBDIR
    out.mkdir(parents=True)
    db_file = sqlite_path(settings)
    outcome = Outcome(database="sqlite" if db_file else "postgres", snapshot_id=None)
    if db_file is not None:
        if not db_file.is_file():
            raise BackupError(f"no database at {db_file}: run `crm db upgrade` (or `crm up`) first")
        copy_sqlite(db_file, dest / DATABASE_FILE)
        outcome.files.append(DATABASE_FILE)
        outcome.table_rows = table_rows(dest / DATABASE_FILE)

    secret = data_dir / SECRET_KEY_FILE
    if secret.is_file():
        _copy_file(secret, out / SECRET_KEY_FILE)
        outcome.files.append(f"{DATA_SUBDIR}/{SECRET_KEY_FILE}")

    # The manifest is read once: the snapshot it names is the one copied, even if a build swaps current.json now.
    current = current_path(settings)
    if current.is_file():
        manifest_bytes = current.read_bytes()
        manifest = json.loads(manifest_bytes)
        base = warehouse_dir(settings)
        for folder in sorted(_snapshot_folders(manifest)):
            shutil.copytree(base / folder, out / base.relative_to(data_dir) / folder)
            outcome.files.append(f"{DATA_SUBDIR}/{(base / folder).relative_to(data_dir)}/")
        target = out / current.relative_to(data_dir)
        target.write_bytes(manifest_bytes)  # last: a restored current.json never names missing files
        outcome.files.append(f"{DATA_SUBDIR}/{current.relative_to(data_dir)}")
        outcome.snapshot_id = manifest.get("snapshot_id")

    for path in _state_databases(data_dir):
        rel = path.relative_to(data_dir)
        copy_sqlite(path, out / rel)
        outcome.files.append(f"{DATA_SUBDIR}/{rel}")

    record = {
        "created_at": datetime.now(UTC).isoformat(),
        "database": outcome.database,
        "snapshot_id": outcome.snapshot_id,
        "files": outcome.files,
        "table_rows": outcome.table_rows,
    }
    (dest / MANIFEST).write_text(json.dumps(record, indent=2), encoding="utf-8")
    return outcome


def _snapshot_folders(manifest: dict[str, Any]) -> set[Path]:
    """The folders (relative to the warehouse dir) holding the snapshot's files: `snapshots/<id>`."""
    return {Path(*Path(rel).parts[:2]) for rel in manifest.get("files", {}).values()}


def _copy_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def read_manifest(src: Path) -> dict[str, Any]:
    try:
        return json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{src} holds no {MANIFEST}: is it a `crm backup` folder?") from None


def restore(settings: Settings, src: Path, *, force: bool = False) -> Outcome:
    """Put the backup at `src` in place: the data dir must be empty (and the SQLite file absent) unless `force`."""
    record = read_manifest(src)
    data_dir = settings.data_dir
    db_file = sqlite_path(settings)
    if record["database"] == "sqlite" and db_file is None:
        raise BackupError("this backup holds a SQLite database but CRM_DATABASE_URL is Postgres: restore on SQLite")
    if not force:
        taken = [str(p) for p in (data_dir, db_file) if p is not None and not _is_empty(p)]
        if taken:
            raise BackupError(f"{' and '.join(taken)} not empty: restore into an empty data dir, or pass --force")
    if force and data_dir.exists():
        for child in data_dir.iterdir():
            if db_file is not None and child.resolve() == db_file.resolve():
                continue
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    data_dir.mkdir(parents=True, exist_ok=True)
    outcome = Outcome(database=record["database"], snapshot_id=record.get("snapshot_id"))
    if record["database"] == "sqlite" and db_file is not None:
        for stale in (db_file, db_file.with_name(db_file.name + "-wal"), db_file.with_name(db_file.name + "-shm")):
            stale.unlink(missing_ok=True)
        copy_sqlite(src / DATABASE_FILE, db_file)
        outcome.table_rows = table_rows(db_file)
    shutil.copytree(src / DATA_SUBDIR, data_dir, dirs_exist_ok=True)
    outcome.files = list(record.get("files", []))
    return outcome
