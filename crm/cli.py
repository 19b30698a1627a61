"""The `crm` command line (SPEC §1). Each command group lives in `crm/commands/`; later features register theirs
here the same way."""

from __future__ import annotations

import click

from crm.commands import accounts, bot, db, mock, run, seed
from crm.commands.export import export
from crm.commands.import_reference import import_group
from crm.commands.reports import reports
from crm.commands.roster import roster
from crm.commands.warehouse import warehouse
from crm.commands.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """TTPU CRM warehouse: ingestion API, marts, reports and bots."""


cli.add_command(run.up)
cli.add_command(run.serve)
cli.add_command(run.check)
cli.add_command(db.db)
cli.add_command(accounts.users)
cli.add_command(accounts.tokens)
cli.add_command(seed.seed)
seed.seed.add_command(mock.mock)
cli.add_command(warehouse)
cli.add_command(worker)
cli.add_command(bot.bot)
cli.add_command(roster)
cli.add_command(reports)
cli.add_command(export)
cli.add_command(import_group)


def main() -> None:
    cli()
