"""A small fake Bot API server on loopback (getMe, getUpdates long polling, sendMessage, answerCallbackQuery,
editMessageReplyMarkup, anything else answered `true`), for running the real `crm bot run` process against it."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Sent:
    chat_id: int
    text: str
    markup: dict[str, Any] | None
    message_id: int


@dataclass
class FakeTelegram:
    token: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    confirmed: int = 0  # like Telegram: getUpdates with offset N confirms (forgets) every update below N

    async def start(self, port: int) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append(method)
        if method == "getMe":
            return _ok(
                {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "Fake", "username": "fake_bot"}
            )
        if method == "getUpdates":
            return _ok(await self._get_updates(int(params.get("offset") or 0), float(params.get("timeout") or 0)))
        if method == "sendMessage":
            return _ok(await self._send(params))
        return _ok(True)

    async def _get_updates(self, offset: int, timeout: float) -> list[dict[str, Any]]:
        deadline = time.monotonic() + min(timeout, 5.0)
        self.confirmed = max(self.confirmed, offset)
        async with self._changed:
            while True:
                pending = [u for u in self.updates if u["update_id"] >= self.confirmed]
                left = deadline - time.monotonic()
                if pending or left <= 0:
                    return pending
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout=left)
                except TimeoutError:
                    pass

    async def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        markup = params.get("reply_markup")
        message = Sent(int(params["chat_id"]), params["text"], json.loads(markup) if markup else None, next(self._ids))
        async with self._changed:
            self.sent.append(message)
            self._changed.notify_all()
        return {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": {"id": message.chat_id, "type": "private"},
            "text": message.text,
        }

    # --- the user's side ---

    async def push(self, **update: Any) -> None:
        async with self._changed:
            self.updates.append({"update_id": next(self._ids), **update})
            self._changed.notify_all()

    async def wait_for(self, predicate: Any, since: int = 0, timeout: float = 30.0) -> Sent:
        """The first message sent after the first `since` ones that satisfies `predicate`."""

        async def find() -> Sent:
            async with self._changed:
                while True:
                    for message in self.sent[since:]:
                        if predicate(message):
                            return message
                    await self._changed.wait()

        return await asyncio.wait_for(find(), timeout=timeout)

    def button(self, message: Sent, label: str) -> str:
        for row in (message.markup or {}).get("inline_keyboard", []):
            for button in row:
                if button["text"] == label:
                    return button["callback_data"]
        raise AssertionError(f"no button {label!r} in {message.text!r}")


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})
