"""`crm up`, `crm serve` and `crm check`."""

from __future__ import annotations

import asyncio
import sys
from functools import partial
from typing import TYPE_CHECKING

import click

from crm.commands.common import host_option, port_option, settings_or_exit
from crm.context import console, err_console
from ingest.core.settings import Settings

if TYPE_CHECKING:  # crm.checks loads with the command that runs it
    from crm.checks import Finding


def _print_demo(creds: dict[str, str]) -> None:
    from crm.demo import DEMO_USERS

    console.print("[bold]Demo logins[/]")
    for role, email in DEMO_USERS.items():
        console.print(f"  {role:<6} {email}  password: {creds[f'{role}_password']}")
    console.print("[bold]Bot service tokens[/] (X-SERVICE-TOKEN)")
    for service in ("bot1", "bot2"):
        console.print(f"  {service}  {creds[service]}", soft_wrap=True)


def _print_urls(settings: Settings, host: str, port: int) -> None:
    base = f"http://{host}:{port}"
    console.print(f"[bold green]Serving[/] {base}  ·  readiness {base}/readyz")
    if settings.openapi_public:
        console.print(f"  API docs {base}/schema  ·  OpenAPI {base}/schema/openapi.json")


def refuse_unsafe_start(settings: Settings) -> None:
    """SPEC §2: with CRM_ENV=production every check of `crm check` runs at start-up, and a finding stops the start
    (a weak key or a public API description must not go live because nobody ran `crm check`). Run after the
    migrations a command applies itself, so that a fresh database is not a finding."""
    if not settings.is_production:
        return
    from crm.checks import run_checks

    if findings := run_checks(settings):
        _print_findings(findings, settings)
        err_console.print("not starting: CRM_ENV=production and `crm check` has findings")
        sys.exit(1)


def _print_findings(findings: list[Finding], settings: Settings) -> None:
    for finding in findings:
        err_console.print(f"[bold red]✗[/] {finding.problem}  [dim]→ {finding.fix}[/]")
    err_console.print(f"{len(findings)} problem(s) found (CRM_ENV={settings.env})")


@click.command()
@click.option("--demo", is_flag=True, help="create demo users, bot tokens and mock data")
@host_option
@port_option
def up(demo: bool, host: str, port: int) -> None:
    """Everything on one machine: migrate, seed, (demo data), then serve the API."""
    # Each command imports what it runs (`crm serve` neither the worker nor the mock generator).
    from crm import server
    from crm.app import create_app
    from crm.commands.common import seed_real_catalog, upgrade_database
    from crm.commands.warehouse import build_marts_once, load_demo_data
    from crm.context import run_in_session
    from crm.demo import ensure_demo_accounts
    from crm.worker import run_worker
    from warehouse.snapshot import current

    settings = settings_or_exit()
    upgrade_database(settings)
    seed_real_catalog(settings)
    refuse_unsafe_start(settings)
    if demo:
        creds = run_in_session(settings, lambda s: ensure_demo_accounts(s, settings))
        load_demo_data(settings)
        _print_demo(creds)
    # A restart serves the snapshot it has at once and lets the worker rebuild beside the server (~1-2 s sooner
    # ready); only a data dir without one builds before serving, so /readyz never waits on the worker's first run.
    built_now = current(settings) is None
    if built_now:
        build_marts_once(settings)
    _print_urls(settings, host, port)
    worker = partial(run_worker, settings, build_now=not built_now)
    asyncio.run(server.serve_with(create_app(settings), host, port, jobs=[worker]))


@click.command()
@host_option
@port_option
@click.option("--workers", default=1, show_default=True, type=int, help="worker processes")
def serve(host: str, port: int, workers: int) -> None:
    """The HTTP API only (production: several workers behind a proxy)."""
    from crm import server

    settings = settings_or_exit()
    refuse_unsafe_start(settings)
    _print_urls(settings, host, port)
    server.serve(host, port, workers)


@click.command()
def check() -> None:
    """Validate the configuration for production; exits non-zero on any finding."""
    from crm.checks import run_checks

    settings = settings_or_exit()
    if findings := run_checks(settings):
        _print_findings(findings, settings)
        sys.exit(1)
    console.print(f"[green]✓[/] configuration OK (CRM_ENV={settings.env})")
