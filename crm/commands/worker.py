"""`crm worker`: the scheduler only (mart builds every CRM_BUILD_EVERY, idempotency-key pruning, and the report
schedule of reports.toml)."""

from __future__ import annotations

import asyncio
import logging

import click

from crm.commands.common import settings_or_exit
from crm.commands.run import refuse_unsafe_start
from crm.context import console
from crm.worker import run_worker


@click.command()
def worker() -> None:
    """Run the scheduler: mart builds every CRM_BUILD_EVERY seconds, one at a time across processes."""
    settings = settings_or_exit()
    refuse_unsafe_start(settings)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    console.print(f"[bold]worker[/] building the marts every {settings.build_every} s; Ctrl+C or SIGTERM to stop")
    # SIGTERM/SIGINT: no new job starts and a running build finishes (bounded) before the process exits.
    asyncio.run(run_worker(settings, handle_signals=True))
    console.print("worker stopped")
