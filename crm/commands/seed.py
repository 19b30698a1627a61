"""`crm seed catalog` (and, from the warehouse, `crm seed mock`)."""

from __future__ import annotations

import click

from crm.lazy import LazyGroup

MOCK_HELP = "Synthetic applicants, applications, roster, students and survey responses (idempotent per scale and seed)."


# `crm seed catalog` should not import the mock generator (polars) it does not use.
@click.group(cls=LazyGroup, lazy={"mock": ("crm.commands.mock:mock", MOCK_HELP)})
def seed() -> None:
    """Reference and synthetic data."""


@seed.command("catalog")
@click.option("--deactivate-missing", is_flag=True, help="retire items of the seeded types that are not in the seed")
def seed_catalog_cmd(deactivate_missing: bool) -> None:
    """Directions, regions, tracks, subjects and programs with uz/ru/en names (idempotent)."""
    from crm.commands.common import seed_real_catalog, settings_or_exit

    seed_real_catalog(settings_or_exit(), deactivate_missing)
