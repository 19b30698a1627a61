"""A bot process's configuration: its Telegram token, where the API is, its service token, where its state lives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

BotName = Literal["bot1", "bot2"]
DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_CAREER_CENTER_URL = "https://t.me/ttpu_career_center"


class ConfigError(ValueError):
    """A missing or unusable setting; the message names the variable."""


@dataclass(frozen=True)
class BotConfig:
    name: BotName
    bot_token: str
    api_url: str = DEFAULT_API_URL
    service_token: str = ""
    telegram_api_url: str | None = None
    data_dir: Path = Path("./data")
    redis_url: str | None = None
    timezone: str = "Asia/Tashkent"
    catalog_ttl: float = 900.0
    survey_campaign: str = "default"
    career_center_url: str = DEFAULT_CAREER_CENTER_URL

    @property
    def state_dir(self) -> Path:
        """Outbox, FSM file, catalog copies and the polling lock of this bot."""
        return self.data_dir / "bots" / self.name

    @classmethod
    def from_env(
        cls, name: BotName, env: Mapping[str, str], *, data_dir: Path, redis_url: str | None, timezone: str
    ) -> BotConfig:
        """Read BOT_TOKEN, CRM_API_URL, CRM_SERVICE_TOKEN, TELEGRAM_API_URL (SPEC §2) and the bot's extras.

        `BOT1_TOKEN` / `BOT1_SERVICE_TOKEN` (and BOT2_...) win when set, so one `.env` can hold both bots."""
        prefix = name.upper()
        token = (env.get(f"{prefix}_TOKEN") or env.get("BOT_TOKEN") or "").strip()
        if not token or ":" not in token:
            raise ConfigError(
                f"BOT_TOKEN (or {prefix}_TOKEN) is missing or malformed (it looks like 123456:ABC...; ask @BotFather)"
            )
        service_token = (env.get(f"{prefix}_SERVICE_TOKEN") or env.get("CRM_SERVICE_TOKEN") or "").strip()
        if not service_token:
            raise ConfigError(
                f"CRM_SERVICE_TOKEN (or {prefix}_SERVICE_TOKEN) is missing (issue one with `crm tokens issue {name}`)"
            )
        try:
            ttl = float(env.get("BOT_CATALOG_TTL") or 900)
        except ValueError as exc:
            raise ConfigError("BOT_CATALOG_TTL must be a number of seconds") from exc
        return cls(
            name=name,
            bot_token=token,
            api_url=(env.get("CRM_API_URL") or DEFAULT_API_URL).rstrip("/"),
            service_token=service_token,
            telegram_api_url=(env.get("TELEGRAM_API_URL") or "").rstrip("/") or None,
            data_dir=data_dir,
            redis_url=redis_url,
            timezone=timezone,
            catalog_ttl=ttl,
            survey_campaign=env.get("BOT2_SURVEY_CAMPAIGN") or "default",
            career_center_url=env.get("BOT2_CAREER_CENTER_URL") or DEFAULT_CAREER_CENTER_URL,
        )
