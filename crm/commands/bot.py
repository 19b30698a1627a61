"""`crm bot run bot1|bot2`: run a Telegram bot (long polling) against the ingestion API."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import click

from crm.commands.common import fail, settings_or_exit
from crm.context import console
from ingest.settings import read_dotenv


@click.group()
def bot() -> None:
    """Telegram bots: bot1 (admissions) and bot2 (student survey)."""


@bot.command("run")
@click.argument("name", type=click.Choice(["bot1", "bot2"]))
def run(name: str) -> None:
    """Long-poll Telegram as NAME; needs BOT_TOKEN and CRM_SERVICE_TOKEN (CRM_API_URL, TELEGRAM_API_URL optional)."""
    from bots.config import BotConfig, ConfigError
    from bots.runner import AlreadyRunning
    from bots.runner import run as run_bot

    settings = settings_or_exit()
    env = {**read_dotenv(Path(".env")), **os.environ}
    try:
        config = BotConfig.from_env(
            name, env, data_dir=settings.data_dir, redis_url=settings.redis_url, timezone=settings.timezone
        )
    except ConfigError as exc:
        fail(str(exc), "set it in the environment or .env")
        return
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    console.print(f"[bold green]{name}[/] polling Telegram; API {config.api_url}; state in {config.state_dir}")
    try:
        asyncio.run(run_bot(config))
    except AlreadyRunning as exc:
        fail(str(exc), "stop the other process first; one poller per bot token")
    except KeyboardInterrupt:
        pass
    console.print(f"{name} stopped; undelivered submissions stay in {config.state_dir / 'outbox.sqlite3'}")
