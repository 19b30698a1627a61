"""The warehouse's job for the worker (`crm/worker.py`): the mart build every `CRM_BUILD_EVERY` seconds. The build
lock keeps builds one at a time across processes as well."""

from __future__ import annotations

import asyncio
import logging

from ingest.core.jobs import JobSpec
from ingest.core.settings import Settings
from warehouse.build import BuildResult, build

log = logging.getLogger("crm.worker")

BUILD_JOB = "warehouse-build"


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


def warehouse_jobs(settings: Settings, *, build_now: bool = True) -> list[JobSpec]:
    """The build; `build_now=False` when the caller has just built (`crm up`), so the first run waits an interval."""
    return [JobSpec(BUILD_JOB, "build the marts", build_job, settings.build_every, start_now=build_now)]
