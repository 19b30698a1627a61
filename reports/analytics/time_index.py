"""In-memory indexes built once per snapshot so that a windowed count never scans the fact rows (DESIGN: "Analytics
never scan a million rows per request"). Instants are int64 microseconds since the epoch; windows are half-open.

- `GroupedTimes`: rows in time order with a per-block prefix table of counts per group; the count per group before
  any instant is a table row plus the rows of one block, exact to the microsecond; daily series take the counts at
  every local midnight once per snapshot (`reports.analytics.data.DailyCounts`).
- `LatestIndex`: "latest response per student inside [from, to)" counts. A response counts iff
  `from <= submitted_at < to <= superseded_at` (superseded_at = the next newer response's time, +inf when none), a
  two-sided condition. K equal-count time buckets: a table holds the counts of whole buckets (the triangle of
  bucket pairs a query can ask, per group); the at most three partial slices at the window's edges are scanned
  exactly (each at most N/K rows).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

import numpy as np

from ingest.http.windows import MAX_US, MIN_US


class GroupedTimes:
    """Counts per group of instants in half-open windows. Groups are numbered 0..n_groups-1 by the caller; only
    those present take space (a compact renumbering); `counts` come back in the caller's numbering, `before` in the
    order of `present`.

    Rows are kept in time order, cut into blocks of BLOCK rows, with each present group's count before every block
    (a prefix table): the count before an instant is the prefix of its block plus the rows of that one block before
    it. A request touches two blocks and two table rows, never a binary search over the whole column (which, with
    other requests in between, misses the CPU caches at every step)."""

    BLOCK = 512

    def __init__(self, groups: np.ndarray, instants: np.ndarray, n_groups: int) -> None:
        self.n_groups = n_groups
        self.size = len(instants)
        self.present, compact = np.unique(np.asarray(groups, dtype=np.int64), return_inverse=True)
        order = np.argsort(instants, kind="stable")
        self.ts = np.asarray(instants, dtype=np.int64)[order]
        self.group = compact.astype(np.intp)[order]
        width = len(self.present)
        blocks = -(-self.size // self.BLOCK)
        per_block = np.bincount(
            (np.arange(self.size) // self.BLOCK) * width + self.group, minlength=blocks * width
        ).reshape(blocks, width)
        self.prefix = np.zeros((blocks + 1, width), dtype=np.int64)  # row k: counts of the first k blocks
        np.cumsum(per_block, axis=0, out=self.prefix[1:])
        self._block_first = self.ts[:: self.BLOCK].tolist()  # each block's first instant, for `bisect`

    def before(self, instant: int) -> np.ndarray:
        """Rows of each present group with an instant before `instant` (int64 vector following `present`)."""
        blocks_before = bisect_left(self._block_first, instant)  # blocks that start before the instant
        if blocks_before == 0:
            return self.prefix[0]
        lo = (blocks_before - 1) * self.BLOCK
        i = lo + int(self.ts[lo : lo + self.BLOCK].searchsorted(instant, side="left"))
        return self.prefix[blocks_before - 1] + np.bincount(self.group[lo:i], minlength=len(self.present))

    def before_each(self, instants: np.ndarray) -> np.ndarray:
        """`before` for many instants at once (a (present, instants) matrix); for building, not per request."""
        out = np.zeros((len(self.present), len(instants)), dtype=np.int64)
        for row in range(len(self.present)):
            out[row] = self.ts[self.group == row].searchsorted(instants, side="left")
        return out

    def counts(self, start_us: int, end_us: int) -> np.ndarray:
        """Rows per group with start <= instant < end (int64 vector of length n_groups)."""
        out = np.zeros(self.n_groups, dtype=np.int64)
        out[self.present] = self.before(end_us) - self.before(start_us)
        return out

    @property
    def nbytes(self) -> int:
        return int(self.ts.nbytes + self.group.nbytes + self.prefix.nbytes)


def _bucket_edges(sorted_instants: np.ndarray, buckets: int) -> np.ndarray:
    """K+1 strictly increasing edges: MIN, K-1 interior quantiles, MAX (duplicates collapse: fewer buckets)."""
    n = len(sorted_instants)
    if n == 0 or buckets <= 1:
        return np.array([MIN_US, MAX_US], dtype=np.int64)
    cut = sorted_instants[(np.arange(1, buckets) * n) // buckets]
    return np.unique(np.concatenate([[MIN_US], cut, [MAX_US]]).astype(np.int64))


class LatestIndex:
    """Per-group counts of responses that are the latest of their student inside a window."""

    TABLE_BYTES = 16_000_000  # the whole-bucket table, at most, per index

    def __init__(self, groups: np.ndarray, submitted: np.ndarray, superseded: np.ndarray, n_groups: int) -> None:
        """`superseded` holds MAX_US for responses that are the latest of their student (no newer one)."""
        self.n_groups = n_groups
        order = np.argsort(submitted, kind="stable")
        self.ts = submitted[order].astype(np.int64)
        self.sup = superseded[order].astype(np.int64)
        # The smallest integer type that holds a group: a request scans a few thousand rows of it, and bytes read
        # are what it pays for (bincount widens them itself).
        self.group = groups[order].astype(np.min_scalar_type(max(n_groups - 1, 0)))
        latest = self.sup == MAX_US
        self.latest = GroupedTimes(self.group[latest], self.ts[latest], n_groups)
        # Table cells hold counts of one group: the smallest type that holds the largest group; the more buckets the
        # budget then allows, the fewer rows a request scans at the window's edges.
        largest = int(np.bincount(self.group, minlength=n_groups).max()) if len(self.ts) else 0
        self._cell = np.min_scalar_type(largest)
        k_budget = int(np.sqrt(2 * self.TABLE_BYTES / (max(n_groups, 1) * self._cell.itemsize)))
        k = max(1, min(512, k_budget, len(self.ts) // 256 or 1))
        self.edges = _bucket_edges(self.ts, k)
        self.k = len(self.edges) - 1
        self._edge_list = self.edges.tolist()  # per request, a window's buckets come from `bisect` over these
        self._interior = self._edge_list[1:-1]
        # Rows of bucket x are rows pos[x]..pos[x+1]-1 (rows are in submitted_at order).
        self._pos = self.ts.searchsorted(self.edges, side="left").tolist()
        a = self._bucket(self.ts)
        # c = K marks "never superseded", beyond every bucket.
        c = np.where(latest, self.k, self._bucket(self.sup))
        self.table = self._table(a, c)
        # Rows superseded in a later bucket than their own, in superseded_at order: per bucket x of superseded_at,
        # rows sup_pos[x]..sup_pos[x+1]-1.
        later = np.flatnonzero(~latest & (c > a))
        by_sup = later[np.argsort(self.sup[later], kind="stable")]
        self.sup_sorted = self.sup[by_sup]
        self.sup_a = a[by_sup].astype(np.min_scalar_type(self.k))
        self.sup_group = self.group[by_sup]
        self._sup_pos = self.sup_sorted.searchsorted(self.edges, side="left").tolist()

    def _bucket(self, values: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.edges[1:-1], values, side="right").astype(np.int64)

    def _table(self, a: np.ndarray, c: np.ndarray) -> np.ndarray:
        """T(x, hi)[g] = #{rows of group g: bucket(ts) < x and bucket(sup) > hi}, for 1 <= x <= hi < K: the only
        pairs a query asks (x is a window's first whole bucket or its end bucket, hi its end bucket). Stored as a
        triangle, row `_tri[hi] + x - 1`, half the memory of the full square."""
        k, g = self.k, self.n_groups
        self._tri = [(hi - 1) * hi // 2 for hi in range(k)]
        table = np.zeros((k * (k - 1) // 2, g), dtype=self._cell)
        by_c = np.argsort(c, kind="stable")
        c_starts = np.searchsorted(c[by_c], np.arange(k + 2), side="left").tolist()
        cells = a[by_c] * g + self.group[by_c].astype(np.int64)
        above = np.zeros((k, g), dtype=np.int64)  # above[x, g]: rows of bucket x whose sup bucket is > hi
        for hi in range(k - 1, 0, -1):
            lo, up = c_starts[hi + 1], c_starts[hi + 2]  # rows with sup bucket hi + 1 now count as above
            if up > lo:
                above += np.bincount(cells[lo:up], minlength=k * g).reshape(k, g)
            table[self._tri[hi] : self._tri[hi] + hi] = np.cumsum(above[:hi], axis=0)
        return table

    def _first_at_or_after(self, bucket: int, instant: int) -> int:
        """The first row of `bucket` (in submitted_at order) with submitted_at >= instant: a binary search inside
        the bucket's rows only, a few cache lines instead of the whole column."""
        lo, hi = self._pos[bucket], self._pos[bucket + 1]
        return lo + int(self.ts[lo:hi].searchsorted(instant, side="left"))

    def counts(self, start_us: int, end_us: int) -> np.ndarray:
        """Per group: responses with start <= ts < end <= superseded_at (int64 vector).

        Whole buckets of submitted_at come from the table; what it cannot answer exactly is scanned: the rows of the
        bucket holding `start` from start on, the rows of the bucket holding `end` up to end (both: still the
        latest at `end`), and the rows of the whole buckets superseded inside end's bucket but at or after `end`.
        The scanned rows are counted by one `bincount`: per request, numpy calls cost more than the rows."""
        if end_us >= MAX_US:
            return self.latest.counts(start_us, end_us)
        first = bisect_right(self._interior, start_us)
        last = bisect_right(self._interior, end_us)
        i = self._first_at_or_after(first, start_us)
        j = self._first_at_or_after(last, end_us)
        sup, group = self.sup, self.group
        if first == last:
            return np.bincount(group[i:j][sup[i:j] >= end_us], minlength=self.n_groups)
        head_end, tail_start = self._pos[first + 1], self._pos[last]
        head = group[i:head_end][sup[i:head_end] >= end_us]
        tail = group[tail_start:j][sup[tail_start:j] >= end_us]
        whole = first + 1  # buckets whole..last-1 lie inside the window
        if whole == last:
            return np.bincount(np.concatenate((head, tail)), minlength=self.n_groups)
        lo, hi = self._sup_pos[last], self._sup_pos[last + 1]
        s = lo + int(self.sup_sorted[lo:hi].searchsorted(end_us, side="left"))
        inside = self.sup_group[s:hi][self.sup_a[s:hi] >= whole]
        scanned = np.bincount(np.concatenate((head, tail, inside)), minlength=self.n_groups)
        # Rows of the whole buckets superseded after end's bucket: the table.
        row = self._tri[last] - 1
        return scanned + (self.table[row + last] - self.table[row + whole])

    @property
    def nbytes(self) -> int:
        arrays = (self.ts, self.sup, self.group, self.sup_sorted, self.sup_a, self.sup_group)
        return int(sum(x.nbytes for x in arrays) + self.table.nbytes + self.latest.nbytes)
