"""Catalog items for the bots' buttons, from `GET /api/v1/bot/catalog`: kept in memory for a TTL and on disk, so
the last good copy still serves when the API is down (also across restarts). A failed fetch is retried after a
short pause, never cached as an empty list."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bots.api_client import ApiClient, ApiUnavailable

log = logging.getLogger(__name__)

DEFAULT_TTL = 900.0
RETRY_AFTER_FAILURE = 30.0


@dataclass(frozen=True)
class CatalogItem:
    id: str
    type: str
    code: str
    name: str
    name_uz: str = ""
    name_ru: str = ""
    name_en: str = ""

    def label(self, lang: str) -> str:
        return getattr(self, f"name_{lang}", "") or self.name

    @classmethod
    def from_api(cls, raw: dict[str, Any], type_: str) -> CatalogItem:
        return cls(
            id=str(raw["id"]),
            type=str(raw.get("type") or type_),
            code=str(raw.get("code") or ""),
            name=str(raw.get("name") or raw.get("code") or ""),
            name_uz=str(raw.get("name_uz") or ""),
            name_ru=str(raw.get("name_ru") or ""),
            name_en=str(raw.get("name_en") or ""),
        )


def names_of(item: CatalogItem) -> dict[str, str]:
    """The item's names by language, kept in a form so summaries need no catalog lookup later."""
    return {"uz": item.label("uz"), "ru": item.label("ru"), "en": item.label("en")}


def name_in(names: dict[str, str] | None, lang: str) -> str:
    return (names or {}).get(lang) or next(iter((names or {}).values()), "")


@dataclass
class _Entry:
    items: list[CatalogItem]
    fetched_at: float  # clock time of the last successful fetch (-inf for a copy read from disk)
    retry_at: float = 0.0  # no new fetch before this clock time (after a failure)


class CatalogCache:
    def __init__(
        self,
        api: ApiClient,
        directory: Path,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.directory = directory
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[str, _Entry] = {}

    def _path(self, type_: str) -> Path:
        return self.directory / f"catalog_{type_}.json"

    async def items(self, type_: str) -> list[CatalogItem] | None:
        """The active items of a type; None only when the API is down and no copy was ever stored."""
        now = self.clock()
        entry = self._entries.get(type_) or self._load(type_)
        if entry and (now - entry.fetched_at < self.ttl or now < entry.retry_at):
            return entry.items
        try:
            raw = await self.api.catalog(type_)
            items = [CatalogItem.from_api(r, type_) for r in raw if isinstance(r, dict) and r.get("id")]
        except (ApiUnavailable, KeyError, TypeError, ValueError) as exc:
            log.warning("catalog %s: fetch failed (%s); %s", type_, exc, "using last copy" if entry else "no copy")
            if entry is None:
                return None
            entry.retry_at = now + RETRY_AFTER_FAILURE
            return entry.items
        self._entries[type_] = _Entry(items, now)
        self._store(type_, items)
        return items

    def invalidate(self, type_: str) -> None:
        """Forget the copy of a type (the server refused one of its items): the next use fetches it again, and
        falls back to the disk copy only when the API cannot be reached."""
        entry = self._entries.get(type_)
        if entry is not None:
            entry.fetched_at, entry.retry_at = float("-inf"), 0.0

    async def get(self, type_: str, item_id: str) -> CatalogItem | None:
        """The item a button stands for, by id (None when it is no longer offered)."""
        for item in await self.items(type_) or []:
            if item.id == item_id:
                return item
        return None

    def _load(self, type_: str) -> _Entry | None:
        try:
            raw = json.loads(self._path(type_).read_text(encoding="utf-8"))
            items = [CatalogItem(**item) for item in raw["items"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        entry = _Entry(items, fetched_at=float("-inf"))
        self._entries[type_] = entry
        return entry

    def _store(self, type_: str, items: list[CatalogItem]) -> None:
        """Write atomically, so a crash mid-write never leaves a broken copy."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self._path(type_)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"items": [asdict(i) for i in items]}, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("catalog %s: could not store the disk copy (%s)", type_, exc)
