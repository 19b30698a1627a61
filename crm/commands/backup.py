"""`crm backup DEST` and `crm restore SRC` (crm/backup.py): the embedded default's database, snapshot, secret key and
bots' outboxes, copied consistently while the service runs."""

from __future__ import annotations

from pathlib import Path

import click

from crm.commands.common import fail, settings_or_exit
from crm.context import console


@click.command()
@click.argument("dest", type=click.Path(path_type=Path, file_okay=False))
def backup(dest: Path) -> None:
    """Copy the database, the published snapshot, the secret key and the bots' outboxes to DEST."""
    from crm.backup import BackupError
    from crm.backup import backup as run_backup

    settings = settings_or_exit()
    try:
        with console.status(f"Backing up to {dest}…"):
            outcome = run_backup(settings, dest)
    except BackupError as exc:
        fail(str(exc))
        return
    if outcome.database == "postgres":
        console.print(
            "[yellow]![/] the Postgres database is not in this backup: run "
            '`pg_dump -Fc -f crm.dump "$DATABASE"` beside it (README, Operations)'
        )
    rows = sum(outcome.table_rows.values())
    snapshot = outcome.snapshot_id or "none published"
    console.print(
        f"[green]✓[/] backed up to {dest}: {outcome.database} database"
        f"{f' ({rows} rows)' if outcome.database == 'sqlite' else ' skipped'}, snapshot {snapshot},"
        f" {len(outcome.files)} item(s)"
    )


@click.command()
@click.argument("src", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--force", is_flag=True, help="replace a data dir (and SQLite database) that is not empty")
def restore(src: Path, force: bool) -> None:
    """Restore a `crm backup` folder into the (empty) data dir and database."""
    from crm.backup import BackupError
    from crm.backup import restore as run_restore

    settings = settings_or_exit()
    try:
        with console.status(f"Restoring from {src}…"):
            outcome = run_restore(settings, src, force=force)
    except BackupError as exc:
        fail(str(exc), "stop the service first; `crm restore --force` replaces what is there")
        return
    rows = sum(outcome.table_rows.values())
    where = f"{outcome.database} database ({rows} rows)" if outcome.database == "sqlite" else "data dir only"
    console.print(
        f"[green]✓[/] restored {where} and snapshot {outcome.snapshot_id or 'none'} into {settings.data_dir};"
        " start with `crm up` or `crm serve`"
    )
