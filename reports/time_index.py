"""In-memory indexes built once per snapshot so that a windowed count never scans the fact rows (DESIGN: "Analytics
never scan a million rows per request"). Instants are int64 microseconds since the epoch; windows are half-open.

- `GroupedTimes`: rows sorted by (group, instant) as one int64 key; counts per group in any window are two binary
  searches per group (one vectorised `searchsorted`), exact to the microsecond; daily series are the same search
  at every local midnight inside the window.
- `LatestIndex`: "latest response per student inside [from, to)" counts. A response counts iff
  `from <= submitted_at < to <= superseded_at` (superseded_at = the next newer response's time, +inf when none), a
  two-sided condition. A grid of K equal-count time buckets holds the counts of whole buckets (a K×K table per
  group); the at most three partial slices at the edges are scanned exactly (each about N/K rows).
"""

from __future__ import annotations

import numpy as np

from reports.windows import MAX_US, MIN_US

INT64_MAX = np.iinfo(np.int64).max


class GroupedTimes:
    """Counts per group of instants in half-open windows."""

    def __init__(self, groups: np.ndarray, instants: np.ndarray, n_groups: int) -> None:
        self.n_groups = n_groups
        self.size = len(instants)
        groups = groups.astype(np.int64, copy=False)
        instants = instants.astype(np.int64, copy=False)
        self.lo = int(instants.min()) if self.size else 0
        self.hi = int(instants.max()) if self.size else 0
        # Each group owns a disjoint key range [g*span, (g+1)*span): offset instants lie in [0, span - 1).
        self.span = self.hi - self.lo + 2
        if n_groups * self.span >= INT64_MAX:
            raise ValueError("time range too wide for one key space")
        self.keys = np.sort(groups * self.span + (instants - self.lo))
        self._bases = np.arange(n_groups, dtype=np.int64) * self.span

    def _offsets(self, bounds: np.ndarray) -> np.ndarray:
        """Window bounds as offsets clipped into the key range of one group ([0, span - 1])."""
        return np.clip(bounds, self.lo, self.hi + 1) - self.lo

    def counts(self, start_us: int, end_us: int) -> np.ndarray:
        """Rows per group with start <= instant < end (int64 vector of length n_groups)."""
        bounds = self._offsets(np.array([start_us, end_us], dtype=np.int64))
        probes = (self._bases[:, None] + bounds[None, :]).ravel()
        pos = np.searchsorted(self.keys, probes, side="left").reshape(self.n_groups, 2)
        return pos[:, 1] - pos[:, 0]

    def series(self, edges_us: np.ndarray) -> np.ndarray:
        """Rows per group and interval [edges[i], edges[i+1]): an (n_groups, len(edges) - 1) matrix."""
        bounds = self._offsets(np.asarray(edges_us, dtype=np.int64))
        probes = (self._bases[:, None] + bounds[None, :]).ravel()
        pos = np.searchsorted(self.keys, probes, side="left").reshape(self.n_groups, len(bounds))
        return np.diff(pos, axis=1)

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes)


def _bucket_edges(sorted_instants: np.ndarray, buckets: int) -> np.ndarray:
    """K+1 strictly increasing edges: MIN, K-1 interior quantiles, MAX (duplicates collapse: fewer buckets)."""
    n = len(sorted_instants)
    if n == 0 or buckets <= 1:
        return np.array([MIN_US, MAX_US], dtype=np.int64)
    cut = sorted_instants[(np.arange(1, buckets) * n) // buckets]
    return np.unique(np.concatenate([[MIN_US], cut, [MAX_US]]).astype(np.int64))


class LatestIndex:
    """Per-group counts of responses that are the latest of their student inside a window."""

    MEMORY_BUDGET_CELLS = 4_000_000  # int32 cells of the K×K×G table: 16 MB at most per index

    def __init__(self, groups: np.ndarray, submitted: np.ndarray, superseded: np.ndarray, n_groups: int) -> None:
        """`superseded` holds MAX_US for responses that are the latest of their student (no newer one)."""
        self.n_groups = n_groups
        order = np.argsort(submitted, kind="stable")
        self.ts = submitted[order].astype(np.int64)
        self.sup = superseded[order].astype(np.int64)
        self.group = groups[order].astype(np.int64)
        latest = self.sup == MAX_US
        self.latest = GroupedTimes(self.group[latest], self.ts[latest], n_groups)
        k_budget = int(np.sqrt(self.MEMORY_BUDGET_CELLS / max(n_groups, 1)))
        k = max(1, min(256, k_budget, len(self.ts) // 256 or 1))
        self.edges = _bucket_edges(self.ts, k)
        self.k = len(self.edges) - 1
        self.a = self._bucket(self.ts)
        # c = K marks "never superseded", beyond every bucket.
        self.c = np.where(latest, self.k, self._bucket(self.sup))
        by_sup = np.argsort(self.sup, kind="stable")
        self.sup_sorted = self.sup[by_sup]
        self.sup_a = self.a[by_sup]
        self.sup_group = self.group[by_sup]
        self.table = self._table()

    def _bucket(self, values: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.edges[1:-1], values, side="right").astype(np.int64)

    def _table(self) -> np.ndarray:
        """U[x, hi, g] = #{rows of group g: bucket(ts) < x and bucket(sup) > hi}, for x in 0..K, hi in 0..K-1."""
        k, g = self.k, self.n_groups
        hist = np.bincount((self.a * (k + 1) + self.c) * g + self.group, minlength=k * (k + 1) * g)
        hist = hist.reshape(k, k + 1, g)
        # S[a, hi] = sum over c > hi of H[a, c]: a reversed cumulative sum along c, shifted by one.
        above = np.cumsum(hist[:, ::-1, :], axis=1)[:, ::-1, :]
        strictly_above = above[:, 1:, :]  # index hi → sum over c >= hi + 1
        table = np.zeros((k + 1, k, g), dtype=np.int32)
        np.cumsum(strictly_above, axis=0, out=table[1:])
        return table

    def _scan_ts(self, lo_us: int, hi_us: int, end_us: int) -> np.ndarray:
        """Exact count over rows with lo <= ts < hi that are still the latest at `end`."""
        i, j = np.searchsorted(self.ts, [lo_us, hi_us], side="left")
        keep = self.sup[i:j] >= end_us
        return np.bincount(self.group[i:j][keep], minlength=self.n_groups)

    def counts(self, start_us: int, end_us: int) -> np.ndarray:
        """Per group: responses with start <= ts < end <= superseded_at (int64 vector)."""
        if end_us >= MAX_US:
            return self.latest.counts(start_us, end_us)
        a_lo = int(self._bucket(np.array([start_us]))[0])
        b = int(self._bucket(np.array([end_us]))[0])
        if a_lo == b:
            return self._scan_ts(start_us, end_us, end_us)
        head_end, tail_start = int(self.edges[a_lo + 1]), int(self.edges[b])
        result = self._scan_ts(start_us, head_end, end_us) + self._scan_ts(tail_start, end_us, end_us)
        lo = a_lo + 1
        if lo < b:
            # Whole buckets lo..b-1: rows superseded after bucket b come from the table; rows superseded inside
            # bucket b are exact only when superseded_at >= end, so they are scanned by superseded_at.
            result = result + (self.table[b, b] - self.table[lo, b])
            i, j = np.searchsorted(self.sup_sorted, [end_us, int(self.edges[b + 1])], side="left")
            part_a = self.sup_a[i:j]
            keep = (part_a >= lo) & (part_a < b)
            result = result + np.bincount(self.sup_group[i:j][keep], minlength=self.n_groups)
        return result

    @property
    def nbytes(self) -> int:
        arrays = (self.ts, self.sup, self.group, self.a, self.c, self.sup_sorted, self.sup_a, self.sup_group)
        return int(sum(x.nbytes for x in arrays) + self.table.nbytes + self.latest.nbytes)
