"""`crm worker`: the scheduler only (mart builds every CRM_BUILD_EVERY, idempotency-key pruning, and the report
schedule of reports.toml)."""

from __future__ import annotations

import asyncio

import click

from crm.commands.common import settings_or_exit
from crm.context import console
from crm.worker import run_worker


@click.command()
def worker() -> None:
    """Run the scheduler: mart builds every CRM_BUILD_EVERY seconds, one at a time across processes."""
    settings = settings_or_exit()
    console.print(f"[bold]worker[/] building the marts every {settings.build_every} s; Ctrl+C to stop")
    try:
        asyncio.run(run_worker(settings))
    except KeyboardInterrupt:
        console.print("worker stopped")
