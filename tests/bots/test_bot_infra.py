"""The bots' plumbing: the catalog cache (TTL, disk copy, API down), the texts catalogue, the error handler, the
single-instance polling lock, and FSM state in Redis when configured."""

from __future__ import annotations

import os
import re
import socket
import string

import pytest
from aiogram.fsm.storage.base import StorageKey

from bots.config import BotConfig, ConfigError
from bots.fsm_storage import SQLiteStorage, open_storage
from bots.runner import AlreadyRunning, host_lock_path, lock_path, polling_lock
from bots.texts import CATALOGUES, t
from ingest.core.schema import FoundationRequest
from tests.bots.conftest import count, stop
from tests.bots.conversations import foundation_summary, profile_start, register
from tests.bots.harness import Person


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_text_with_the_same_placeholders() -> None:
    en = CATALOGUES["en"]
    for lang, texts in CATALOGUES.items():
        assert texts.keys() == en.keys(), lang
        for key, text in texts.items():
            assert placeholders(text) == placeholders(en[key]), (lang, key)
            assert text.strip(), (lang, key)
            # Messages are sent as HTML: a raw '<' or '&' in a text would break them.
            assert not re.search(r"<|&(?![a-z]+;)", text), (lang, key)


def test_values_are_escaped_and_texts_nest() -> None:
    assert t("en", "sum_org", value="<b>A & B</b>") == "Organisation: &lt;b&gt;A &amp; B&lt;/b&gt;"
    inner = t("en", "sum_none")
    assert t("en", "sum_org", value=inner) == "Organisation: —"
    assert t("xx", "btn_yes") == t("uz", "btn_yes")  # unknown languages fall back to Uzbek


async def test_catalog_first_start_with_the_api_down_offers_a_retry(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(9001)
    h.network.up = False
    await profile_start(h, who)
    await h.text(who, "15.04.2005")
    said = await h.tap(who, "⏭ Skip")
    assert said == [t("en", "catalog_unavailable")]
    assert h.buttons(who) == ["🔄 Try again", "❌ Cancel", "◀️ Back"]
    h.network.up = True
    said = await h.tap(who, "🔄 Try again")
    assert said == [t("en", "ask_region")]
    said = await h.tap(who, "Tashkent city")
    assert said[-1] == t("en", "registration_done")


async def test_catalog_copy_on_disk_serves_after_a_restart_with_the_api_down(start_bot, settings) -> None:
    h = await start_bot("bot1")
    assert await h.deps.catalog.items("region")  # fetched and stored on disk
    assert (settings.data_dir / "bots" / "bot1" / "catalog_region.json").exists()
    await stop(h)
    h = await start_bot("bot1")
    h.network.up = False
    items = await h.deps.catalog.items("region")
    assert items and {i.code for i in items} >= {"REG-TASHCITY", "REG-FOREIGN"}
    fetches = len(h.network.requests)
    await h.deps.catalog.items("region")  # a failure is not retried on every button: the copy serves for a while
    assert len(h.network.requests) == fetches


async def test_catalog_is_refetched_after_its_ttl(start_bot) -> None:
    h = await start_bot("bot1")
    clock = [0.0]
    h.deps.catalog.clock = lambda: clock[0]
    await h.deps.catalog.items("subject")
    await h.deps.catalog.items("subject")
    assert h.network.requests.count(("GET", "/api/v1/bot/catalog")) == 1
    clock[0] = h.deps.catalog.ttl + 1
    await h.deps.catalog.items("subject")
    assert h.network.requests.count(("GET", "/api/v1/bot/catalog")) == 2


async def test_an_outbox_failure_is_reported_and_nothing_is_said_to_be_sent(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(9002)
    await register(h, who)
    await foundation_summary(h, who)
    message_id, confirm = h.find_button(who, "✅ Confirm and send")
    await h.deps.outbox.close()  # the bot's disk fails under it
    said = await h.press_data(who, confirm, message_id)
    assert said == [t("en", "error_generic")] and h.alerts()[-1] == t("en", "error_generic")
    assert await count(db, FoundationRequest) == 0
    await h.storage.close()
    h._stopped = True  # type: ignore[attr-defined]
    await h.deps.api.http.aclose()

    h = await start_bot("bot1", bot=h.bot)  # after a restart the same button still works: the form was kept
    said = await h.press_data(who, confirm, message_id)
    assert said[-1].startswith("✅ Received and registered.")
    assert await count(db, FoundationRequest) == 1


def test_one_polling_instance_per_token(tmp_path) -> None:
    config = BotConfig(name="bot1", bot_token="123:abc", data_dir=tmp_path)
    with polling_lock(lock_path(config)):
        with pytest.raises(AlreadyRunning, match=str(os.getpid())), polling_lock(lock_path(config)):
            pass
    with polling_lock(lock_path(config)):  # released when the first one ended
        pass
    other_dir = BotConfig(name="bot1", bot_token="123:abc", data_dir=tmp_path / "elsewhere")
    assert host_lock_path(other_dir) == host_lock_path(config)  # same token, same host: same lock
    assert host_lock_path(BotConfig(name="bot1", bot_token="124:abd", data_dir=tmp_path)) != host_lock_path(config)


def test_config_names_what_is_missing(tmp_path) -> None:
    common = {"data_dir": tmp_path, "redis_url": None, "timezone": "Asia/Tashkent"}
    with pytest.raises(ConfigError, match="BOT_TOKEN"):
        BotConfig.from_env("bot1", {}, **common)
    with pytest.raises(ConfigError, match="CRM_SERVICE_TOKEN"):
        BotConfig.from_env("bot1", {"BOT_TOKEN": "1:x"}, **common)
    config = BotConfig.from_env(
        "bot2",
        {
            "BOT_TOKEN": "1:x",
            "CRM_SERVICE_TOKEN": "s",
            "TELEGRAM_API_URL": "http://127.0.0.1:9/",
            "CRM_API_URL": "http://a/",
        },
        **common,
    )
    assert (config.telegram_api_url, config.api_url, config.state_dir) == (
        "http://127.0.0.1:9",
        "http://a",
        tmp_path / "bots" / "bot2",
    )


async def test_sqlite_fsm_storage_survives_reopening(tmp_path) -> None:
    key = StorageKey(bot_id=42, chat_id=7, user_id=7)
    storage = await SQLiteStorage.open(tmp_path / "fsm.sqlite3")
    await storage.set_state(key, "Survey:company")
    await storage.set_data(key, {"lang": "ru", "form": {"student_id": "se1"}})
    await storage.close()
    storage = await SQLiteStorage.open(tmp_path / "fsm.sqlite3")
    assert await storage.get_state(key) == "Survey:company"
    assert await storage.get_data(key) == {"lang": "ru", "form": {"student_id": "se1"}}
    assert await storage.get_state(StorageKey(bot_id=42, chat_id=8, user_id=8)) is None
    await storage.close()


def redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not redis_reachable(), reason="no Redis on 127.0.0.1:6379")
async def test_redis_fsm_storage_when_configured(tmp_path) -> None:
    key = StorageKey(bot_id=42, chat_id=int.from_bytes(os.urandom(4), "big"), user_id=1)
    storage = await open_storage(tmp_path / "unused.sqlite3", "redis://127.0.0.1:6379/15")
    try:
        assert type(storage).__name__ == "RedisStorage"
        await storage.set_state(key, "Registration:email")
        await storage.set_data(key, {"lang": "uz"})
        await storage.close()
        storage = await open_storage(tmp_path / "unused.sqlite3", "redis://127.0.0.1:6379/15")
        assert await storage.get_state(key) == "Registration:email"
        assert await storage.get_data(key) == {"lang": "uz"}
        await storage.set_state(key, None)
        await storage.set_data(key, {})
    finally:
        await storage.close()
    assert not (tmp_path / "unused.sqlite3").exists()


def test_crm_bot_run_without_a_token_says_what_to_set(tmp_path, monkeypatch) -> None:
    from click.testing import CliRunner

    from crm.cli import cli

    monkeypatch.chdir(tmp_path)
    for var in ("BOT_TOKEN", "BOT1_TOKEN", "CRM_SERVICE_TOKEN", "BOT1_SERVICE_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(cli, ["bot", "run", "bot1"], env={"CRM_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 1 and "BOT_TOKEN" in result.output
    result = CliRunner().invoke(cli, ["bot", "status", "bot2"], env={"CRM_DATA_DIR": str(tmp_path / "data")})
    assert result.exit_code == 0 and "bot2: 0 queued, 0 refused, 0 delivered" in result.output
