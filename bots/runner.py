"""`crm bot run bot1|bot2`: long polling with one instance per bot token (a lock file), the outbox sender beside
it, and the Bot API server taken from TELEGRAM_API_URL when set (self-hosted or fake servers)."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError

from bots.api_client import ApiClient
from bots.bot1.bot import BOT1
from bots.bot2.bot import BOT2
from bots.catalog_cache import CatalogCache
from bots.config import BotConfig
from bots.delivery import Sender
from bots.deps import Deps
from bots.dispatcher import BotSpec, build_dispatcher
from bots.fsm_storage import open_storage
from bots.inflight import InFlight
from bots.navigation import publish_commands
from bots.outbox import Outbox

log = logging.getLogger(__name__)

BOTS: dict[str, BotSpec] = {"bot1": BOT1, "bot2": BOT2}  # by `BotConfig.name`


class AlreadyRunning(RuntimeError):
    """Another process polls with the same bot token (two pollers would steal each other's updates)."""


@contextlib.contextmanager
def polling_lock(path: Path) -> Iterator[None]:
    """An exclusive, non-blocking flock held for the life of the process (released by the OS if it dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            raise AlreadyRunning(
                f"another process (pid {holder or '?'}) is already polling with this bot token"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def lock_path(config: BotConfig) -> Path:
    bot_id = config.bot_token.split(":", 1)[0]
    return config.data_dir / "bots" / f"polling-{bot_id}.lock"


def host_lock_path(config: BotConfig) -> Path:
    """The same lock outside the data dir, so two data dirs on one host cannot both poll one token."""
    digest = hashlib.sha256(config.bot_token.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"crm-bot-{digest}.lock"


def make_bot(config: BotConfig) -> Bot:
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(config.telegram_api_url))
        if config.telegram_api_url
        else AiohttpSession()
    )
    return Bot(config.bot_token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


async def run(config: BotConfig) -> None:
    """Poll until interrupted (SIGINT/SIGTERM); the outbox keeps whatever is not yet delivered."""
    with polling_lock(lock_path(config)), polling_lock(host_lock_path(config)):
        bot = make_bot(config)
        api = ApiClient(config.api_url, config.service_token)
        outbox = await Outbox.open(config.state_dir / "outbox.sqlite3")
        storage = await open_storage(config.state_dir / "fsm.sqlite3", config.redis_url)
        spec = BOTS[config.name]
        sender = Sender(outbox, api, notify=spec.notifier(bot))
        deps = Deps(config, api, CatalogCache(api, config.state_dir, ttl=config.catalog_ttl), outbox, sender)
        dp = build_dispatcher(spec, deps, storage)
        in_flight = InFlight()
        dp.update.outer_middleware(in_flight)
        try:
            await publish_commands(bot)
        except TelegramAPIError as exc:  # cosmetic: the bot works without its command menu
            log.warning("could not publish the command menu: %s", exc)
        sender_task = asyncio.create_task(sender.run(), name="outbox-sender")
        pending = len(await outbox.pending())
        log.info("%s polling (outbox: %d queued)", config.name, pending)
        try:
            # SIGTERM/SIGINT stop the polling; the updates in hand finish (they may still answer the user) first.
            await dp.start_polling(bot, allowed_updates=dp.resolve_used_update_types(), close_bot_session=False)
            await in_flight.wait_idle()
        finally:
            await bot.session.close()
            sender_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender_task
            await storage.close()
            await outbox.close()
            await api.aclose()
