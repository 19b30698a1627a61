"""The bot1 conversations several bot tests begin with, each written once: the profile's first steps, the whole
registration, and a Foundation Year application (its region kept as the profile's) up to its summary or sent."""

from __future__ import annotations

from bots.texts import t
from tests.bots.harness import BotHarness, Person

LANG_BUTTON = {"uz": "🇺🇿 O'zbekcha", "ru": "🇷🇺 Русский", "en": "🇬🇧 English"}
REGION = {"uz": "Toshkent shahri", "ru": "город Ташкент", "en": "Tashkent city"}
# The first button of an application's region question: the profile's region, kept with one tap.
KEEP_REGION = {lang: t(lang, "btn_keep_profile", value=region) for lang, region in REGION.items()}


async def profile_start(h: BotHarness, who: Person, lang: str = "en") -> None:
    """/start, the language, the contact, the name and the gender: the birth date is asked next."""
    assert t(lang, "choose_language") in (await h.text(who, "/start"))[-1]
    assert (await h.tap(who, LANG_BUTTON[lang]))[-1] == t(lang, "ask_contact")
    assert (await h.contact(who))[-1] == t(lang, "ask_first_name")
    assert (await h.text(who, "Aziz"))[-1] == t(lang, "ask_last_name")
    assert (await h.text(who, "Karimov"))[-1] == t(lang, "ask_gender")
    assert (await h.tap(who, t(lang, "btn_male")))[-1] == t(lang, "ask_birth_date", example="10.03.2008")


async def register(h: BotHarness, who: Person, lang: str = "en") -> list[str]:
    await profile_start(h, who, lang)
    assert (await h.text(who, "15.04.2005"))[-1] == t(lang, "ask_email")
    assert (await h.text(who, "aziz@example.com"))[-1] == t(lang, "ask_region")
    return await h.tap(who, REGION[lang])


async def foundation_summary(h: BotHarness, who: Person) -> list[str]:
    """A registered user's Foundation Year application, the extra phone skipped: its summary."""
    await h.tap(who, "📘 Foundation Year")
    await h.tap(who, "⏭ Skip")
    return await h.tap(who, KEEP_REGION["en"])


async def foundation_application(h: BotHarness, who: Person) -> list[str]:
    await foundation_summary(h, who)
    return await h.tap(who, "✅ Confirm and send")
