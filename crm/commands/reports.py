"""`crm reports list` and `crm reports run [NAME]`: the scheduled reports of reports.toml, run now."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click
from rich.table import Table

from crm.commands.common import fail, settings_or_exit
from crm.context import console
from ingest.core.settings import Settings
from reports.schedule.config import ConfigError, ReportsConfig, load_config, next_fire
from reports.schedule.runner import run_report
from reports.schedule.runs import RunStore


def _config() -> tuple[Settings, ReportsConfig]:
    settings = settings_or_exit()
    try:
        config = load_config(settings)
    except ConfigError as exc:
        fail(str(exc), "fix reports.toml (see reports.example.toml)")
        raise
    if not config.reports:
        where = settings.reports_file or "./reports.toml"
        fail(f"no reports configured in {where}", "copy reports.example.toml to reports.toml or set CRM_REPORTS_FILE")
    return settings, config


@click.group()
def reports() -> None:
    """Scheduled reports (reports.toml)."""


@reports.command("list")
def list_cmd() -> None:
    """The configured reports, their next scheduled time and last run."""
    settings, config = _config()
    store, now = RunStore(settings), datetime.now(UTC)
    table = Table("name", "dataset", "window", "formats", "schedule", "next run", "last run")
    for spec in config.reports:
        fire = next_fire(spec, now, settings.tz) if spec.enabled else None
        last = store.last(spec.name)
        table.add_row(
            spec.name,
            spec.dataset,
            spec.window,
            ",".join(spec.formats),
            spec.schedule if spec.enabled else f"{spec.schedule} (disabled)",
            fire.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M") if fire else "-",
            f"{last.status} {last.started_at:%Y-%m-%d %H:%M}" if last else "-",
        )
    console.print(table)


@reports.command("run")
@click.argument("name", required=False)
def run_cmd(name: str | None) -> None:
    """Run NAME (or every enabled report) now, whatever its schedule."""
    settings, config = _config()
    if name is not None:
        spec = config.get(name)
        if spec is None:
            fail(f"no report named {name!r}", f"known: {', '.join(r.name for r in config.reports)}")
        specs = [spec]
    else:
        specs = [r for r in config.reports if r.enabled]
    failed = 0
    for spec in specs:
        with console.status(f"Running {spec.name}…"):
            run = run_report(settings, spec, config, trigger="manual")
        if run.status == "succeeded":
            files = ", ".join(f.name for f in run.files)
            console.print(f"[green]✓[/] {spec.name}: {files} (run {run.id})")
        else:
            failed += 1
            console.print(f"[red]✗[/] {spec.name}: {run.error} (run {run.id})")
        for delivery in run.deliveries:
            mark = "[green]→[/]" if delivery.ok else "[yellow]![/]"
            console.print(f"    {mark} {delivery.destination}: {delivery.detail}")
    console.print(f"{len(specs) - failed} succeeded, {failed} failed")
    if failed:
        sys.exit(1)
