"""`crm seed catalog` (and, from the warehouse, `crm seed mock`)."""

from __future__ import annotations

import click

from crm.commands.common import seed_real_catalog, settings_or_exit


@click.group()
def seed() -> None:
    """Reference and synthetic data."""


@seed.command("catalog")
@click.option("--deactivate-missing", is_flag=True, help="retire items of the seeded types that are not in the seed")
def seed_catalog_cmd(deactivate_missing: bool) -> None:
    """Directions, regions, tracks, subjects and programs with uz/ru/en names (idempotent)."""
    seed_real_catalog(settings_or_exit(), deactivate_missing)
