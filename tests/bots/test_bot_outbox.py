"""Nothing is lost: submissions are stored before the user hears anything, survive bot restarts and API outages,
are delivered exactly once (idempotency keys, replays after lost answers), and refusals reach the user."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid

import httpx

from bots.api_client import ApiClient
from bots.delivery import BASE_DELAY, Sender
from bots.outbox import Outbox
from bots.texts import t
from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    CampusTourRequest,
    FoundationRequest,
    PolitoAcademyRequest,
)
from tests.bots.conftest import catalog_id, count, rows, stop
from tests.bots.conversations import KEEP_REGION, foundation_application, register
from tests.bots.harness import Person


async def test_fifty_submissions_while_the_api_is_down_are_stored_exactly_once(start_bot, db) -> None:
    h = await start_bot("bot1")
    people = [Person(7000 + i) for i in range(5)]
    for who in people:
        await register(h, who)
    h.network.up = False
    for who in people:
        for _ in range(10):
            said = await foundation_application(h, who)
            assert said[-1].startswith("📥 Saved. The university server cannot be reached right now")
    assert await count(db, FoundationRequest) == 0
    assert len(await h.deps.outbox.pending()) == 50
    assert await h.deps.sender.drain_once(force=True)  # still down: nothing delivered, all deferred
    assert await count(db, FoundationRequest) == 0

    # The bot restarts while the API is still down: the queue is on disk.
    await stop(h)
    h = await start_bot("bot1", bot=h.bot)
    assert len(await h.deps.outbox.pending()) == 50

    # The API comes back, but the answer to the first (batch) request is lost on the way back.
    h.network.up = True
    h.network.lose_answers = 1
    first = await h.deps.sender.drain_once(force=True)
    assert {o.state for o in first} == {"deferred"}
    assert await count(db, FoundationRequest) == 50  # stored by the server all the same
    second = await h.deps.sender.drain_once(force=True)
    assert [o.state for o in second] == ["delivered"] * 50  # the retry is replayed, not stored again
    assert await count(db, FoundationRequest) == 50
    assert await h.deps.outbox.pending() == [] and await h.deps.outbox.delivered_count() == 55
    assert ("POST", "/api/v1/ingest/batch") in h.network.requests
    for who in people:
        told = [m for m in h.all_texts(who) if m.startswith("✅ Your submission")]
        assert len(told) == 10
    assert await h.deps.sender.drain_once(force=True) == []
    assert await count(db, FoundationRequest) == 50 and await count(db, Applicant) == 5


async def test_a_restart_in_the_middle_of_a_form_resumes_it(start_bot, db) -> None:
    h = await start_bot("bot1")
    who = Person(7100)
    await register(h, who, "ru")
    await h.tap(who, "🏛 Экскурсия по кампусу")
    await h.text(who, "Школа № 42")
    await h.text(who, "учитель")
    await stop(h)  # the process dies between two answers

    h = await start_bot("bot1", bot=h.bot)  # the user's chat still shows the old messages
    said = await h.tap(who, "⏭ Пропустить")  # the skip button of the message sent before the restart
    assert said == [t("ru", "ask_visitors")]
    await h.text(who, "7")
    await h.text(who, "25.03.2026")
    await h.tap(who, "10:00")
    await h.tap(who, KEEP_REGION["ru"])
    said = await h.tap(who, "✅ Подтвердить и отправить")
    assert said[-1].startswith("✅ Получено и зарегистрировано.")
    [tour] = await rows(db, CampusTourRequest)
    assert tour.answers["organization"] == "Школа № 42" and tour.answers["visitor_count"] == 7


async def test_a_refused_submission_goes_to_dead_letter_and_the_user_is_told_what_to_fix(
    start_bot, db, settings
) -> None:
    h = await start_bot("bot1")
    who = Person(7200)
    await register(h, who)
    # The bot's last good catalog copy names a direction the server no longer has; the API is down, so it is used.
    state_dir = settings.data_dir / "bots" / "bot1"
    gone = {"id": str(uuid.uuid4()), "type": "direction", "code": "DIR-OLD", "name": "Old Direction",
            "name_uz": "Eski", "name_ru": "Старое", "name_en": "Old Direction"}  # fmt: skip
    (state_dir / "catalog_direction.json").write_text(json.dumps({"items": [gone]}))
    (state_dir / "catalog_track.json").write_text(json.dumps({"items": []}))
    await stop(h)
    h = await start_bot("bot1", bot=h.bot)
    h.network.up = False
    await h.tap(who, "🎓 Admissions 2026")
    await h.tap(who, "Old Direction")
    await h.tap(who, KEEP_REGION["en"])
    await h.tap(who, "⏭ Skip")
    said = await h.tap(who, "✅ Confirm and send")
    assert said[-1].startswith("📥 Saved.")
    await foundation_application(h, who)  # a valid one queued behind it

    h.network.up = True
    outcomes = await h.deps.sender.drain_once(force=True)
    assert sorted(o.state for o in outcomes) == ["delivered", "rejected"]
    told = h.replies(who)
    assert any("was not accepted" in m and "check «direction»" in m for m in told), told
    assert any(m.startswith("✅ Your submission") for m in told)
    assert await count(db, Admissions2026Application) == 0 and await count(db, FoundationRequest) == 1
    [dead] = await h.deps.outbox.dead_letters()
    assert dead.status == 400 and dead.problem["code"] == "INVALID_CATALOG_REF"
    said = await h.tap(who, "📋 My applications")
    assert "• Foundation Year\n" in said[-1] and "status: 📨 submitted" in said[-1]
    assert f"• Admissions 2026: ⚠️ not accepted (reference {dead.key[:8].upper()})" in said[-1]


async def test_a_withdrawn_catalog_item_is_asked_again_from_a_fresh_catalog(start_bot, db, settings) -> None:
    h = await start_bot("bot1")
    who = Person(7300)
    await register(h, who)
    state_dir = settings.data_dir / "bots" / "bot1"
    gone = {"id": str(uuid.uuid4()), "type": "subject", "code": "SUBJ-OLD", "name": "Alchemy"}
    (state_dir / "catalog_subject.json").write_text(json.dumps({"items": [gone]}))
    await stop(h)
    h = await start_bot("bot1", bot=h.bot)
    h.network.up = False
    await h.tap(who, "🧪 Polito Academy")
    await h.tap(who, "Alchemy")
    await h.tap(who, KEEP_REGION["en"])
    h.network.up = True
    said = await h.tap(who, "✅ Confirm and send")  # the server refuses the bot's stale copy at once
    assert said == [t("en", "catalog_item_withdrawn"), t("en", "ask_subject")]
    assert not any("Received" in m for m in said)
    assert await h.deps.outbox.pending() == [] and len(await h.deps.outbox.dead_letters()) == 1
    assert "Alchemy" not in h.buttons(who) and "Physics" in h.buttons(who)  # the catalog was fetched again
    await h.tap(who, "Physics")
    await h.tap(who, KEEP_REGION["en"])
    said = await h.tap(who, "✅ Confirm and send")  # a new idempotency key: the refused one is spent
    assert said[-1].startswith("✅ Received and registered.")
    [polito] = await rows(db, PolitoAcademyRequest)
    assert str(polito.subject_id) == await catalog_id(db, "SUBJ-PHYSICS")


def answering(status: int, headers: dict[str, str] | None = None, body: object = None) -> ApiClient:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers or {}, json=body or {"code": "X", "status": status})

    return ApiClient(
        service_token="x", http=httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://api")
    )


async def test_backoff_honours_retry_after_and_grows_with_attempts(tmp_path) -> None:
    now = [1000.0]
    outbox = await Outbox.open(tmp_path / "outbox.sqlite3", clock=lambda: now[0])
    try:
        limited = Sender(outbox, answering(429, {"Retry-After": "120"}), clock=lambda: now[0], rng=lambda: 0.0)
        outcome = await limited.submit(
            "bot2.survey", {"student_external_id": "se1"}, chat_id=1, user_id=1, lang="en", key=None
        )
        assert outcome.state == "deferred"
        assert await outbox.next_due_at() == 1120.0
        assert await limited.drain_once() == []  # not due yet

        down = Sender(outbox, answering(503), clock=lambda: now[0], rng=lambda: 1.0)
        delays = []
        for _ in range(4):
            now[0] = await outbox.next_due_at()
            [outcome] = await down.drain_once()
            assert outcome.state == "deferred"
            delays.append(await outbox.next_due_at() - now[0])
        assert delays == [BASE_DELAY * 2, BASE_DELAY * 4, BASE_DELAY * 8, BASE_DELAY * 16]  # doubling per attempt

        # A rejected token is the operator's problem, not the user's: kept and retried, never dead-lettered.
        now[0] = await outbox.next_due_at()
        [outcome] = await Sender(outbox, answering(403), clock=lambda: now[0]).drain_once()
        assert outcome.state == "deferred" and await outbox.dead_letters() == []
        now[0] = await outbox.next_due_at()
        [outcome] = await Sender(outbox, answering(201, body={"id": "abc"}), clock=lambda: now[0]).drain_once()
        assert outcome.state == "delivered" and await outbox.pending() == []
    finally:
        await outbox.close()


async def test_the_same_key_is_queued_once(tmp_path) -> None:
    outbox = await Outbox.open(tmp_path / "outbox.sqlite3")
    try:
        a = await outbox.put("bot1.foundation", {"x": 1}, chat_id=1, user_id=1, lang="en", key="k1")
        b = await outbox.put("bot1.foundation", {"x": 1}, chat_id=1, user_id=1, lang="en", key="k1")
        assert a.seq == b.seq and len(await outbox.pending()) == 1
    finally:
        await outbox.close()


async def test_the_sender_task_delivers_in_the_background_and_tells_the_user(tmp_path) -> None:
    outbox = await Outbox.open(tmp_path / "outbox.sqlite3")
    delivered = asyncio.Event()
    told: list[str] = []

    async def notify(outcome) -> None:
        told.append(outcome.state)
        delivered.set()

    api_up = [False]

    def handler(request: httpx.Request) -> httpx.Response:
        if not api_up[0]:
            raise httpx.ConnectError("down", request=request)
        return httpx.Response(201, json={"id": "r1"})

    api = ApiClient(
        service_token="x", http=httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="http://api")
    )
    sender = Sender(outbox, api, notify=notify, rng=lambda: 0.0)
    task = asyncio.create_task(sender.run())
    try:
        outcome = await sender.submit(
            "bot1.foundation", {"telegram_user_id": 1}, chat_id=1, user_id=1, lang="en", key="k"
        )
        assert outcome.state == "deferred"
        api_up[0] = True  # the sender retries after its backoff (BASE_DELAY with this jitter) without any kick
        await asyncio.wait_for(delivered.wait(), timeout=BASE_DELAY + 30)
        assert told == ["delivered"] and await outbox.pending() == []
        again = await sender.submit(
            "bot1.foundation", {"telegram_user_id": 1}, chat_id=1, user_id=1, lang="en", key="k"
        )
        assert again.state == "delivered"  # a repeated key is not posted again
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await outbox.close()


async def test_dead_letters_can_be_requeued_and_a_repeated_key_reports_the_refusal(tmp_path) -> None:
    outbox = await Outbox.open(tmp_path / "outbox.sqlite3")
    try:
        refused = Sender(
            outbox, answering(400, body={"status": 400, "code": "INVALID_CATALOG_REF", "field": "$.region_id"})
        )
        first = await refused.submit("bot1.foundation", {"a": 1}, chat_id=1, user_id=1, lang="en", key="abcdef12-key")
        again = await refused.submit("bot1.foundation", {"a": 1}, chat_id=1, user_id=1, lang="en", key="abcdef12-key")
        assert first.state == again.state == "rejected" and again.problem["code"] == "INVALID_CATALOG_REF"
        assert await outbox.requeue_dead(["ABCDEF12"]) == 1
        assert [i.key for i in await outbox.pending()] == ["abcdef12-key"] and await outbox.dead_letters() == []
        [outcome] = await Sender(outbox, answering(201, body={"id": "x"})).drain_once()
        assert outcome.state == "delivered"
    finally:
        await outbox.close()
