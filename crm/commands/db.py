"""`crm db upgrade|current`."""

from __future__ import annotations

import click

from crm.commands.common import settings_or_exit, upgrade_database
from crm.context import console
from ingest.core import migrate


@click.group()
def db() -> None:
    """Database migrations (Alembic)."""


@db.command()
def upgrade() -> None:
    """Create or upgrade the operational database to the latest migration."""
    upgrade_database(settings_or_exit())


@db.command()
def current() -> None:
    """Show the database's migration revision and the code's head."""
    settings = settings_or_exit()
    revision, head = migrate.current_revision(settings.database_url), migrate.head_revision()
    state = "[green]up to date[/]" if revision == head else "[yellow]behind: run `crm db upgrade`[/]"
    console.print(f"current {revision or '(empty)'} · head {head} · {state}")
