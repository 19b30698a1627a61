"""The ingestion side's job for the worker (`crm/worker.py`): hourly pruning of idempotency keys older than
KEEP_DAYS (SPEC §4.2: kept at least 7 days)."""

from __future__ import annotations

import logging

from ingest.core.db import Database
from ingest.core.jobs import JobSpec
from ingest.core.settings import Settings
from ingest.submissions.idempotency import KEEP_DAYS, prune_idempotency

log = logging.getLogger("crm.worker")

PRUNE_JOB = "prune-idempotency-keys"
PRUNE_EVERY_SECONDS = 3600


async def prune_job(settings: Settings) -> int:
    """Delete idempotency keys older than KEEP_DAYS; the number deleted."""
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.sessionmaker() as session, session.begin():
            removed = await prune_idempotency(session, older_than_days=KEEP_DAYS)
    finally:
        await db.dispose()
    if removed:
        log.info("idempotency: pruned %d key(s) older than %d days", removed, KEEP_DAYS)
    return removed


def submission_jobs(_settings: Settings) -> list[JobSpec]:
    return [JobSpec(PRUNE_JOB, "prune idempotency keys", prune_job, PRUNE_EVERY_SECONDS)]
