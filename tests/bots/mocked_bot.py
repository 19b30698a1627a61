"""A Bot whose session records every Bot API call and answers it like Telegram would (modelled on aiogram's own
tests/mocked_bot.py), so updates can be fed through the real Dispatcher with no network."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageReplyMarkup,
    GetMe,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import Chat, InlineKeyboardMarkup, Message, User


class RecordingSession(BaseSession):
    """Records calls; sendMessage and editMessageReplyMarkup get a Message back, everything else True."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TelegramMethod[Any]] = []
        self._ids = itertools.count(1000)
        self.markups: dict[tuple[int, int], Any] = {}  # (chat, message id) -> current reply markup

    async def close(self) -> None:
        pass

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        self.calls.append(method)
        if isinstance(method, GetMe):
            return User(id=bot.id, is_bot=True, first_name="Test bot", username="test_bot")
        if isinstance(method, SendMessage):
            message_id = next(self._ids)
            self.markups[(int(method.chat_id), message_id)] = method.reply_markup
            return Message(
                message_id=message_id,
                date=datetime.now(UTC),
                chat=Chat(id=int(method.chat_id), type="private"),
                text=method.text,
                reply_markup=method.reply_markup if isinstance(method.reply_markup, InlineKeyboardMarkup) else None,
            )
        if isinstance(method, EditMessageReplyMarkup):
            self.markups[(int(method.chat_id), int(method.message_id))] = method.reply_markup
            return True
        if isinstance(method, AnswerCallbackQuery):
            return True
        if isinstance(method, DeleteMessage):  # gone from the chat: its buttons can no longer be pressed
            self.markups.pop((int(method.chat_id), int(method.message_id)), None)
            return True
        return True

    async def stream_content(self, url: str, headers: Any = None, timeout: int = 30, chunk_size: int = 65536,
                             raise_for_status: bool = True) -> AsyncGenerator[bytes, None]:  # fmt: skip
        yield b""


class MockedBot(Bot):
    def __init__(self, token: str = "42:TEST") -> None:
        super().__init__(token, session=RecordingSession(), default=DefaultBotProperties(parse_mode=ParseMode.HTML))

    @property
    def recorder(self) -> RecordingSession:
        return self.session  # type: ignore[return-value]
