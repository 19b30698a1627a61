"""The worker: its schedule (coalesced, one instance), a build on start, and pruning of old idempotency keys."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.schema import IdempotencyRecord, utcnow
from ingest.core.settings import Settings
from tests.test_warehouse_data import hand_made
from warehouse.snapshot import current
from warehouse.worker import BUILD_JOB, PRUNE_JOB, make_scheduler, prune_job, run_worker


def test_schedule_builds_every_build_every_seconds_one_at_a_time(settings: Settings) -> None:
    added: list[str] = []
    scheduler = make_scheduler(settings, extra=[lambda s, _settings: added.append("reports")])
    build_job = scheduler.get_job(BUILD_JOB)
    assert build_job is not None and scheduler.get_job(PRUNE_JOB) is not None
    assert build_job.coalesce is True and build_job.max_instances == 1
    assert isinstance(build_job.trigger, IntervalTrigger)
    assert build_job.trigger.interval == timedelta(seconds=settings.build_every)
    assert added == ["reports"]


async def test_worker_builds_on_start(settings: Settings, session: AsyncSession) -> None:
    await hand_made(session)
    stop = asyncio.Event()
    outcome: list[JobExecutionEvent] = []

    def watch(scheduler: AsyncIOScheduler, _settings: Settings) -> None:
        def on_event(event: JobExecutionEvent) -> None:
            if event.job_id == BUILD_JOB:
                outcome.append(event)
                stop.set()

        scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    await asyncio.wait_for(run_worker(settings, extra=[watch], stop=stop), timeout=240)
    assert outcome and outcome[0].exception is None
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
