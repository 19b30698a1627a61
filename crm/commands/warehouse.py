"""`crm warehouse build [--full]`, `crm warehouse status`, and the warehouse steps of `crm up` (the `small` mock
data set for `--demo`, once; one build before serving)."""

from __future__ import annotations

import json

import click
from rich.table import Table

from crm.commands.common import fail, settings_or_exit
from crm.context import console
from ingest.core.settings import Settings
from warehouse.build import build
from warehouse.seed.mock import seed_mock
from warehouse.status import warehouse_status


@click.group()
def warehouse() -> None:
    """Build and inspect the published marts."""


@warehouse.command("build")
@click.option("--full", is_flag=True, help="read every table whole instead of only rows changed since the last build")
def build_cmd(full: bool) -> None:
    """Build the marts now, check them and publish a new snapshot."""
    settings = settings_or_exit()
    with console.status("Building the marts…"):
        result = build(settings, full=full)
    if result.status == "skipped":
        console.print("[yellow]skipped:[/] another build is running (it will publish its own snapshot)")
        return
    if result.status == "failed":
        for failure in result.failures:
            console.print(f"  [red]✗[/] {failure['mart']}: {failure['check']}: {failure['detail']}")
        fail(f"build failed, nothing published: {result.error}", "see `crm warehouse status`; fix the data or code")
    kind = "full" if result.full else "incremental"
    rows = sum(result.row_counts.values())
    console.print(f"[green]✓[/] published snapshot {result.snapshot_id} ({kind}, {rows} rows, {result.seconds:.2f} s)")


@warehouse.command("status")
@click.option("--json", "as_json", is_flag=True, help="print the status as JSON")
def status_cmd(as_json: bool) -> None:
    """Show the published snapshot, its row counts and watermark, and the last failed build."""
    status = warehouse_status(settings_or_exit())
    if as_json:
        click.echo(json.dumps(status, indent=2))
        return
    snap, failure = status["snapshot"], status["last_failure"]
    if snap is None:
        console.print("no snapshot published yet: run `crm warehouse build`")
    else:
        kind = "full" if snap["full"] else "incremental"
        console.print(f"[bold]snapshot[/] {snap['id']}  built {snap['built_at']} ({snap['age_seconds']:.0f} s ago)")
        console.print(f"  {kind} build in {snap['build_seconds']:.2f} s; last full build {snap['last_full_at']}")
        table = Table("mart", "rows")
        for name, n in snap["row_counts"].items():
            table.add_row(name, str(n))
        console.print(table)
    if failure:
        console.print(f"[red]last failure[/] {failure['at']}: {failure['error']}")


DEMO_SCALE, DEMO_SEED = "small", 1


def load_demo_data(settings: Settings) -> None:
    with console.status("Loading demo data…"):
        result = seed_mock(settings.database_url, DEMO_SCALE, DEMO_SEED, timezone=settings.timezone)
    if result.loaded:
        console.print(f"[green]✓[/] demo data loaded ({sum(result.counts.values())} rows, {DEMO_SCALE} scale)")
    else:
        console.print("[green]✓[/] demo data already loaded")


def build_marts_once(settings: Settings) -> None:
    with console.status("Building the marts…"):
        result = build(settings)
    if result.status == "published":
        console.print(f"[green]✓[/] marts published: snapshot {result.snapshot_id} ({result.seconds:.1f} s)")
    elif result.status == "skipped":
        console.print("[yellow]![/] marts: another build is running; serving its snapshot when it lands")
    else:
        console.print(f"[red]✗[/] marts not built: {result.error} (serving the previous snapshot, if any)")
