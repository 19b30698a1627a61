"""`crm seed mock --scale small|medium|large|xlarge [--seed N]`: deterministic synthetic data (warehouse/seed/)."""

from __future__ import annotations

from datetime import date

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from crm.commands.common import fail, seed_real_catalog, settings_or_exit
from crm.context import console
from warehouse.seed.mock import SCALES, MockError, seed_mock


@click.command("mock")
@click.option("--scale", type=click.Choice(SCALES), default="small", show_default=True, help="data set size")
@click.option("--seed", "seed_", type=click.IntRange(0, 9999), default=1, show_default=True, help="random seed")
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="last local day of the data (default: today); fix it for byte-identical data on another day",
)
def mock(scale: str, seed_: int, until: object) -> None:
    """Synthetic applicants, applications, roster, students and survey responses (idempotent per scale and seed)."""
    settings = settings_or_exit()
    seed_real_catalog(settings)
    anchor: date | None = until.date() if until is not None else None  # type: ignore[attr-defined]
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} rows"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"Loading {scale} mock data…", total=None)
        try:
            result = seed_mock(
                settings.database_url,
                scale,
                seed_,
                timezone=settings.timezone,
                anchor=anchor,
                progress=lambda _table, n: bar.advance(task, n),
            )
        except MockError as exc:
            fail(str(exc))
            return
    if not result.loaded:
        console.print(f"[green]✓[/] {scale} mock data (seed {seed_}) is already loaded; nothing changed")
        return
    rows = sum(result.counts.values())
    console.print(f"[green]✓[/] loaded {scale} mock data (seed {seed_}): {rows:,} rows in {result.seconds:.1f} s")
    for table, n in result.counts.items():
        console.print(f"  {table:<24} {n:>10,}")
