"""Running scheduled reports: one run writes every format of its dataset for its window into
`CRM_DATA_DIR/<folder>/<run id>/`, sends the files to Telegram when configured, and is recorded (a failed run with
its error). `run_due_reports` is what the worker calls every minute; `crm reports run` calls `run_report`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import anyio.to_thread

from ingest.core.problems import ProblemError
from ingest.core.settings import Settings
from reports.exports.datasets import Dataset, Filters, dataset_of
from reports.exports.routes import write_export
from reports.schedule.config import ConfigError, ReportsConfig, ReportSpec, load_config, next_fire
from reports.schedule.relative_windows import relative_window
from reports.schedule.runs import Delivery, Run, RunFile, RunStore, runs_dir
from reports.schedule.telegram import TelegramError, bot_token, send_document
from warehouse.lock import file_lock
from warehouse.snapshot import current

log = logging.getLogger("crm.reports")

SCHEDULE_LOCK = ".schedule.lock"


def _filters(spec: ReportSpec, settings: Settings, now: datetime) -> Filters:
    f = spec.filters
    return Filters(relative_window(spec.window, now, settings.tz), f.campaign, f.kind, f.status, f.lang or "en")


def _deliver(run: Run, spec: ReportSpec, config: ReportsConfig, settings: Settings, dataset: Dataset) -> None:
    if spec.telegram_chat_id is None:
        return
    token = bot_token(config.telegram)
    if token is None:
        run.deliveries.append(Delivery("telegram", False, f"skipped: {config.telegram.token_env} is not set"))
        return
    directory = settings.data_dir / (run.directory or "")
    for file in run.files:
        caption = f"{spec.name}: {dataset.name} ({file.format})"
        try:
            send_document(config.telegram, token, spec.telegram_chat_id, directory / file.name, caption)
        except TelegramError as exc:
            run.deliveries.append(Delivery("telegram", False, f"{file.name}: {exc}"))
            raise
        run.deliveries.append(Delivery("telegram", True, file.name))


def run_report(
    settings: Settings, spec: ReportSpec, config: ReportsConfig, *, trigger: str = "manual", now: datetime | None = None
) -> Run:
    """Run one report now and record it; never raises for a report failure (the run says `failed` and why)."""
    now = now or datetime.now(UTC)
    store = RunStore(settings)
    filters = _filters(spec, settings, now)
    run = store.start(spec.name, trigger, filters.window.start, filters.window.end)
    try:
        dataset = dataset_of(spec.dataset)
        snapshot = current(settings)
        if snapshot is None:
            raise RuntimeError("no warehouse snapshot is published yet; run `crm warehouse build`")
        run.snapshot_id = snapshot.id
        relative = spec.relative_folder / run.id
        directory = settings.data_dir / relative
        directory.mkdir(parents=True, exist_ok=True)
        run.directory = str(relative)
        for fmt in dict.fromkeys(spec.formats):
            path, _ = write_export(settings, dataset, filters, fmt, directory, snapshot=snapshot)
            run.files.append(RunFile(path.name, fmt, path.stat().st_size))
        _deliver(run, spec, config, settings, dataset)
        run.status = "succeeded"
    except Exception as exc:  # a report failure is data (the run record), not a crash of the worker
        run.status = "failed"
        run.error = exc.detail if isinstance(exc, ProblemError) else f"{type(exc).__name__}: {exc}"
        log.warning("report run failed", extra={"report": spec.name, "run": run.id, "error": run.error})
    return store.finish(run)


def due_reports(settings: Settings, config: ReportsConfig, now: datetime) -> list[ReportSpec]:
    """Reports with a scheduled time in (last check, now]; several missed times make one run. A report seen for
    the first time starts counting from now (no catch-up of its past)."""
    store = RunStore(settings)
    due = []
    for spec in config.reports:
        if not spec.enabled:
            continue
        checked = store.checked_at(spec.name)
        if checked is not None:
            fire = next_fire(spec, checked, settings.tz)
            if fire is not None and fire <= now:
                due.append(spec)
        store.set_checked(spec.name, now)
    return due


def run_due_sync(settings: Settings, now: datetime | None = None) -> list[Run]:
    now = now or datetime.now(UTC)
    try:
        config = load_config(settings)
    except ConfigError as exc:
        # a broken reports.toml must not stop the worker's other jobs; it is reported every minute until fixed
        log.error("reports: %s", exc)
        return []
    if not config.reports:
        return []
    # One scheduler pass at a time across processes: two workers never run the same report twice.
    with file_lock(runs_dir(settings) / SCHEDULE_LOCK) as acquired:
        if not acquired:
            return []
        return [
            run_report(settings, spec, config, trigger="schedule", now=now)
            for spec in due_reports(settings, config, now)
        ]


async def run_due_reports(settings: Settings, now: datetime | None = None) -> list[Run]:
    """The worker's job: run every report whose time has come (call it every minute; work happens in a thread)."""
    return await anyio.to_thread.run_sync(run_due_sync, settings, now)
