"""`crm worker`: the scheduler only (mart builds every CRM_BUILD_EVERY, idempotency-key pruning, and the report
schedule when the reports package provides one)."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util

import click

from crm.commands.common import settings_or_exit
from crm.context import console
from warehouse.worker import AddJobs, run_worker

REPORT_JOBS = ("reports.jobs", "add_report_jobs")  # (module, function(scheduler, settings)) when present


def extra_jobs() -> list[AddJobs]:
    """The reports' scheduled jobs, if the reports package defines them."""
    module, name = REPORT_JOBS
    if importlib.util.find_spec(module) is None:
        return []
    add = getattr(importlib.import_module(module), name, None)
    return [add] if callable(add) else []


@click.command()
def worker() -> None:
    """Run the scheduler: mart builds every CRM_BUILD_EVERY seconds, one at a time across processes."""
    settings = settings_or_exit()
    console.print(f"[bold]worker[/] building the marts every {settings.build_every} s; Ctrl+C to stop")
    try:
        asyncio.run(run_worker(settings, extra=extra_jobs()))
    except KeyboardInterrupt:
        console.print("worker stopped")
