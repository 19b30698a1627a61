"""What a bot's handlers need, built once per process and handed to them by the Dispatcher as `deps`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from bots.api_client import ApiClient
from bots.catalog_cache import CatalogCache
from bots.config import BotConfig
from bots.delivery import Sender
from bots.outbox import Outbox


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    config: BotConfig
    api: ApiClient
    catalog: CatalogCache
    outbox: Outbox
    sender: Sender
    utcnow: Callable[[], datetime] = field(default=_utcnow)
    tidy_prompts: bool = False  # delete the previous question when asking the next (the bot's BotSpec decides)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.timezone)

    def now(self) -> datetime:
        """Local time of the university (dates and opening hours are local)."""
        return self.utcnow().astimezone(self.tz)

    def today(self) -> date:
        return self.now().date()
