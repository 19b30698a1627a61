"""The texts catalogue of both bots in uz, ru and en: every prompt and button comes from here, never from a
handler. `t(lang, key, **values)` fills the placeholders with HTML-escaped values (messages use HTML parse mode)."""

from __future__ import annotations

import html
from typing import Literal

from bots.texts import en, ru, uz

Lang = Literal["uz", "ru", "en"]
LANGS: tuple[Lang, ...] = ("uz", "ru", "en")
DEFAULT_LANG: Lang = "uz"
CATALOGUES: dict[str, dict[str, str]] = {"uz": uz.TEXTS, "ru": ru.TEXTS, "en": en.TEXTS}


class Safe(str):
    """A value that is already HTML (another filled text): `t` inserts it unescaped."""


def _escape(value: object) -> str:
    return value if isinstance(value, Safe) else html.escape(str(value), quote=False)


def lang_of(value: str | None) -> Lang:
    """A supported language code, or the default for anything else (unknown codes, None)."""
    return value if value in CATALOGUES else DEFAULT_LANG  # type: ignore[return-value]


def t(lang: str | None, key: str, **values: object) -> str:
    """The text `key` in `lang`, with `{placeholders}` filled by HTML-escaped `values`."""
    template = CATALOGUES[lang_of(lang)][key]
    if not values:
        return Safe(template)
    return Safe(template.format(**{name: _escape(value) for name, value in values.items()}))


def words(lang: str | None, key: str) -> list[str]:
    """A space-separated list text (month or weekday names) as a list."""
    return CATALOGUES[lang_of(lang)][key].split()


def has(key: str) -> bool:
    """Whether the catalogue has the text `key` (every language has the same keys)."""
    return key in CATALOGUES[DEFAULT_LANG]
