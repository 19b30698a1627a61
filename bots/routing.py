"""Handlers declared once at import and attached to a fresh aiogram Router per Dispatcher (a Router can belong to
only one parent, and tests build several dispatchers, e.g. to restart a bot mid-form)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import Router


class Handlers:
    """Collects `@handlers.message(...)` / `@handlers.callback_query(...)` registrations."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._registrations: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = []

    def _collect(self, observer: str, filters: tuple[Any, ...]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._registrations.append((observer, fn, filters))
            return fn

        return register

    def message(self, *filters: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._collect("message", filters)

    def callback_query(self, *filters: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self._collect("callback_query", filters)

    def router(self) -> Router:
        router = Router(name=self.name)
        for observer, fn, filters in self._registrations:
            getattr(router, observer).register(fn, *filters)
        return router
