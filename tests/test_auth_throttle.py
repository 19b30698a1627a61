"""The rolling login limit (10 a minute per key), driven by a fake clock: no window boundary can reset it."""

from __future__ import annotations

import pytest
from litestar.stores.memory import MemoryStore

from ingest.auth.login_throttle import RollingLimit
from ingest.core.problems import ProblemError


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("start", [1_000_000.0, 1_000_059.9])  # just after and just before a minute boundary
async def test_ten_per_minute_then_one_every_six_seconds(start: float) -> None:
    clock = Clock(start)
    limit = RollingLimit(MemoryStore(), 10, 60, clock=clock)
    for _ in range(10):
        await limit.hit("login-email:x")
    with pytest.raises(ProblemError) as refused:
        await limit.hit("login-email:x", field="email")
    assert refused.value.status == 429 and refused.value.field == "email"
    assert refused.value.headers["Retry-After"] == "6"
    await limit.hit("login-email:other")  # keys are independent
    clock.now += 6
    await limit.hit("login-email:x")  # one attempt regained every 6 s
    with pytest.raises(ProblemError):
        await limit.hit("login-email:x")
    clock.now += 60
    for _ in range(10):
        await limit.hit("login-email:x")
