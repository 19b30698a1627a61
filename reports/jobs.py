"""The reports' job for the worker's scheduler (`crm worker` and `crm up` look for `add_report_jobs` here): every
minute, run the scheduled reports whose time has come."""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ingest.core.settings import Settings
from reports.runner import run_due_reports

REPORTS_JOB = "reports-due"
CHECK_EVERY_SECONDS = 60


def add_report_jobs(scheduler: AsyncIOScheduler, settings: Settings) -> None:
    """Register the report schedule with the worker's scheduler (coalesced, one at a time, like its other jobs)."""
    scheduler.add_job(
        run_due_reports,
        IntervalTrigger(seconds=CHECK_EVERY_SECONDS, timezone=settings.tz),
        args=[settings],
        id=REPORTS_JOB,
        name="run due reports",
        next_run_time=datetime.now(UTC),
    )
