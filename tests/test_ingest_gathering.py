"""Micro-batching of concurrent single submissions: grouped writes, yet one outcome per request (its own status,
problem, idempotency and audit row), on a live server so the requests are truly concurrent."""

from __future__ import annotations

import asyncio

import pytest

from ingest.core.schema import Admissions2026Application, AuditLog, FoundationRequest, IdempotencyRecord
from ingest.submissions.gathering import Gatherer
from ingest.submissions.write import Submission
from tests.ingest_support import API, applicant, catalog, count, live, tokens  # noqa: F401


async def test_concurrent_mixed_submissions_get_their_own_outcomes(live, tokens, catalog, db):  # noqa: F811
    direction_code, _ = catalog.first("direction")
    good = [
        live.post(
            f"{API}/bot1/admissions-2026/submit",
            json=applicant(100 + i % 5, direction_code=direction_code, first_name=f"N{i}"),
            headers=tokens.h1(**{"Idempotency-Key": f"g-{i}"}),
        )
        for i in range(30)
    ]
    bad = [
        live.post(
            f"{API}/bot1/admissions-2026/submit",
            json=applicant(200 + i, direction_code="NOPE"),
            headers=tokens.h1(**{"Idempotency-Key": f"b-{i}"}),
        )
        for i in range(5)
    ]
    mixed = [
        live.post(f"{API}/bot1/foundation/submit", json=applicant(300 + i), headers=tokens.h1()) for i in range(10)
    ]
    responses = await asyncio.gather(*good, *bad, *mixed)
    assert [r.status_code for r in responses[:30]] == [201] * 30
    assert [r.status_code for r in responses[30:35]] == [400] * 5
    assert all(r.json()["code"] == "INVALID_CATALOG_REF" for r in responses[30:35])
    assert [r.status_code for r in responses[35:]] == [201] * 10
    assert len({r.json()["id"] for r in responses[:30]}) == 30
    assert await count(db, Admissions2026Application) == 30
    assert await count(db, FoundationRequest) == 10
    assert await count(db, AuditLog) == 40
    assert await count(db, IdempotencyRecord) == 30


async def test_a_failing_write_fails_every_request_of_its_group():
    calls: list[int] = []

    async def flush(subs: list[Submission]) -> None:
        calls.append(len(subs))
        if len(calls) == 1:
            raise RuntimeError("database on fire")
        for sub in subs:
            sub.outcome = "created"

    gatherer = Gatherer(flush, max_items=3)
    subs = [Submission(kind="bot1.foundation", body=None) for _ in range(7)]
    results = await asyncio.gather(*(gatherer.submit(s) for s in subs), return_exceptions=True)
    assert calls == [3, 3, 1]
    assert [isinstance(r, RuntimeError) for r in results] == [True] * 3 + [False] * 4
    assert [s.outcome for s in subs] == [""] * 3 + ["created"] * 4


async def test_a_lone_request_is_written_at_once():
    started = asyncio.Event()

    async def flush(subs: list[Submission]) -> None:
        started.set()
        for sub in subs:
            sub.outcome = "created"

    gatherer = Gatherer(flush)
    sub = Submission(kind="bot1.foundation", body=None)
    await asyncio.wait_for(gatherer.submit(sub), timeout=5)
    assert started.is_set() and sub.outcome == "created"


@pytest.mark.parametrize("max_flushes", [1, 2])
async def test_groups_form_while_a_write_runs(max_flushes):
    entered, gate = asyncio.Event(), asyncio.Event()
    sizes: list[int] = []

    async def flush(subs: list[Submission]) -> None:
        sizes.append(len(subs))
        entered.set()
        await gate.wait()
        for sub in subs:
            sub.outcome = "created"

    gatherer = Gatherer(flush, max_flushes=max_flushes)
    first = asyncio.create_task(gatherer.submit(Submission(kind="k", body=None)))
    await entered.wait()  # the first write is running: what comes now has to wait for a later write
    others = [asyncio.create_task(gatherer.submit(Submission(kind="k", body=None))) for _ in range(10)]
    gate.set()
    await asyncio.gather(first, *others)
    assert sum(sizes) == 11 and sizes[0] == 1 and len(sizes) <= 1 + max_flushes
