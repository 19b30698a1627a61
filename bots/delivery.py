"""Delivery of the outbox to the API: one immediate attempt when a user submits, then a sender task that drains
what is left with exponential backoff and jitter (honouring `Retry-After`), through `/ingest/batch` when several
items are waiting. A refusal (4xx about the content) goes to the dead-letter table and the user is told what to fix."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from bots.api_client import ApiClient, ApiRejected, ApiUnavailable, is_refusal
from bots.outbox import Outbox, OutboxItem
from ingest.contracts.fields import SUBMITTED_AT_MAX_AGE
from ingest.contracts.kinds import BY_BATCH_KIND

log = logging.getLogger(__name__)

TIMED_KINDS = frozenset({*BY_BATCH_KIND, "bot2.survey"})  # the kinds whose body carries a submission time

BASE_DELAY = 2.0
MAX_DELAY = 300.0
BATCH_LIMIT = 200


@dataclass(frozen=True)
class Outcome:
    state: Literal["delivered", "rejected", "deferred"]
    item: OutboxItem
    server_id: str = ""
    problem: dict[str, Any] = field(default_factory=dict)


Notify = Callable[[Outcome], Awaitable[None]]


def backoff_delay(attempts: int, rng: Callable[[], float] = random.random) -> float:
    """Full-jitter exponential backoff: a random delay in [base, min(cap, base * 2**attempts)]."""
    ceiling = min(MAX_DELAY, BASE_DELAY * (2 ** min(attempts, 16)))
    return BASE_DELAY + (ceiling - BASE_DELAY) * rng()


def wire_payload(item: OutboxItem, now: float) -> dict[str, Any]:
    """The body sent for an item: its payload with the moment the person confirmed as `submitted_at` (the
    submission's time, docs/submission-time.md). An item older than the server takes (SUBMITTED_AT_MAX_AGE: a
    month-long outage) goes without it and is stored at its delivery, rather than refused."""
    if not item.submitted_at or item.kind not in TIMED_KINDS:
        return item.payload
    try:
        confirmed = datetime.fromisoformat(item.submitted_at)
    except ValueError:
        return item.payload
    if confirmed.tzinfo is None or confirmed < datetime.fromtimestamp(now, UTC) - SUBMITTED_AT_MAX_AGE:
        return item.payload
    return {**item.payload, "submitted_at": item.submitted_at}


def _server_id(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("id") or body.get("response_id") or "")
    return ""


class Sender:
    """Owns the delivery of one bot's outbox. `notify` tells users about outcomes reached in the background."""

    def __init__(
        self,
        outbox: Outbox,
        api: ApiClient,
        notify: Notify | None = None,
        *,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.outbox = outbox
        self.api = api
        self.notify = notify
        self.clock = clock
        self.rng = rng
        self._wake = asyncio.Event()
        self._inflight: set[str] = set()  # keys being posted right now: never posted twice at once

    def kick(self) -> None:
        self._wake.set()

    async def submit(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        chat_id: int | None,
        user_id: int | None,
        lang: str,
        key: str | None,
        submitted_at: str = "",
    ) -> Outcome:
        """Store first (durable), then try once now; the caller tells the user what the outcome means.
        `submitted_at` is the moment the person confirmed (ISO 8601)."""
        key = key or str(uuid.uuid4())
        self._inflight.add(key)  # before the row exists, so a concurrent drain never posts it a second time
        try:
            item = await self.outbox.put(
                kind, payload, chat_id=chat_id, user_id=user_id, lang=lang, key=key, submitted_at=submitted_at
            )
            if item.seq == 0:  # this key was handled before (a repeated tap): report how it ended
                dead = await self.outbox.dead_letter_of(key)
                return Outcome("rejected", item, problem=dead.problem) if dead else Outcome("delivered", item)
            return (await self._deliver([item]))[0]
        finally:
            self._inflight.discard(key)
            self.kick()  # the sender task re-plans its sleep: a deferred item must not wait for the next kick

    async def drain_once(self, *, force: bool = False) -> list[Outcome]:
        """Deliver every due item (every queued item with `force`); background outcomes are notified."""
        done: list[Outcome] = []
        while True:
            due = await self.outbox.due(limit=BATCH_LIMIT, force=force)
            items = [i for i in due if i.key not in self._inflight]
            if not items:
                break
            self._inflight.update(i.key for i in items)
            try:
                outcomes = await self._deliver(items)
            finally:
                self._inflight.difference_update(i.key for i in items)
            done.extend(outcomes)
            if any(o.state == "deferred" for o in outcomes):
                break  # the API is not taking work now: wait for the backoff
        for outcome in done:
            if outcome.state != "deferred" and self.notify is not None:
                try:
                    await self.notify(outcome)
                except Exception:  # a failed notification must not stop delivery of the others
                    log.exception("notifying the user about %s failed", outcome.item.ref)
        return done

    async def run(self) -> None:
        """The sender task: drain, then sleep until the next item is due or a new one is queued."""
        while True:
            try:
                await self.drain_once()
            except Exception:  # keep draining after unexpected errors (the items stay queued)
                log.exception("outbox drain failed")
            next_at = await self.outbox.next_due_at()
            timeout = None if next_at is None else max(0.05, next_at - self.clock())
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)
            except TimeoutError:
                pass

    async def _deliver(self, items: list[OutboxItem]) -> list[Outcome]:
        if len(items) == 1:
            return [await self._deliver_one(items[0])]
        now = self.clock()
        try:
            results = await self.api.batch(
                [{"kind": i.kind, "idempotency_key": i.key, "payload": wire_payload(i, now)} for i in items]
            )
        except ApiUnavailable as exc:
            if exc.status in (404, 405):  # an API without the batch endpoint: one by one
                return [await self._deliver_one(item) for item in items]
            return await self._defer(items, exc)
        except ApiRejected as exc:  # the batch as a whole was refused (e.g. too large): try items singly
            log.warning("batch refused (%s); delivering one by one", exc)
            return [await self._deliver_one(item) for item in items]
        outcomes: list[Outcome] = []
        retry: list[OutboxItem] = []
        for item, result in zip(items, results, strict=True):
            status = result.get("status") if isinstance(result, dict) else None
            if status in ("created", "replayed"):
                outcomes.append(await self._delivered(item, str(result.get("id") or "")))
                continue
            problem = result.get("problem") if isinstance(result, dict) else None
            problem = problem if isinstance(problem, dict) else {}
            code = int(problem.get("status") or 500)
            if is_refusal(code, problem.get("code")):
                outcomes.append(await self._rejected(item, code, problem))
            else:
                retry.append(item)
        if retry:
            outcomes.extend(await self._defer(retry, ApiUnavailable("item error in batch")))
        return outcomes

    async def _deliver_one(self, item: OutboxItem) -> Outcome:
        try:
            answer = await self.api.submit(item.kind, wire_payload(item, self.clock()), item.key)
        except ApiUnavailable as exc:
            return (await self._defer([item], exc))[0]
        except ApiRejected as exc:
            return await self._rejected(item, exc.status, exc.problem)
        return await self._delivered(item, _server_id(answer.body))

    async def _delivered(self, item: OutboxItem, server_id: str) -> Outcome:
        await self.outbox.mark_delivered(item.key, server_id)
        return Outcome("delivered", item, server_id=server_id)

    async def _rejected(self, item: OutboxItem, status: int, problem: dict[str, Any]) -> Outcome:
        # Only status, code and field are logged: the detail may quote personal data.
        log.warning("%s %s refused: %s %s %s", item.kind, item.ref, status, problem.get("code"), problem.get("field"))
        await self.outbox.dead_letter(item.key, status, problem)
        return Outcome("rejected", item, problem=problem)

    async def _defer(self, items: list[OutboxItem], exc: ApiUnavailable) -> list[Outcome]:
        attempts = max(i.attempts for i in items)
        delay = backoff_delay(attempts, self.rng)
        if exc.retry_after is not None:
            delay = max(delay, exc.retry_after)
        if exc.status in (401, 403, 404):
            log.error("the API refused the bot's credentials or path (HTTP %s): check CRM_SERVICE_TOKEN", exc.status)
        log.info("%d item(s) deferred by %.1f s: %s", len(items), delay, exc.reason)
        await self.outbox.reschedule([i.key for i in items], self.clock() + delay, exc.reason)
        return [Outcome("deferred", i) for i in items]
