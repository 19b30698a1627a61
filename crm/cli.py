"""The `crm` command line (SPEC §1). Each command group lives in `crm/commands/` and is listed here with its help
line; its module is imported only when the command runs (`crm.lazy`), so `crm --help` imports click and nothing
heavier."""

from __future__ import annotations

import click

from crm.lazy import LazyGroup

COMMANDS = {
    "up": ("crm.commands.run:up", "Everything on one machine: migrate, seed, (demo data), then serve the API."),
    "serve": ("crm.commands.run:serve", "The HTTP API only (production: several workers behind a proxy)."),
    "check": (
        "crm.commands.run:check",
        "Validate the configuration for production; exits non-zero on any finding.",
    ),
    "db": ("crm.commands.db:db", "Database migrations (Alembic)."),
    "users": ("crm.commands.accounts:users", "Dashboard users."),
    "tokens": ("crm.commands.accounts:tokens", "Service tokens for the bots (only hashes are stored)."),
    "seed": ("crm.commands.seed:seed", "Reference and synthetic data."),
    "warehouse": ("crm.commands.warehouse:warehouse", "Build and inspect the published marts."),
    "worker": (
        "crm.commands.worker:worker",
        "Run the scheduler: mart builds every CRM_BUILD_EVERY seconds, one at a time across processes.",
    ),
    "bot": ("crm.commands.bot:bot", "Telegram bots: bot1 (admissions) and bot2 (student survey)."),
    "roster": ("crm.commands.roster:roster", "The official student roster."),
    "reports": ("crm.commands.reports:reports", "Scheduled reports (reports.toml)."),
    "export": (
        "crm.commands.export:export",
        "Export DATASET (a mart, `applications` or `survey-responses`) from the published snapshot.",
    ),
    "import": ("crm.commands.import_reference:import_group", "Bring data in from another system."),
    "backup": (
        "crm.commands.backup:backup",
        "Copy the database, the published snapshot, the secret key and the bots' outboxes to DEST.",
    ),
    "restore": ("crm.commands.backup:restore", "Restore a `crm backup` folder into the (empty) data dir and database."),
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """TTPU CRM warehouse: ingestion API, marts, reports and bots."""


def main() -> None:
    cli()
