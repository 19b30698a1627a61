"""`crm roster import FILE`: the same roster import as `POST /admin/roster/import` (SPEC §6), from the shell."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.table import Table

from crm.commands.common import fail, settings_or_exit
from crm.context import console, run_in_session
from ingest.core.problems import ProblemError
from ingest.roster.file import read_roster_file
from ingest.roster.importer import audit_import, import_rows
from ingest.roster.limits import read_bounded
from ingest.roster.result import ImportResult


@click.group()
def roster() -> None:
    """The official student roster."""


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="validate and count, write nothing")
@click.option("--show-errors", default=20, show_default=True, help="how many row errors to print")
def roster_import(file: Path, dry_run: bool, show_errors: int) -> None:
    """Import FILE (CSV, XLSX or JSON): upsert by student id; blank cells keep stored values."""
    settings = settings_or_exit()
    started = time.perf_counter()
    try:
        with console.status(f"Reading {file.name}…"):
            table = read_roster_file(read_bounded(file), file.name)
        with console.status(f"Importing {len(table):,} rows…"):
            result = run_in_session(settings, lambda s: _import(s, table, dry_run, file.name))
    except ProblemError as exc:
        fail(exc.detail, "check the file; CSV (UTF-8 or Windows-1251), XLSX or JSON are accepted")
    _print(result, show_errors)
    verb = "would import" if dry_run else "imported"
    console.print(
        f"[green]✓[/] {verb} {file.name} in {time.perf_counter() - started:.1f} s: {result.created} created, "
        f"{result.updated} updated, {result.unchanged} unchanged, {result.skipped} skipped, "
        f"{result.error_count} errors"
    )
    if result.error_count:
        fail(f"{result.error_count} row(s) had errors and were left out", "fix them in the file and import it again")


async def _import(session, table, dry_run: bool, source: str) -> ImportResult:  # type: ignore[no-untyped-def]
    result = await import_rows(session, table, dry_run=dry_run)
    await audit_import(session, result, source=source, actor_type="system")
    return result


def _print(result: ImportResult, limit: int) -> None:
    if not result.errors or limit <= 0:
        return
    table = Table("row", "field", "problem")
    for issue in result.errors[:limit]:
        table.add_row(str(issue.row), issue.field, issue.message)
    console.print(table)
    if result.error_count > limit:
        console.print(f"… and {result.error_count - limit} more")
