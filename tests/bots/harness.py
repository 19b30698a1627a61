"""Driving a bot as a Telegram user would: typed text, a shared contact, button presses by label, through the real
Dispatcher; reading back what the bot sent. The bot's API client talks to the real app (ASGI, test database), and
the "network" to the app can be cut and restored."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from aiogram import Dispatcher
from aiogram.fsm.storage.base import BaseStorage
from aiogram.methods import AnswerCallbackQuery, SendMessage
from aiogram.types import (
    CallbackQuery,
    Chat,
    Contact,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)

from bots.api_client import ApiClient
from bots.catalog_cache import CatalogCache
from bots.config import BotConfig
from bots.delivery import Sender
from bots.deps import Deps
from bots.dispatcher import build_dispatcher
from bots.outbox import Outbox
from bots.runner import BOTS
from tests.bots.mocked_bot import MockedBot


class Network(httpx.AsyncBaseTransport):
    """The bot's link to the API: forwards to the app's test client, or fails like a dead server when down."""

    def __init__(self, target: httpx.AsyncClient) -> None:
        self.target = target
        self.up = True
        self.lose_answers = 0  # the next N requests reach the API but their answers are lost
        self.requests: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        body = await request.aread()
        response = await self.target.request(
            request.method, request.url.path, params=request.url.params, headers=request.headers, content=body
        )
        if self.lose_answers:
            self.lose_answers -= 1
            raise httpx.ReadError("connection reset after the request was sent", request=request)
        return httpx.Response(response.status_code, headers=response.headers, content=response.content)


@dataclass
class Person:
    id: int
    first_name: str = "Test"
    username: str = "tester"
    language_code: str | None = None

    @property
    def user(self) -> User:
        return User(
            id=self.id,
            is_bot=False,
            first_name=self.first_name,
            username=self.username,
            language_code=self.language_code,
        )

    @property
    def chat(self) -> Chat:
        return Chat(id=self.id, type="private")


@dataclass
class BotHarness:
    dp: Dispatcher
    bot: MockedBot
    deps: Deps
    storage: BaseStorage
    network: Network
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _seen: int = 0
    callbacks_fed: int = 0

    # --- sending as a user ---

    async def _feed(self, **update: Any) -> None:
        await self.dp.feed_update(self.bot, Update(update_id=next(self._ids), **update))

    def _message(self, who: Person, **fields: Any) -> Message:
        return Message(message_id=next(self._ids), date=datetime.now(UTC), chat=who.chat, from_user=who.user, **fields)

    async def text(self, who: Person, text: str) -> list[str]:
        await self._feed(message=self._message(who, text=text))
        return self.replies(who)

    async def contact(self, who: Person, phone: str = "998901234567", owner: int | None = None) -> list[str]:
        contact = Contact(phone_number=phone, first_name=who.first_name, user_id=who.id if owner is None else owner)
        await self._feed(message=self._message(who, contact=contact))
        return self.replies(who)

    async def press_data(self, who: Person, data: str, message_id: int = 1) -> list[str]:
        """Press a button by its callback data (also a stale one from an old message)."""
        message = Message(message_id=message_id, date=datetime.now(UTC), chat=who.chat, text="…")
        query = CallbackQuery(
            id=str(next(self._ids)), from_user=who.user, chat_instance="ci", data=data, message=message
        )
        self.callbacks_fed += 1
        await self._feed(callback_query=query)
        return self.replies(who)

    async def tap(self, who: Person, label: str) -> list[str]:
        """Press the button labelled `label` on the newest message that still shows it, or on the reply keyboard
        shown (a reply keyboard's button sends its label as text)."""
        try:
            message_id, data = self.find_button(who, label)
        except AssertionError:
            if label in self.reply_keys(who):
                return await self.text(who, label)
            raise
        return await self.press_data(who, data, message_id)

    def reply_keys(self, who: Person) -> list[str]:
        """The labels of the reply keyboard `who` sees now (the newest one sent, unless removed since)."""
        for call in reversed(self.bot.recorder.calls):
            if not isinstance(call, SendMessage) or int(call.chat_id) != who.id:
                continue
            if isinstance(call.reply_markup, ReplyKeyboardRemove):
                return []
            if isinstance(call.reply_markup, ReplyKeyboardMarkup):
                return [b.text for row in call.reply_markup.keyboard for b in row]
        return []

    def find_button(self, who: Person, label: str) -> tuple[int, str]:
        for (chat, message_id), markup in sorted(self.bot.recorder.markups.items(), key=lambda kv: -kv[0][1]):
            if chat != who.id or not isinstance(markup, InlineKeyboardMarkup):
                continue
            for row in markup.inline_keyboard:
                for button in row:
                    if (
                        button.text == label
                        and button.callback_data
                        and not button.callback_data.startswith("cal:noop")
                    ):
                        return message_id, button.callback_data
        raise AssertionError(f"no active button {label!r} for user {who.id}; bot said: {self.all_texts(who)[-3:]}")

    def buttons(self, who: Person) -> list[str]:
        """Labels of the inline keyboard on the newest message sent to `who` (empty when it has none)."""
        for (chat, _), markup in sorted(self.bot.recorder.markups.items(), key=lambda kv: -kv[0][1]):
            if chat == who.id:
                return (
                    [b.text for row in markup.inline_keyboard for b in row]
                    if isinstance(markup, InlineKeyboardMarkup)
                    else []
                )
        return []

    # --- reading what the bot said ---

    def all_texts(self, who: Person) -> list[str]:
        return [c.text for c in self.bot.recorder.calls if isinstance(c, SendMessage) and int(c.chat_id) == who.id]

    def replies(self, who: Person) -> list[str]:
        """Messages sent to `who` since the previous call for anyone (then marked as read)."""
        calls = self.bot.recorder.calls
        new = calls[self._seen :]
        self._seen = len(calls)
        return [c.text for c in new if isinstance(c, SendMessage) and int(c.chat_id) == who.id]

    def alerts(self) -> list[str | None]:
        return [c.text for c in self.bot.recorder.calls if isinstance(c, AnswerCallbackQuery)]

    def unanswered_callbacks(self) -> int:
        """Callback queries fed minus answers sent: must stay 0 (a spinner never left turning)."""
        return self.callbacks_fed - len(self.alerts())


async def make_harness(
    config: BotConfig,
    api_http: httpx.AsyncClient,
    storage: BaseStorage,
    *,
    utcnow: Any = None,
    bot: MockedBot | None = None,
    outbox: Outbox | None = None,
) -> BotHarness:
    network = Network(api_http)
    http = httpx.AsyncClient(transport=network, base_url="http://api.test")
    api = ApiClient(service_token=config.service_token, http=http)
    bot = bot or MockedBot()
    outbox = outbox or await Outbox.open(config.state_dir / "outbox.sqlite3")
    spec = BOTS[config.name]
    sender = Sender(outbox, api, notify=spec.notifier(bot), rng=lambda: 0.0)
    deps = Deps(config, api, CatalogCache(api, config.state_dir, ttl=config.catalog_ttl), outbox, sender)
    if utcnow is not None:
        deps.utcnow = utcnow
    harness = BotHarness(build_dispatcher(spec, deps, storage), bot, deps, storage, network)
    harness._seen = len(bot.recorder.calls)  # a restarted bot keeps the chat history, not the unread marker
    return harness
