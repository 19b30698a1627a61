"""One build at a time across processes: an flock on data_dir/warehouse/build.lock (always: it guards the snapshot
folder) plus, on Postgres, a session advisory lock (guards builders on other machines sharing the database). Both
are released by the kernel / the server when the holder dies, so a killed build never leaves a stale lock. `file_lock`
is the one flock of the project: the report scheduler takes it too."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from ingest.core.settings import Settings
from warehouse.snapshot import warehouse_dir

LOCK_FILE = "build.lock"
ADVISORY_KEY = 0x77617265686F75  # "warehou": one build per database


@contextmanager
def file_lock(path: Path) -> Iterator[bool]:
    """Yields True while this process holds an exclusive flock on `path` (created with its folder), False when
    another process holds it (never waits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _advisory_lock(database_url: str) -> Iterator[bool]:
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,)).fetchone()
        acquired = bool(row and row[0])
        try:
            yield acquired
        finally:
            if acquired:
                conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_KEY,))


@contextmanager
def build_lock(settings: Settings) -> Iterator[bool]:
    """Yields True when this process may build now, False when another build holds the lock (never waits)."""
    with file_lock(warehouse_dir(settings) / LOCK_FILE) as got_file:
        if not got_file:
            yield False
            return
        if settings.is_sqlite:
            yield True
            return
        with _advisory_lock(settings.database_url) as got_db:
            yield got_db
