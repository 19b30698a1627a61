"""The worker (`crm worker`, and inside `crm up`): the mart build every `CRM_BUILD_EVERY` seconds and the hourly
pruning of idempotency keys, on APScheduler 3 (coalesce=True, max_instances=1: a late or slow build never queues
up behind itself). The build lock keeps builds one at a time across processes as well."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from ingest.core.db import Database
from ingest.core.settings import Settings
from ingest.submissions.idempotency import KEEP_DAYS, prune_idempotency
from warehouse.build import BuildResult, build

log = logging.getLogger("crm.worker")

BUILD_JOB = "warehouse-build"
PRUNE_JOB = "prune-idempotency-keys"
PRUNE_EVERY_SECONDS = 3600
AddJobs = Callable[[AsyncIOScheduler, Settings], None]


async def build_job(settings: Settings) -> BuildResult:
    """One build in a worker thread (extraction and polars release the event loop)."""
    result = await asyncio.to_thread(build, settings)
    if result.status == "published":
        kind = "full" if result.full else "incremental"
        log.info("warehouse: published %s (%s, %.2f s)", result.snapshot_id, kind, result.seconds)
    elif result.status == "skipped":
        log.info("warehouse: build skipped, another build is running")
    else:
        log.error("warehouse: build failed, nothing published: %s", result.error)
    return result


async def prune_job(settings: Settings) -> int:
    """Delete idempotency keys older than KEEP_DAYS (SPEC §4.2: kept at least 7 days)."""
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.sessionmaker() as session, session.begin():
            removed = await prune_idempotency(session, older_than_days=KEEP_DAYS)
    finally:
        await db.dispose()
    if removed:
        log.info("idempotency: pruned %d key(s) older than %d days", removed, KEEP_DAYS)
    return removed


def make_scheduler(settings: Settings, *, build_now: bool = True, extra: Iterable[AddJobs] = ()) -> AsyncIOScheduler:
    """The worker's scheduler (not started): the build job, the pruning job, and any `extra` jobs (reports)."""
    scheduler = AsyncIOScheduler(
        timezone=settings.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": settings.build_every},
    )
    now = datetime.now(UTC)
    scheduler.add_job(
        build_job,
        IntervalTrigger(seconds=settings.build_every, timezone=settings.tz),
        args=[settings],
        id=BUILD_JOB,
        name="build the marts",
        next_run_time=now if build_now else None,
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        prune_job,
        IntervalTrigger(seconds=PRUNE_EVERY_SECONDS, timezone=settings.tz),
        args=[settings],
        id=PRUNE_JOB,
        name="prune idempotency keys",
        next_run_time=now,
        coalesce=True,
        max_instances=1,
    )
    for add in extra:
        add(scheduler, settings)
    return scheduler


async def run_worker(
    settings: Settings, *, build_now: bool = True, extra: Iterable[AddJobs] = (), stop: asyncio.Event | None = None
) -> None:
    """Run the scheduler until `stop` is set (or the task is cancelled)."""
    scheduler = make_scheduler(settings, build_now=build_now, extra=extra)
    scheduler.start()
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        scheduler.shutdown(wait=False)
