"""Delivering report files to a Telegram chat through the Bot API's `sendDocument` (base URL configurable, so a
self-hosted or fake Bot API server can stand in)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from reports.schedule.config import DEFAULT_TELEGRAM_API, TelegramConfig

TELEGRAM_FILE_LIMIT = 50 * 1024 * 1024  # the Bot API's upload limit for documents


class TelegramError(RuntimeError):
    """The Bot API refused or could not be reached; the message says why (never the token)."""


def bot_token(config: TelegramConfig) -> str | None:
    return os.environ.get(config.token_env) or None


def api_url(config: TelegramConfig) -> str:
    return (config.api_url or os.environ.get("TELEGRAM_API_URL") or DEFAULT_TELEGRAM_API).rstrip("/")


def send_document(config: TelegramConfig, token: str, chat_id: str | int, path: Path, caption: str) -> None:
    size = path.stat().st_size
    if size > TELEGRAM_FILE_LIMIT:
        raise TelegramError(f"{path.name} is {size / 2**20:.1f} MiB; the Bot API accepts at most 50 MiB")
    url = f"{api_url(config)}/bot{token}/sendDocument"
    try:
        with path.open("rb") as fh:
            response = httpx.post(
                url,
                data={"chat_id": str(chat_id), "caption": caption[:1024]},
                files={"document": (path.name, fh)},
                timeout=httpx.Timeout(60.0, connect=10.0),
            )
    except httpx.HTTPError as exc:
        raise TelegramError(f"Bot API unreachable: {type(exc).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not body.get("ok"):
        description = body.get("description") or response.reason_phrase
        raise TelegramError(f"Bot API answered {response.status_code}: {description}")
