"""Helpers shared by the commands: loading settings with a clear failure, and the steps `crm up` repeats."""

from __future__ import annotations

import sys

import click

from crm.context import console, err_console, run_in_session
from ingest.catalog.seed import seed_catalog
from ingest.core import migrate
from ingest.core.settings import Settings, SettingsError, load_settings


def fail(message: str, hint: str = "") -> None:
    """Print what went wrong and what to do, then exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}")
    if hint:
        err_console.print(f"  [dim]→ {hint}[/]")
    sys.exit(1)


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        fail(str(exc), "fix the variable in the environment or .env")
        raise  # unreachable; keeps type checkers happy


def upgrade_database(settings: Settings) -> str | None:
    with console.status("Migrating the database…"):
        migrate.upgrade(settings.database_url)
    revision = migrate.current_revision(settings.database_url)
    console.print(f"[green]✓[/] database at migration {revision} ({_describe(settings)})")
    return revision


def seed_real_catalog(settings: Settings, deactivate_missing: bool = False) -> dict[str, int]:
    with console.status("Seeding the catalog…"):
        counts = run_in_session(settings, lambda s: seed_catalog(s, deactivate_missing=deactivate_missing))
    seeded = ", ".join(f"{n} {kind}s" for kind, n in counts.items() if kind != "deactivated")
    console.print(f"[green]✓[/] catalog seeded: {seeded}; deactivated {counts['deactivated']}")
    return counts


def _describe(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


host_option = click.option("--host", default="127.0.0.1", show_default=True, help="interface to listen on")
port_option = click.option("--port", default=8000, show_default=True, type=int, help="TCP port")
