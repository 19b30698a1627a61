"""Fixed-window rate limits keyed by anything (a token id, an IP, an email), kept in a Litestar store: memory for
one process, Redis (CRM_REDIS_URL) when several API workers must share the counts."""

from __future__ import annotations

import math
import time

from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore

from ingest.core.problems import ProblemError


def make_store(redis_url: str | None) -> Store:
    if redis_url:
        from litestar.stores.redis import RedisStore

        return RedisStore.with_client(url=redis_url, namespace="crm-rate")
    return MemoryStore()


def rate_limited(what: str, wait_s: float, field: str | None) -> ProblemError:
    """429 RATE_LIMITED with `Retry-After` (whole seconds, at least 1)."""
    retry_after = max(1, math.ceil(wait_s))
    return ProblemError(
        429,
        "RATE_LIMITED",
        f"{what}; try again in {retry_after} s.",
        field=field,
        headers={"Retry-After": str(retry_after)},
    )


class RateLimiter:
    """`await limiter.hit(key, limit, window_s)` raises 429 with `Retry-After` once `limit` is exceeded."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def hit(self, key: str, limit: int, window_s: int, *, field: str | None = None) -> None:
        now = time.time()
        window = int(now // window_s)
        bucket = f"{key}:{window}"
        raw = await self.store.get(bucket)
        count = int(raw) + 1 if raw else 1
        await self.store.set(bucket, str(count).encode(), expires_in=window_s + 1)
        if count > limit:
            raise rate_limited("Too many requests", (window + 1) * window_s - now, field)

    async def reset(self, key: str, window_s: int) -> None:
        await self.store.delete(f"{key}:{int(time.time() // window_s)}")
