"""The record of report runs: a small SQLite file under `CRM_DATA_DIR/reports/` (not the operational database, which
reports never write), with each run's status, window, snapshot, files, deliveries and error, and the schedule's
"checked up to" mark per report."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import msgspec

from ingest.core.settings import Settings

RunStatus = Literal["running", "succeeded", "failed"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    report TEXT NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
    started_at TEXT NOT NULL,
    finished_at TEXT,
    window_from TEXT,
    window_to TEXT,
    snapshot_id TEXT,
    directory TEXT,
    files TEXT NOT NULL DEFAULT '[]',
    deliveries TEXT NOT NULL DEFAULT '[]',
    error TEXT
);
CREATE INDEX IF NOT EXISTS runs_report_started ON runs (report, started_at);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_at);
CREATE TABLE IF NOT EXISTS schedule_state (report TEXT PRIMARY KEY, checked_at TEXT NOT NULL);
"""


class RunFile(msgspec.Struct):
    name: str
    format: str
    bytes: int


class Delivery(msgspec.Struct, omit_defaults=True):
    destination: str
    ok: bool
    detail: str = ""


class Run(msgspec.Struct):
    id: str
    report: str
    trigger: str
    status: RunStatus
    started_at: datetime
    finished_at: datetime | None
    window_from: datetime | None
    window_to: datetime | None
    snapshot_id: str | None
    files: list[RunFile]
    deliveries: list[Delivery]
    error: str | None
    directory: str | None = None


def runs_dir(settings: Settings) -> Path:
    return settings.data_dir / "reports"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class RunStore:
    """Runs and schedule marks in `CRM_DATA_DIR/reports/runs.sqlite3`; each call opens a short connection, so the
    store is safe from any thread or process (SQLite serialises the writers)."""

    def __init__(self, settings: Settings) -> None:
        self.path = runs_dir(settings) / "runs.sqlite3"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            conn.row_factory = sqlite3.Row
            yield conn
        finally:
            conn.close()

    def start(self, report: str, trigger: str, window_from: datetime | None, window_to: datetime | None) -> Run:
        run = Run(
            id=str(uuid.uuid4()),
            report=report,
            trigger=trigger,
            status="running",
            started_at=datetime.now(UTC),
            finished_at=None,
            window_from=window_from,
            window_to=window_to,
            snapshot_id=None,
            files=[],
            deliveries=[],
            error=None,
        )
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO runs (id, report, trigger, status, started_at, window_from, window_to) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run.id, report, trigger, run.status, _iso(run.started_at), _iso(window_from), _iso(window_to)),
            )
        return run

    def finish(self, run: Run) -> Run:
        run.finished_at = datetime.now(UTC)
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, snapshot_id = ?, directory = ?, files = ?, "
                "deliveries = ?, error = ? WHERE id = ?",
                (
                    run.status,
                    _iso(run.finished_at),
                    run.snapshot_id,
                    run.directory,
                    msgspec.json.encode(run.files).decode(),
                    msgspec.json.encode(run.deliveries).decode(),
                    run.error,
                    run.id,
                ),
            )
        return run

    def get(self, run_id: str) -> Run | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _run(row) if row else None

    def list(
        self, *, report: str | None = None, status: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[int, list[Run]]:
        where, params = [], []
        if report:
            where.append("report = ?")
            params.append(report)
        if status:
            where.append("status = ?")
            params.append(status)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        with self._connect() as conn:
            count = conn.execute(f"SELECT count(*) FROM runs{clause}", params).fetchone()[0]
            rows = conn.execute(
                f"SELECT * FROM runs{clause} ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
        return int(count), [_run(r) for r in rows]

    def count_by_status(self) -> dict[str, int]:
        """Runs per status (for /metrics); nothing when no report ever ran."""
        if not self.path.exists():
            return {}
        with self._connect() as conn:
            return {row[0]: row[1] for row in conn.execute("SELECT status, count(*) FROM runs GROUP BY status")}

    def last(self, report: str) -> Run | None:
        _, runs = self.list(report=report, limit=1)
        return runs[0] if runs else None

    def checked_at(self, report: str) -> datetime | None:
        with self._connect() as conn:
            row = conn.execute("SELECT checked_at FROM schedule_state WHERE report = ?", (report,)).fetchone()
        return _dt(row[0]) if row else None

    def set_checked(self, report: str, at: datetime) -> None:
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO schedule_state (report, checked_at) VALUES (?, ?) "
                "ON CONFLICT (report) DO UPDATE SET checked_at = excluded.checked_at",
                (report, _iso(at)),
            )


def _run(row: sqlite3.Row) -> Run:
    data: dict[str, Any] = dict(row)
    return Run(
        id=data["id"],
        report=data["report"],
        trigger=data["trigger"],
        status=data["status"],
        started_at=_dt(data["started_at"]),  # type: ignore[arg-type]
        finished_at=_dt(data["finished_at"]),
        window_from=_dt(data["window_from"]),
        window_to=_dt(data["window_to"]),
        snapshot_id=data["snapshot_id"],
        files=msgspec.convert(json.loads(data["files"]), list[RunFile]),
        deliveries=msgspec.convert(json.loads(data["deliveries"]), list[Delivery]),
        error=data["error"],
        directory=data["directory"],
    )
