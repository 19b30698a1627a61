"""The worker (`crm worker`, and inside `crm up`; DESIGN, "The worker"): every package's jobs on one APScheduler 3
scheduler with coalesce=True and max_instances=1, so a late or slow job never queues up behind itself. Each package
declares its own jobs (`warehouse.jobs`, `ingest.submissions.jobs`, `reports.schedule.jobs`); they are gathered here
only."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Iterable
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import undefined

from ingest.core.jobs import JobSpec
from ingest.core.settings import Settings
from ingest.submissions.jobs import submission_jobs
from reports.schedule.jobs import report_jobs
from warehouse.jobs import warehouse_jobs

log = logging.getLogger("crm.worker")
SHUTDOWN_GRACE_SECONDS = 30.0  # a stopping worker lets a running build finish this long


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


class RunningJobs:
    """The jobs of a scheduler that have started and not finished, from its own events (APScheduler's executor
    cancels running coroutine jobs on shutdown, so a stopping worker waits for them first)."""

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self.count = 0
        self.idle = asyncio.Event()
        self.idle.set()
        scheduler.add_listener(self._started, EVENT_JOB_SUBMITTED)
        scheduler.add_listener(self._finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _started(self, _event: object) -> None:
        self.count += 1
        self.idle.clear()

    def _finished(self, _event: object) -> None:
        self.count = max(0, self.count - 1)
        if self.count == 0:
            self.idle.set()

    async def drain(self, grace_seconds: float) -> bool:
        """Wait up to `grace_seconds` for the running jobs; True when none is left."""
        if self.count:
            log.info("worker stopping: waiting for %d running job(s), at most %.0f s", self.count, grace_seconds)
        try:
            await asyncio.wait_for(self.idle.wait(), grace_seconds)
        except TimeoutError:
            log.error("worker stopping: %d job(s) still running after %.0f s are cancelled", self.count, grace_seconds)
            return False
        return True


async def run_scheduler(
    scheduler: AsyncIOScheduler, stop: asyncio.Event | None = None, *, grace_seconds: float = SHUTDOWN_GRACE_SECONDS
) -> None:
    """Run `scheduler` until `stop` is set (or the task is cancelled); then start no new job and let a running one
    (a build) finish, for at most `grace_seconds`."""
    running = RunningJobs(scheduler)
    scheduler.start()
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        scheduler.pause()
        await running.drain(grace_seconds)
        scheduler.shutdown(wait=False)


async def run_worker(settings: Settings, *, build_now: bool = True, handle_signals: bool = False) -> None:
    """Every job of every package until cancelled (or, with `handle_signals`, until SIGTERM or SIGINT)."""
    stop = asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    await run_scheduler(make_scheduler(settings, worker_jobs(settings, build_now=build_now)), stop)
