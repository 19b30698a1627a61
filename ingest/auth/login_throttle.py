"""Login throttling (SPEC §5/§11): at most 10 attempts a minute per client IP and per e-mail, as a rolling limit.

A generic cell-rate algorithm (one timestamp per key in a Litestar store: memory, or Redis when configured) rather
than fixed one-minute windows, which would let 20 attempts through around a window boundary and make the limit
depend on when the first attempt fell.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from litestar.stores.base import Store

from ingest.http.rate_limit import rate_limited

ATTEMPTS_PER_MINUTE = 10


class RollingLimit:
    """`await limit.hit(key)` allows `count` hits per `period_s` seconds per key, in bursts of up to `count`."""

    def __init__(self, store: Store, count: int, period_s: float, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.interval = period_s / count
        self.tolerance = period_s - self.interval
        self.clock = clock

    async def hit(self, key: str, *, field: str | None = None) -> None:
        """Count one attempt; 429 RATE_LIMITED with Retry-After once the key is over its limit."""
        now = self.clock()
        raw = await self.store.get(key)
        tat = max(float(raw), now) if raw else now  # "theoretical arrival time" of the next allowed hit
        if tat - now > self.tolerance:
            raise rate_limited("Too many login attempts", tat - now - self.tolerance, field)
        new_tat = tat + self.interval
        await self.store.set(key, repr(new_tat).encode(), expires_in=math.ceil(new_tat - now) + 1)
