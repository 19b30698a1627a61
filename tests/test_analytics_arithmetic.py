"""The arithmetic under the analytics answers, each against its plain definition: the per-snapshot count indexes
against a brute-force count over the same rows (windows that start and end anywhere: on a row's own instant, on a
bucket edge, inside one bucket, open on either side), the pre-encoded daily series against the JSON of their
values, and the integer percent against Python's rounding."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ingest.http.windows import MAX_US, MIN_US
from reports.analytics.queries import percent
from reports.analytics.series_json import counts_text, series
from reports.analytics.time_index import GroupedTimes, LatestIndex

GROUPS = 12


def responses(seed: int, students: int, span_us: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group, submitted_at, superseded_at) of 1-4 responses per student; a coarse clock so instants collide."""
    rng = np.random.default_rng(seed)
    groups, submitted, superseded = [], [], []
    for _ in range(students):
        times = np.sort(rng.integers(0, span_us, size=rng.integers(1, 5)) // 1_000_000 * 1_000_000)
        times = np.unique(times)  # one student never answers twice in the same instant
        groups += rng.integers(0, GROUPS, size=len(times)).tolist()
        submitted += times.tolist()
        superseded += [*times[1:].tolist(), MAX_US]
    return (
        np.array(groups, dtype=np.int64),
        np.array(submitted, dtype=np.int64),
        np.array(superseded, dtype=np.int64),
    )


def brute(groups: np.ndarray, ts: np.ndarray, sup: np.ndarray, start: int, end: int) -> np.ndarray:
    keep = (ts >= start) & (ts < end) & (end <= sup)
    return np.bincount(groups[keep], minlength=GROUPS)


def windows(seed: int, index: LatestIndex, ts: np.ndarray, count: int) -> list[tuple[int, int]]:
    rng = np.random.default_rng(seed)
    lo, hi = int(ts.min()), int(ts.max())
    points = [
        *rng.choice(ts, size=count).tolist(),  # a row's own instant
        *index.edges[1:-1].tolist(),  # every bucket edge
        *rng.integers(lo - 10, hi + 10, size=count).tolist(),  # anywhere
    ]
    out = [(MIN_US, MAX_US), (MIN_US, int(np.median(ts))), (int(np.median(ts)), MAX_US)]
    for _ in range(count * 3):
        a, b = sorted(rng.choice(points, size=2).tolist())
        out.append((a, b + int(rng.integers(0, 2))))  # half the time end lands exactly on a point
        out.append((a, a + int(rng.integers(1, 5_000_000_000))))  # short windows: inside one or two buckets
        out.append((int(a), MAX_US) if rng.random() < 0.1 else (MIN_US, int(b)))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_latest_counts_equal_brute_force(seed: int) -> None:
    groups, ts, sup = responses(seed, students=4_000, span_us=400 * 86_400_000_000)
    index = LatestIndex(groups, ts, sup, GROUPS)
    assert index.k > 8  # the bucketed path is what is under test
    for start, end in windows(seed, index, ts, 150):
        got = index.counts(start, end)
        assert got.tolist() == brute(groups, ts, sup, start, end).tolist(), (start, end)


def test_latest_counts_with_few_rows_and_no_rows() -> None:
    groups, ts, sup = responses(4, students=20, span_us=10 * 86_400_000_000)
    index = LatestIndex(groups, ts, sup, GROUPS)
    for start, end in windows(4, index, ts, 30):
        assert index.counts(start, end).tolist() == brute(groups, ts, sup, start, end).tolist()
    empty = np.zeros(0, dtype=np.int64)
    assert LatestIndex(empty, empty, empty, GROUPS).counts(0, 10).tolist() == [0] * GROUPS


@pytest.mark.parametrize("students", [0, 3, 3_000])
def test_grouped_counts_equal_brute_force(students: int) -> None:
    groups, ts, _ = responses(5, students=students, span_us=60 * 86_400_000_000)
    grouped = GroupedTimes(groups, ts, GROUPS)
    rng = np.random.default_rng(5)
    lo, hi = (int(ts.min()), int(ts.max())) if len(ts) else (0, 10)
    bounds = [*rng.integers(lo - 10, hi + 10, size=300).tolist(), *(ts[:: GroupedTimes.BLOCK].tolist())]
    present = grouped.present.tolist()
    instants = np.array(bounds, dtype=np.int64)
    each = grouped.before_each(instants)
    for k, bound in enumerate(bounds):
        before = [int(((groups == g) & (ts < bound)).sum()) for g in present]
        assert grouped.before(bound).tolist() == before
        assert each[:, k].tolist() == before
        start, end = sorted((bound, bounds[(k * 7 + 3) % len(bounds)]))  # with any other bound
        expected = np.bincount(groups[(ts >= start) & (ts < end)], minlength=GROUPS)
        assert grouped.counts(start, end).tolist() == expected.tolist(), (start, end)


@pytest.mark.parametrize("counts", [[], [7], [0, 12, 3, 0, 45, 6]])
def test_pre_encoded_series_are_the_json_of_their_values(counts: list[int]) -> None:
    text = counts_text(counts)
    for a in range(len(counts) + 1):
        for b in range(a, len(counts) + 1):
            assert json.loads(bytes(text.array(a, b))) == counts[a:b]
    days = [*counts, 0, 0]  # edge days around every slice of whole days
    for first in range(len(days)):
        for last in range(first, len(days)):
            got = json.loads(bytes(series(counts_text(days), first, last, 100 + first, 200 + last)))
            want = [100 + first] if first == last else [100 + first, *days[first + 1 : last], 200 + last]
            assert got == want


def test_percent_equals_rounding_the_quotient() -> None:
    """`percent` computes in integers; it must give the very float `round(100 * part / whole, 2)` gives."""

    def reference(part: int, whole: int) -> float:
        return 0.0 if whole <= 0 else min(round(100 * part / whole, 2), 100.0)

    pairs = [(p, w) for w in range(0, 700) for p in range(0, w + 2)]
    rng = np.random.default_rng(9)
    wholes = rng.integers(1, 10**9, size=20_000).tolist()
    pairs += [(int(rng.integers(0, w + 1)), w) for w in wholes]
    pairs += [(w // 8, w) for w in range(8, 80_000, 8)]  # exact ties at the third decimal (…x.xx5)
    for part, whole in pairs:
        assert percent(part, whole) == reference(part, whole), (part, whole)
