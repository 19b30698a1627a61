"""Updates being handled, so a stopping bot finishes them: on SIGTERM aiogram stops polling (no new update is
fetched) but leaves the handlers it started running; the runner waits for them, bounded, before it closes the
outbox and the bot's session under them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

log = logging.getLogger("bots.runner")
STOP_GRACE_SECONDS = 30.0


class InFlight(BaseMiddleware):
    """An outer update middleware counting the updates in its handlers."""

    def __init__(self) -> None:
        self.count = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self.count += 1
        self.idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.count -= 1
            if self.count == 0:
                self.idle.set()

    async def wait_idle(self, grace_seconds: float = STOP_GRACE_SECONDS) -> bool:
        """Wait up to `grace_seconds` for the updates being handled; True when none is left."""
        if self.count:
            log.info("stopping: finishing %d update(s) in hand", self.count)
        try:
            await asyncio.wait_for(self.idle.wait(), grace_seconds)
        except TimeoutError:
            log.error("stopping: %d update(s) still in hand after %.0f s", self.count, grace_seconds)
            return False
        return True
