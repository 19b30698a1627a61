"""`crm bot run bot1` as a real process, polling a fake Bot API server on loopback (TELEGRAM_API_URL) and talking
to a real `crm serve` process: one person registers and completes an admissions application, which is stored."""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from ingest.auth.service_tokens import issue_token
from ingest.catalog.seed import seed_catalog
from ingest.core import migrate
from ingest.core.db import Database
from ingest.core.schema import Admissions2026Application, Applicant, CatalogItem, FoundationRequest
from tests.bots.fake_telegram import FakeTelegram, Sent
from tests.e2e import clean_env, crm_process, free_port, wait_ready

pytestmark = pytest.mark.e2e

BOT_TOKEN = "123456:FAKE-TOKEN"
USER = {"id": 424242, "is_bot": False, "first_name": "Aziz", "username": "aziz"}
CHAT = {"id": 424242, "type": "private"}


async def prepare_database(path: Path) -> str:
    """A migrated, seeded SQLite database and a bot1 service token (raw)."""
    migrate.upgrade(f"sqlite:///{path}")
    db = Database(f"sqlite+aiosqlite:///{path}", pool_size=1)
    try:
        async with db.sessionmaker() as s, s.begin():
            await seed_catalog(s)
            _, raw = await issue_token(s, "bot1", name="e2e")
    finally:
        await db.dispose()
    return raw


@dataclass
class Stack:
    """What both process tests run: a seeded database, the API's and the bot's environments, a fake Telegram."""

    db_path: Path
    api: str
    api_port: int
    tg_port: int
    fake: FakeTelegram
    server_env: dict[str, str]
    bot_env: dict[str, str]


async def stack(tmp_path: Path) -> Stack:
    db_path = tmp_path / "crm.sqlite3"
    service_token = await prepare_database(db_path)
    db_env = {"CRM_DATABASE_URL": f"sqlite+aiosqlite:///{db_path}", "CRM_ENV": "dev"}
    api_port, tg_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}"
    bot_env = clean_env(
        **db_env,
        CRM_DATA_DIR=str(tmp_path / "bot-data"),
        BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_API_URL=f"http://127.0.0.1:{tg_port}",
        CRM_API_URL=api,
        CRM_SERVICE_TOKEN=service_token,
    )
    server_env = clean_env(**db_env, CRM_DATA_DIR=str(tmp_path / "api-data"))
    return Stack(db_path, api, api_port, tg_port, FakeTelegram(BOT_TOKEN), server_env, bot_env)


class User:
    """The person on the fake Telegram side."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.last: Sent | None = None

    def _message(self, **fields: Any) -> dict[str, Any]:
        return {
            "message_id": int(time.time() * 1000) % 1_000_000,
            "date": int(time.time()),
            "chat": CHAT,
            "from": USER,
            **fields,
        }

    async def _expect(self, expect: str, **update: Any) -> Sent:
        mark = len(self.fake.sent)
        await self.fake.push(**update)
        # Generous: the first answer waits for the bot process to start, on a machine that may be busy.
        self.last = await self.fake.wait_for(lambda m: expect in m.text, since=mark, timeout=180)
        return self.last

    async def says(self, text: str, expect: str) -> Sent:
        return await self._expect(expect, message=self._message(text=text))

    async def shares_contact(self, expect: str) -> Sent:
        contact = {"phone_number": "998901234567", "first_name": "Aziz", "user_id": USER["id"]}
        return await self._expect(expect, message=self._message(contact=contact))

    async def taps(self, label: str, expect: str) -> Sent:
        assert self.last is not None
        message = next(m for m in reversed(self.fake.sent) if m.markup and _has(m, label))
        query = {
            "id": str(time.time_ns()),
            "from": USER,
            "chat_instance": "ci",
            "data": self.fake.button(message, label),
            "message": {"message_id": message.message_id, "date": int(time.time()), "chat": CHAT, "text": message.text},
        }
        return await self._expect(expect, callback_query=query)

    async def registers(self, email: str | None) -> None:
        """The whole profile in English, with an e-mail or skipping it."""
        await self.says("/start", "Choose your language")
        await self.taps("🇬🇧 English", "Please share your phone number")
        await self.shares_contact("Enter your first name")
        await self.says("Aziz", "Enter your last name")
        await self.says("Karimov", "Choose your gender")
        await self.taps("👨 Male", "Choose your date of birth")
        await self.says("15.04.2005", "Enter your e-mail")
        if email:
            await self.says(email, "Which region do you live in?")
        else:
            await self.taps("⏭ Skip", "Which region do you live in?")
        await self.taps("Tashkent city", "Your profile is saved")


def _has(message: Sent, label: str) -> bool:
    return any(b["text"] == label for row in (message.markup or {}).get("inline_keyboard", []) for b in row)


async def test_crm_bot_run_completes_an_admissions_application(tmp_path: Path) -> None:
    st = await stack(tmp_path)
    db_path, fake = st.db_path, st.fake
    with crm_process(
        ["serve", "--port", str(st.api_port)], cwd=tmp_path, env=st.server_env, log=tmp_path / "api.log"
    ) as server:
        await asyncio.to_thread(wait_ready, st.api, server, 60)
        await fake.start(st.tg_port)
        try:
            with crm_process(["bot", "run", "bot1"], cwd=tmp_path, env=st.bot_env, log=tmp_path / "bot.log") as bot:
                user = User(fake)
                await user.registers("aziz@example.com")
                await user.says("🎓 Admissions 2026", "Choose a track")  # the persistent menu sends its label
                await user.taps("Italian Track", "Choose a direction")
                await user.taps("Software Engineering 🇺🇿", "Which region are you applying from")
                await user.taps("Samarkand", "An extra phone number")  # not the profile's region
                await user.taps("⏭ Skip", "Please check your application")
                done = await user.taps("✅ Confirm and send", "Received and registered")
                bot.send_signal(signal.SIGINT)
                code = await asyncio.to_thread(bot.wait, 30)
        finally:
            await fake.stop()
    assert code == 0, (tmp_path / "bot.log").read_text()[-2000:]
    assert "Reference:" in done.text
    assert {"getMe", "getUpdates", "sendMessage", "answerCallbackQuery", "setMyCommands"} <= set(fake.calls)

    engine = create_engine(f"sqlite:///{db_path}")
    with engine.connect() as conn:
        applicant = conn.execute(select(Applicant.__table__).where(Applicant.telegram_user_id == USER["id"])).one()
        [application] = conn.execute(select(Admissions2026Application.__table__)).all()
        direction = conn.execute(select(CatalogItem.code).where(CatalogItem.id == application.direction_id)).scalar()
        code_of = {row.id: row.code for row in conn.execute(select(CatalogItem.id, CatalogItem.code))}
    engine.dispose()
    assert (applicant.first_name, applicant.email, applicant.phone) == ("Aziz", "aziz@example.com", "+998901234567")
    assert application.applicant_id == applicant.id and application.status == "submitted"
    assert direction == "DIR-SOFT-UZ"
    assert code_of[application.application_region_id] == "REG-SAMARKAND"
    assert code_of[applicant.region_id] == "REG-TASHCITY"  # the profile keeps its region
    assert "stopped" in (tmp_path / "bot.log").read_text()


@pytest.mark.fault
async def test_kill_9_of_the_api_and_the_bot_loses_nothing(tmp_path: Path) -> None:
    """The API dies, a person submits (told "saved"), the bot is killed too; both restart: it is delivered once."""
    st = await stack(tmp_path)
    db_path, fake, api, server_env, bot_env = st.db_path, st.fake, st.api, st.server_env, st.bot_env
    serve = ["serve", "--port", str(st.api_port)]
    await fake.start(st.tg_port)
    user = User(fake)
    try:
        with crm_process(serve, cwd=tmp_path, env=server_env, log=tmp_path / "api1.log") as server:
            await asyncio.to_thread(wait_ready, api, server, 60)
            with crm_process(["bot", "run", "bot1"], cwd=tmp_path, env=bot_env, log=tmp_path / "bot1.log") as bot:
                await user.registers(email=None)
                server.kill()  # kill -9 of the API
                await asyncio.to_thread(server.wait, 30)
                await user.says("📘 Foundation Year", "An extra phone number")
                await user.taps("⏭ Skip", "Which region are you applying from")
                await user.taps("📍 Tashkent city (as in my profile)", "Please check your application")
                saved = await user.taps("✅ Confirm and send", "Saved.")
                bot.kill()  # kill -9 of the bot, with the submission only in its outbox
                await asyncio.to_thread(bot.wait, 30)
        ref = saved.text.rsplit(" ", 1)[-1]
        with crm_process(serve, cwd=tmp_path, env=server_env, log=tmp_path / "api2.log") as server:
            await asyncio.to_thread(wait_ready, api, server, 60)
            with crm_process(["bot", "run", "bot1"], cwd=tmp_path, env=bot_env, log=tmp_path / "bot2.log") as bot:
                told = await fake.wait_for(lambda m: f"{ref} has now been received" in m.text, timeout=180)
                bot.send_signal(signal.SIGINT)
                code = await asyncio.to_thread(bot.wait, 30)
    finally:
        await fake.stop()
    assert code == 0 and told.chat_id == USER["id"]
    engine = create_engine(f"sqlite:///{db_path}")
    with engine.connect() as conn:
        rows = conn.execute(select(FoundationRequest.__table__)).all()
    engine.dispose()
    assert len(rows) == 1 and rows[0].status == "submitted"
