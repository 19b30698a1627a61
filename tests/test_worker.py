"""The worker: every package's jobs on one schedule (coalesced, one instance), a build on start (or one interval
later under `crm up`, never paused), and pruning of old idempotency keys."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.worker import make_scheduler, run_scheduler, worker_jobs
from ingest.core.schema import IdempotencyRecord, utcnow
from ingest.core.settings import Settings
from ingest.submissions.jobs import PRUNE_JOB, prune_job
from reports.schedule.jobs import REPORTS_JOB
from tests.test_warehouse_data import hand_made
from warehouse.jobs import BUILD_JOB, warehouse_jobs
from warehouse.snapshot import current


async def test_schedule_gathers_every_packages_jobs_one_at_a_time(settings: Settings) -> None:
    scheduler = make_scheduler(settings, worker_jobs(settings))
    scheduler.start(paused=True)  # jobs take the scheduler's defaults when it starts
    try:
        assert {job.id for job in scheduler.get_jobs()} == {BUILD_JOB, PRUNE_JOB, REPORTS_JOB}
        assert all(job.coalesce is True and job.max_instances == 1 for job in scheduler.get_jobs())
        build_job = scheduler.get_job(BUILD_JOB)
        assert isinstance(build_job.trigger, IntervalTrigger)
        assert build_job.trigger.interval == timedelta(seconds=settings.build_every)
    finally:
        scheduler.shutdown(wait=False)


async def test_under_crm_up_the_first_build_waits_an_interval_and_is_not_paused(settings: Settings) -> None:
    scheduler = make_scheduler(settings, worker_jobs(settings, build_now=False))
    scheduler.start(paused=True)
    try:
        build, prune = scheduler.get_job(BUILD_JOB), scheduler.get_job(PRUNE_JOB)
        assert build.next_run_time is not None, "the build job was added paused: crm up would never rebuild"
        assert build.next_run_time - prune.next_run_time >= timedelta(seconds=settings.build_every - 1)
    finally:
        scheduler.shutdown(wait=False)


async def test_worker_builds_on_start(settings: Settings, session: AsyncSession) -> None:
    await hand_made(session)
    stop = asyncio.Event()
    outcome: list[JobExecutionEvent] = []

    def on_event(event: JobExecutionEvent) -> None:
        outcome.append(event)
        stop.set()

    scheduler = make_scheduler(settings, warehouse_jobs(settings))
    scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    await asyncio.wait_for(run_scheduler(scheduler, stop), timeout=240)
    assert outcome and outcome[0].job_id == BUILD_JOB and outcome[0].exception is None
    assert outcome[0].retval.status == "published"
    snap = current(settings)
    assert snap is not None and snap.row_counts["fct_applications"] == 7


async def test_prune_removes_keys_older_than_seven_days(settings: Settings, session: AsyncSession) -> None:
    now = utcnow()
    for key, age in (("old", timedelta(days=8)), ("recent", timedelta(days=6))):
        session.add(
            IdempotencyRecord(
                id=uuid.uuid4(), service="bot1", key=key, request_hash="0" * 64, created_at=now - age, updated_at=now
            )
        )
    await session.commit()
    assert await prune_job(settings) == 1
    keys = (await session.execute(select(IdempotencyRecord.key))).scalars().all()
    assert keys == ["recent"]
    assert await session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1
