"""`crm import reference SOURCE_URL [--dry-run]` (issue 14): a reference database moved into the operational store,
with a progress bar per table, every refused row with its reason, and a one-line summary (docs/reference-import.md)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from crm.commands.common import fail, settings_or_exit, upgrade_database
from crm.context import console
from crm.reference_import import run
from crm.reference_import.source import SourceError


@click.group("import")
def import_group() -> None:
    """Bring data in from another system."""


class _Bars(run.Progress):
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}

    def start(self, table: str, total: int) -> None:
        self.tasks[table] = self.progress.add_task(table, total=max(total, 1), completed=0 if total else 1)

    def advance(self, table: str, rows: int) -> None:
        self.progress.advance(self.tasks[table], rows)


@import_group.command("reference")
@click.argument("source_url")
@click.option("--dry-run", is_flag=True, help="read, map and count everything; write nothing")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path), help="write the full report here")
def reference(source_url: str, dry_run: bool, json_out: Path | None) -> None:
    """Move the reference database at SOURCE_URL (postgresql://... or a SQLite file) into CRM_DATABASE_URL."""
    settings = settings_or_exit()
    started = time.perf_counter()
    if not dry_run:
        upgrade_database(settings)  # the import moves into an up-to-date schema, as `crm up` would make it
    columns = (TextColumn("{task.description:<24}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as bars:
            report = run.run_import(source_url, settings.database_url, dry_run=dry_run, progress=_Bars(bars))
    except SourceError as exc:
        fail(str(exc), "give a reference Postgres URL or the path of its db.sqlite3")
    _print_counts(report)
    _print_merged(report)
    _print_refused(report)
    if json_out:
        json_out.write_text(json.dumps(run.as_dict(report), indent=2, default=str))
    # Refused rows are reported, not a failure: exit 0 (docs/reference-import.md); the mark shows they exist.
    mark = "[yellow]![/]" if any(r.refused.height for r in report.tables) else "[green]✓[/]"
    console.print(f"{mark} {run.summary_line(report)} in {time.perf_counter() - started:.1f} s")


def _print_counts(report: run.ImportReport) -> None:
    table = Table("reference table", "our table", "read", "inserted", "updated", "unchanged", "merged", "refused")
    for r in report.tables:
        cells = (r.read, r.inserted, r.updated, r.unchanged, r.merged, r.refused.height)
        table.add_row(r.source, r.table, *(f"{n:,}" for n in cells))
    console.print(table)
    for r in report.tables:
        for note, n in sorted(r.notes.items()):
            console.print(f"  {r.table}: {n:,} × {note}")
    for name, n in report.counted_only.items():
        console.print(f"  {name}: {n:,} rows not moved (the reference's JWTs are not valid here)")


def _print_merged(report: run.ImportReport) -> None:
    merged = [(r.table, *row) for r in report.tables for row in r.merges.select("id", "into", "reason").iter_rows()]
    if not merged:
        return
    table = Table("table", "id", "merged into", "because", title="merged rows")
    for row in merged:
        table.add_row(*row)
    console.print(table)


def _print_refused(report: run.ImportReport) -> None:
    refused = [(r.table, row["id"], row["reason"]) for r in report.tables for row in r.refused.iter_rows(named=True)]
    if not refused:
        return
    table = Table("table", "reference id", "refused because", title="refused rows")
    for row in refused:
        table.add_row(*row)
    console.print(table)
