"""`crm warehouse build [--full]` and `crm warehouse status`."""

from __future__ import annotations

import json

import click
from rich.table import Table

from crm.commands.common import fail, settings_or_exit
from crm.context import console
from warehouse.build import build
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
