"""`crm bot run bot1|bot2`: run a Telegram bot (long polling) against the ingestion API."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import click

from crm.commands.common import fail, settings_or_exit
from crm.context import console
from ingest.core.settings import read_dotenv


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


def _state_dir(name: str) -> Path:
    return settings_or_exit().data_dir / "bots" / name


@bot.command("status")
@click.argument("name", type=click.Choice(["bot1", "bot2"]))
@click.option(
    "--prometheus",
    "textfile",
    type=click.Path(path_type=Path, dir_okay=False),
    help="also write the counts to FILE for node_exporter's textfile collector",
)
def status(name: str, textfile: Path | None) -> None:
    """What the bot's outbox holds: queued, refused (dead letters) and delivered submissions (no personal data)."""
    from bots.outbox import Outbox

    async def show() -> None:
        outbox = await Outbox.open(_state_dir(name) / "outbox.sqlite3")
        try:
            pending, dead, delivered = (
                await outbox.pending(),
                await outbox.dead_letters(),
                await outbox.delivered_count(),
            )
        finally:
            await outbox.close()
        for item in pending:
            console.print(f"  queued  {item.ref}  {item.kind}  attempts {item.attempts}")
        for letter in dead:
            problem = letter.problem
            console.print(
                f"  refused {letter.key[:8].upper()}  {letter.kind}  {letter.status} {problem.get('code', '')}"
                f" {problem.get('field') or ''}"
            )
        console.print(f"{name}: {len(pending)} queued, {len(dead)} refused, {delivered} delivered")
        if textfile is not None:
            from crm.metrics import write_outbox_textfile

            write_outbox_textfile(textfile, name, queued=len(pending), dead=len(dead), delivered=delivered)

    asyncio.run(show())


@bot.command("requeue")
@click.argument("name", type=click.Choice(["bot1", "bot2"]))
@click.argument("refs", nargs=-1)
def requeue(name: str, refs: tuple[str, ...]) -> None:
    """Send refused submissions again (all, or the given references) once the cause is fixed on the server."""
    from bots.outbox import Outbox

    async def move() -> int:
        outbox = await Outbox.open(_state_dir(name) / "outbox.sqlite3")
        try:
            return await outbox.requeue_dead(list(refs) or None)
        finally:
            await outbox.close()

    moved = asyncio.run(move())
    console.print(f"{name}: {moved} submission(s) queued again; the running bot sends them within minutes")
