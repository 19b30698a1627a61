"""Daily series as pre-encoded JSON. A window's series is its two edge days, counted exactly per request, around
the whole days between them, whose counts do not depend on the window: those are encoded once per snapshot and
each request takes a slice of that text. A year of days for a dozen groups is then a few byte copies instead of
thousands of Python ints built and encoded per request."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec


class JoinedJSON:
    """JSON values (already encoded) written one after another, each followed by a comma, with the offset where
    each starts: values a..b-1 are one slice."""

    def __init__(self, encoded: Iterable[bytes]) -> None:
        parts = [value + b"," for value in encoded]
        self.text = b"".join(parts)
        self.offsets = [0]
        for part in parts:
            self.offsets.append(self.offsets[-1] + len(part))

    def between(self, a: int, b: int) -> bytes:
        """Values a..b-1, each followed by a comma (empty when a >= b)."""
        return self.text[self.offsets[a] : self.offsets[b]] if a < b else b""

    def array(self, a: int, b: int) -> msgspec.Raw:
        """Values a..b-1 as a JSON array."""
        return msgspec.Raw(b"[" + self.between(a, b).removesuffix(b",") + b"]")


def counts_text(counts: Sequence[int]) -> JoinedJSON:
    return JoinedJSON(b"%d" % n for n in counts)


def series(whole_days: JoinedJSON, first: int, last: int, first_count: int, last_count: int) -> msgspec.Raw:
    """The JSON array of days first..last: `first_count` and `last_count` for the edge days (exact for the window),
    `whole_days` value i for each day i strictly between them."""
    if first == last:
        return msgspec.Raw(b"[%d]" % first_count)
    return msgspec.Raw(b"[%d,%s%d]" % (first_count, whole_days.between(first + 1, last), last_count))
