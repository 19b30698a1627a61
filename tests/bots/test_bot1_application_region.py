"""Each bot1 application asks the region it is made from (issue 15, RS §9): the profile's region is the first
button (one tap keeps it), then every region; the summary shows the choice; the submission carries it as
`application_region_id` while the profile's `region_id` stays as registered. Through the real dispatcher, in uz, ru
and en, with Back, /back and /cancel on the new step and a region withdrawn behind the bot's copy."""

from __future__ import annotations

import json
import uuid

import pytest

from bots.texts import t
from ingest.core.schema import APPLICATION_MODELS, Applicant, FoundationRequest, PolitoAcademyRequest
from tests.bots.conftest import catalog_id, count, rows, stop
from tests.bots.conversations import KEEP_REGION, REGION, register
from tests.bots.harness import BotHarness, Person

LANGS = ("uz", "ru", "en")
SAMARKAND = {"uz": "Samarqand", "ru": "Самарканд", "en": "Samarkand"}
PHYSICS = {"uz": "Fizika", "ru": "Физика", "en": "Physics"}


async def registered(start_bot, person: int, lang: str = "en") -> tuple[BotHarness, Person]:  # type: ignore[no-untyped-def]
    """A harness of bot1 and a person registered through it (region: Tashkent city)."""
    h = await start_bot("bot1")
    who = Person(person)
    await register(h, who, lang)
    return h, who


async def to_polito_region(h: BotHarness, who: Person, lang: str) -> list[str]:
    """A registered person opens Polito Academy and picks Physics: the region question."""
    await h.tap(who, t(lang, "btn_menu_polito"))
    return await h.tap(who, PHYSICS[lang])


@pytest.mark.parametrize("lang", LANGS)
async def test_the_region_step_offers_the_profiles_region_first(start_bot, db, lang: str) -> None:
    h, who = await registered(start_bot, 9200 + LANGS.index(lang), lang)
    said = await to_polito_region(h, who, lang)
    assert said[-1] == t(lang, "ask_app_region")
    buttons = h.buttons(who)
    assert buttons[0] == KEEP_REGION[lang] == t(lang, "btn_keep_profile", value=REGION[lang])
    assert REGION[lang] in buttons[1:] and SAMARKAND[lang] in buttons  # then every region
    assert buttons[-1] == t(lang, "btn_back")

    summary = (await h.tap(who, SAMARKAND[lang]))[-1]
    assert t(lang, "sum_region", value=SAMARKAND[lang]) in summary
    assert t(lang, "sum_region", value=REGION[lang]) not in summary
    said = await h.tap(who, t(lang, "btn_confirm"))
    assert said[-1] == t(lang, "submit_delivered", ref=said[-1].rsplit(" ", 1)[-1])

    [polito] = await rows(db, PolitoAcademyRequest)
    [applicant] = await rows(db, Applicant, telegram_user_id=who.id)
    assert str(polito.application_region_id) == await catalog_id(db, "REG-SAMARKAND")
    assert str(applicant.region_id) == await catalog_id(db, "REG-TASHCITY")  # the profile keeps its region
    assert h.unanswered_callbacks() == 0


@pytest.mark.parametrize("lang", LANGS)
async def test_one_tap_keeps_the_profiles_region(start_bot, db, lang: str) -> None:
    h, who = await registered(start_bot, 9210 + LANGS.index(lang), lang)
    await h.tap(who, t(lang, "btn_menu_foundation"))
    await h.tap(who, t(lang, "btn_skip"))
    summary = (await h.tap(who, KEEP_REGION[lang]))[-1]
    assert t(lang, "sum_region", value=REGION[lang]) in summary
    await h.tap(who, t(lang, "btn_confirm"))
    [foundation] = await rows(db, FoundationRequest)
    assert str(foundation.application_region_id) == await catalog_id(db, "REG-TASHCITY")


async def test_the_payload_carries_the_chosen_region_and_keeps_the_profiles(start_bot, db) -> None:
    """Queued while the API is down: the stored body is what the server gets."""
    h, who = await registered(start_bot, 9220)
    await to_polito_region(h, who, "en")
    h.network.up = False
    await h.tap(who, SAMARKAND["en"])
    await h.tap(who, t("en", "btn_confirm"))
    [item] = await h.deps.outbox.pending(who.id)
    assert item.kind == "bot1.polito_academy"
    assert item.payload["application_region_id"] == await catalog_id(db, "REG-SAMARKAND")
    assert item.payload["region_id"] == await catalog_id(db, "REG-TASHCITY")
    h.network.up = True
    [outcome] = await h.deps.sender.drain_once(force=True)
    assert outcome.state == "delivered"
    [applicant] = await rows(db, Applicant, telegram_user_id=who.id)
    assert str(applicant.region_id) == await catalog_id(db, "REG-TASHCITY")


@pytest.mark.parametrize("lang", LANGS)
async def test_back_and_cancel_work_on_the_region_step(start_bot, db, lang: str) -> None:
    h, who = await registered(start_bot, 9230 + LANGS.index(lang), lang)
    await h.tap(who, t(lang, "btn_menu_admissions"))
    await h.tap(who, {"uz": "Italiya treki", "ru": "Итальянский трек", "en": "Italian Track"}[lang])
    direction = {"uz": "Dasturiy ta'minot muhandisligi 🇺🇿", "ru": "Программная инженерия 🇺🇿",
                 "en": "Software Engineering 🇺🇿"}[lang]  # fmt: skip
    assert (await h.tap(who, direction))[-1] == t(lang, "ask_app_region")
    assert (await h.tap(who, t(lang, "btn_back")))[-1] == t(lang, "ask_direction")
    assert (await h.tap(who, direction))[-1] == t(lang, "ask_app_region")
    assert (await h.tap(who, SAMARKAND[lang]))[-1] == t(lang, "ask_extra_phone")
    assert (await h.text(who, "/back"))[-1] == t(lang, "ask_app_region")  # asked again, profile's region first
    assert h.buttons(who)[0] == KEEP_REGION[lang]
    await h.tap(who, KEEP_REGION[lang])
    summary = (await h.tap(who, t(lang, "btn_skip")))[-1]
    assert t(lang, "sum_region", value=REGION[lang]) in summary  # the later choice stands
    assert (await h.text(who, "/back"))[-1] == t(lang, "ask_extra_phone")
    assert (await h.text(who, "/back"))[-1] == t(lang, "ask_app_region")
    assert t(lang, "cancelled") in await h.text(who, "/cancel")
    assert await count(db, APPLICATION_MODELS["admissions-2026"]) == 0
    assert h.unanswered_callbacks() == 0


async def test_a_region_withdrawn_behind_the_bots_copy_is_asked_again(start_bot, db, settings) -> None:
    h, who = await registered(start_bot, 9240)
    state_dir = settings.data_dir / "bots" / "bot1"
    copy = json.loads((state_dir / "catalog_region.json").read_text())
    gone = {"id": str(uuid.uuid4()), "type": "region", "code": "REG-GONE", "name": "Atlantis"}
    (state_dir / "catalog_region.json").write_text(json.dumps({**copy, "items": [*copy["items"], gone]}))
    await stop(h)
    h = await start_bot("bot1", bot=h.bot)
    await h.tap(who, t("en", "btn_menu_polito"))
    h.network.up = False  # the region list comes from the bot's stale copy
    assert (await h.tap(who, PHYSICS["en"]))[-1] == t("en", "ask_app_region")
    await h.tap(who, "Atlantis")
    h.network.up = True
    said = await h.tap(who, t("en", "btn_confirm"))  # the server refuses the stale region at once
    assert said == [t("en", "catalog_item_withdrawn"), t("en", "ask_app_region")]
    assert "Atlantis" not in h.buttons(who) and h.buttons(who)[0] == KEEP_REGION["en"]
    await h.tap(who, SAMARKAND["en"])
    said = await h.tap(who, t("en", "btn_confirm"))
    assert said[-1].startswith("✅ Received and registered.")
    [polito] = await rows(db, PolitoAcademyRequest)
    assert str(polito.application_region_id) == await catalog_id(db, "REG-SAMARKAND")
