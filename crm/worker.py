"""The worker (`crm worker`, and inside `crm up`; DESIGN, "The worker"): every package's jobs on one APScheduler 3
scheduler with coalesce=True and max_instances=1, so a late or slow job never queues up behind itself. Each package
declares its own jobs (`warehouse.jobs`, `ingest.submissions.jobs`, `reports.schedule.jobs`); they are gathered here
only."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import undefined

from ingest.core.jobs import JobSpec
from ingest.core.settings import Settings
from ingest.submissions.jobs import submission_jobs
from reports.schedule.jobs import report_jobs
from warehouse.jobs import warehouse_jobs


def worker_jobs(settings: Settings, *, build_now: bool = True) -> list[JobSpec]:
    """The mart build, idempotency-key pruning and the report schedule."""
    return [*warehouse_jobs(settings, build_now=build_now), *submission_jobs(settings), *report_jobs(settings)]


def make_scheduler(settings: Settings, jobs: Iterable[JobSpec]) -> AsyncIOScheduler:
    """A scheduler (not started) running `jobs`."""
    scheduler = AsyncIOScheduler(
        timezone=settings.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": settings.build_every},
    )
    now = datetime.now(UTC)
    for job in jobs:
        scheduler.add_job(
            job.run,
            IntervalTrigger(seconds=job.every_seconds, timezone=settings.tz),
            args=[settings],
            id=job.id,
            name=job.name,
            # APScheduler reads an explicit next_run_time=None as "paused": leave it undefined to wait an interval.
            next_run_time=now if job.start_now else undefined,
        )
    return scheduler


async def run_scheduler(scheduler: AsyncIOScheduler, stop: asyncio.Event | None = None) -> None:
    """Run `scheduler` until `stop` is set (or the task is cancelled)."""
    scheduler.start()
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        scheduler.shutdown(wait=False)


async def run_worker(settings: Settings, *, build_now: bool = True) -> None:
    """Every job of every package until cancelled."""
    await run_scheduler(make_scheduler(settings, worker_jobs(settings, build_now=build_now)))
