"""What the analytics endpoints hold in memory for one published snapshot, built lazily from its marts (never from
the operational tables): the catalog, the bot1 application indexes, the bot2 latest-response indexes per campaign,
roster totals and planned headcounts. A new snapshot gets a new `AnalyticsData`; the old one is dropped."""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from ingest.contracts.fields import STATUSES
from ingest.http.windows import MAX_US, Window, to_us
from reports.analytics.series_json import JoinedJSON, counts_text
from reports.analytics.time_index import GroupedTimes, LatestIndex
from warehouse.contract import APPLICATION_KINDS
from warehouse.snapshot import Snapshot

if TYPE_CHECKING:  # DuckDB itself is loaded with the first snapshot (warehouse.snapshot), not at start-up
    import duckdb

COURSE_YEARS = (1, 2, 3, 4, 5)
LANGS = ("uz", "ru", "en")
T = TypeVar("T")


class Lazy(Generic[T]):
    """A value built on first use, once, even when several threads ask at the same time."""

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()
        self.built_in: int | None = None  # the thread that built it (requests build off the event loop)

    @property
    def ready(self) -> bool:
        return self._value is not None

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                    self.built_in = threading.get_ident()
        return self._value


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    type: str
    code: str
    name: str
    name_uz: str
    name_ru: str
    name_en: str

    def label(self, lang: str | None) -> str:
        """The catalog `name` (RS §5.4 label), or the name in `lang` when asked (falling back to `name`)."""
        if lang is None:
            return self.name
        return getattr(self, f"name_{lang}") or self.name


class Catalog:
    """Every catalog item, numbered 0..n-1 in `dim_catalog` order; index n stands for "not set"."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        rows = conn.execute(
            "SELECT item_id, type, code, name, name_uz, name_ru, name_en FROM dim_catalog "
            "ORDER BY type, sort_order, code"
        ).fetchall()
        self.entries = [CatalogEntry(*(v or "" for v in row)) for row in rows]
        self.index = {e.id: i for i, e in enumerate(self.entries)}
        self.none = len(self.entries)
        conn.execute("CREATE OR REPLACE TEMP TABLE catalog_idx (item_id VARCHAR, idx INTEGER)")
        if rows:
            conn.executemany("INSERT INTO catalog_idx VALUES (?, ?)", [(e.id, i) for i, e in enumerate(self.entries)])

    def entry(self, idx: int) -> CatalogEntry | None:
        return self.entries[idx] if 0 <= idx < self.none else None


def _case(column: str, values: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(values))
    return f"CASE {column} {whens} ELSE {len(values)} END"


class LocalDays:
    """Local midnights (as instants) and their dates over a range of days, for daily series without per-request
    time-zone arithmetic."""

    def __init__(self, first: date, last: date, tz: tzinfo) -> None:
        count = (last - first).days + 2
        dates = [first + timedelta(days=i) for i in range(count)]
        self.iso_json = JoinedJSON(b'"%s"' % d.isoformat().encode() for d in dates)
        self.starts = np.array(
            [to_us(datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)) for d in dates], dtype=np.int64
        )
        self._starts = self.starts.tolist()

    def covering(self, start_us: int, end_us: int) -> tuple[int, int]:
        """The indexes of the first and last local day that overlap [start, end) within this range (last < first
        when none)."""
        first = max(bisect_right(self._starts, start_us) - 1, 0)
        last = min(bisect_left(self._starts, end_us) - 1, len(self._starts) - 2)
        return first, last


class DailyCounts:
    """One daily grouping of admissions: each present group's count of rows before every local midnight (plain
    lists, rows follow `grouped.present`) and its whole-day counts pre-encoded, per group and summed over the groups
    (`reports.analytics.series_json`)."""

    def __init__(self, grouped: GroupedTimes, days: LocalDays) -> None:
        self.grouped = grouped
        before = grouped.before_each(days.starts)
        per_day = np.diff(before, axis=1)
        self.at_midnight: list[list[int]] = before.tolist()
        self.whole_days = [counts_text(row) for row in per_day.tolist()]
        self.total_days = counts_text(per_day.sum(axis=0).tolist())


# --- bot1 -------------------------------------------------------------------------------------------------------

GROUPINGS = ("direction", "track", "region", "status", "subject", "kind_status", "region_kind")
DAILY_GROUPINGS = ("direction", "track", "region", "status")


class Applications:
    """Submitted bot1 applications (submitted_at not null) as arrays, and one `GroupedTimes` per grouping."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, catalog: Catalog, tz: tzinfo) -> None:
        none = catalog.none
        sql = f"""
            SELECT {_case("f.kind", APPLICATION_KINDS)} AS kind, {_case("f.status", STATUSES)} AS status,
                   epoch_us(f.submitted_at) AS ts,
                   coalesce(r.idx, {none}) AS region, coalesce(d.idx, {none}) AS direction,
                   coalesce(t.idx, {none}) AS track, coalesce(s.idx, {none}) AS subject
            FROM fct_applications f
            LEFT JOIN catalog_idx r ON r.item_id = f.region_id
            LEFT JOIN catalog_idx d ON d.item_id = f.direction_id
            LEFT JOIN catalog_idx t ON t.item_id = f.track_id
            LEFT JOIN catalog_idx s ON s.item_id = f.subject_id
            WHERE f.submitted_at IS NOT NULL
        """
        cols = conn.execute(sql).fetchnumpy()
        self.kind = cols["kind"].astype(np.int8)
        self.status = cols["status"].astype(np.int8)
        self.ts = cols["ts"].astype(np.int64)
        self.dims = {name: cols[name].astype(np.int32) for name in ("region", "direction", "track", "subject")}
        self.n_catalog = none + 1
        drafts = conn.execute(
            f"SELECT {_case('kind', APPLICATION_KINDS)}, count(*) FROM fct_applications "
            "WHERE submitted_at IS NULL GROUP BY 1"
        ).fetchall()
        self.drafts = np.zeros(len(APPLICATION_KINDS) + 1, dtype=np.int64)
        for kind, count in drafts:
            self.drafts[kind] = count
        self.days = _local_days(self.ts, tz)
        self._groupings = {name: Lazy(lambda n=name: self._grouping(n)) for name in GROUPINGS}
        self._daily = {name: Lazy(lambda n=name: DailyCounts(self.grouping(n), self.days)) for name in DAILY_GROUPINGS}

    def _grouping(self, name: str) -> GroupedTimes:
        admissions = self.kind == APPLICATION_KINDS.index("admissions-2026")
        if name in DAILY_GROUPINGS:
            if name == "status":
                return GroupedTimes(self.status[admissions], self.ts[admissions], len(STATUSES))
            return GroupedTimes(self.dims[name][admissions], self.ts[admissions], self.n_catalog)
        if name == "subject":
            polito = self.kind == APPLICATION_KINDS.index("polito-academy")
            return GroupedTimes(self.dims["subject"][polito], self.ts[polito], self.n_catalog)
        kinds = len(APPLICATION_KINDS) + 1
        if name == "kind_status":
            return GroupedTimes(
                self.kind.astype(np.int32) * len(STATUSES) + self.status, self.ts, kinds * len(STATUSES)
            )
        return GroupedTimes(self.dims["region"].astype(np.int64) * kinds + self.kind, self.ts, self.n_catalog * kinds)

    def grouping(self, name: str) -> GroupedTimes:
        return self._groupings[name].get()

    def daily(self, name: str) -> DailyCounts:
        return self._daily[name].get()

    def parts(self, groupings: tuple[str, ...] = (), daily: str | None = None) -> list[Lazy[Any]]:
        """The lazily built indexes an answer reads, for the caller to build off the event loop first."""
        found: list[Lazy[Any]] = [self._groupings[name] for name in groupings]
        if daily is not None:
            found.append(self._daily[daily])
        return found


def _local_days(ts: np.ndarray, tz: tzinfo) -> LocalDays:
    """Local days covering the data (and a margin of three years each side for windows reaching past it)."""
    if len(ts):
        lo = datetime.fromtimestamp(int(ts.min()) / 1e6, tz).date()
        hi = datetime.fromtimestamp(int(ts.max()) / 1e6, tz).date()
    else:
        lo = hi = datetime.now(tz).date()
    margin = timedelta(days=3 * 366)
    return LocalDays(max(lo - margin, date(1971, 1, 1)), min(hi + margin, date(9998, 1, 1)), tz)


# --- bot2 -------------------------------------------------------------------------------------------------------


class CampaignResponses:
    """One campaign's survey responses (active roster rows only), indexed for "latest per student in a window".

    Groups are (program, course year, employed) with programs numbered compactly (`programs` maps back to the
    catalog index) and one spare program number after them that no response has: its counts are always zero."""

    def __init__(self, programs: np.ndarray, ts: np.ndarray, sup: np.ndarray, year: np.ndarray, employed: np.ndarray):
        self.programs, compact = np.unique(programs, return_inverse=True)
        self.zero_row = len(self.programs)
        groups = (compact.astype(np.int64) * len(COURSE_YEARS) + (year.astype(np.int64) - 1)) * 2 + employed
        self.index = LatestIndex(groups, ts, sup, (self.zero_row + 1) * len(COURSE_YEARS) * 2)

    def counts(self, window: Window) -> np.ndarray:
        """(programs + the zero row, 5 years, [not employed, employed]) response counts for the window."""
        flat = self.index.counts(window.start_us, window.end_us)
        return flat.reshape(self.zero_row + 1, len(COURSE_YEARS), 2)


class Surveys:
    """Each campaign's `CampaignResponses`, built on first use of that campaign."""

    def __init__(self, conn_factory: Callable[[Callable[[duckdb.DuckDBPyConnection], T]], T], catalog: Catalog):
        self._with_conn = conn_factory
        self._catalog = catalog
        names = self._with_conn(
            lambda c: c.execute("SELECT DISTINCT survey_campaign FROM fct_survey_responses ORDER BY 1").fetchall()
        )
        self._campaigns = {str(n): Lazy(lambda n=str(n): self._with_conn(lambda c: self._load(c, n))) for (n,) in names}

    def _load(self, conn: duckdb.DuckDBPyConnection, campaign: str) -> CampaignResponses:
        sql = f"""
            SELECT epoch_us(f.submitted_at) AS ts, coalesce(epoch_us(f.superseded_at), {MAX_US}) AS sup,
                   coalesce(p.idx, {self._catalog.none}) AS program, f.course_year AS year,
                   f.employed::INTEGER AS employed
            FROM fct_survey_responses f LEFT JOIN catalog_idx p ON p.item_id = f.program_id
            WHERE f.survey_campaign = ? AND f.roster_is_active
        """
        cols = conn.execute(sql, [campaign]).fetchnumpy()
        return CampaignResponses(
            np.asarray(cols["program"], dtype=np.int64),
            np.asarray(cols["ts"], dtype=np.int64),
            np.asarray(cols["sup"], dtype=np.int64),
            np.asarray(cols["year"], dtype=np.int64),
            np.asarray(cols["employed"], dtype=np.int64),
        )

    def campaign(self, name: str) -> CampaignResponses | None:
        lazy = self._campaigns.get(name)
        return lazy.get() if lazy is not None else None

    def ready(self, name: str) -> bool:
        lazy = self._campaigns.get(name)
        return lazy is None or lazy.ready


class Coverage:
    """Roster totals (active rows by roster campaign, program, year), planned headcounts per academic year, and the
    all-time responded counts by (campaign, program id, year) that the dashboard's headcount rows show."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
        self.totals: dict[str, dict[tuple[int, int], int]] = {}
        rows = conn.execute(
            f"""SELECT a.campaign, coalesce(p.idx, {catalog.none}), a.course_year, a.roster_total
                FROM agg_coverage a LEFT JOIN catalog_idx p ON p.item_id = a.program_id WHERE a.roster_total > 0"""
        ).fetchall()
        for campaign, program, year, total in rows:
            self.totals.setdefault(campaign, {})[(program, year)] = int(total)
        rows = conn.execute(
            "SELECT campaign, program_id, course_year, responded FROM agg_coverage WHERE responded > 0"
        ).fetchall()
        self.responded = {(campaign, str(program), int(year)): int(n) for campaign, program, year, n in rows}
        self.planned: dict[tuple[str, str], dict[tuple[int, int], int]] = {}
        rows = conn.execute(
            f"""SELECT e.campaign, e.academic_year, coalesce(p.idx, {catalog.none}), e.course_year, e.student_count
                FROM fct_enrollment e LEFT JOIN catalog_idx p ON p.item_id = e.program_id"""
        ).fetchall()
        for campaign, academic_year, program, year, count in rows:
            cell = self.planned.setdefault((campaign, academic_year), {})
            cell[(program, year)] = cell.get((program, year), 0) + int(count)

    def academic_year(self, campaign: str, asked: str | None) -> str | None:
        """The academic year whose headcounts are shown: the one asked for, else the latest one of the campaign."""
        if asked is not None:
            return asked
        years = sorted(y for c, y in self.planned if c == campaign)
        return years[-1] if years else None


# --- one snapshot ------------------------------------------------------------------------------------------------


class AnalyticsData:
    """Everything the analytics endpoints read for one snapshot; each part is built on first use."""

    def __init__(self, snapshot: Snapshot, tz: tzinfo) -> None:
        self.snapshot = snapshot
        self.tz = tz
        self._conn_lock = threading.RLock()
        self._conn: duckdb.DuckDBPyConnection | None = None
        self.catalog = Lazy(lambda: self._with_conn(Catalog))
        self.applications = Lazy(lambda: self._with_conn(lambda c: Applications(c, self.catalog.get(), tz)))
        self.surveys = Lazy(lambda: Surveys(self._with_conn, self.catalog.get()))
        self.coverage = Lazy(lambda: self._with_conn(lambda c: Coverage(c, self.catalog.get())))
        self._cache: dict[tuple[object, ...], object] = {}
        self._answers: dict[str, bytes] = {}
        self._answer_bytes = 0
        self._asked: set[str] = set()

    def _with_conn(self, build: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        # One connection per snapshot for building (views over its files); builds are serialised on it.
        with self._conn_lock:
            if self._conn is None:
                self._conn = self.snapshot.duckdb()
            return build(self._conn)

    def cached(self, key: tuple[object, ...], compute: Callable[[], T]) -> T:
        """Memoise a result per query (bounded): dashboards ask the same window of several endpoints. When full it
        is emptied at once: a memo, not a store, and one clear per 512 misses costs less than evicting on each."""
        hit = self._cache.get(key)
        if hit is not None:
            return hit  # type: ignore[return-value]
        value = compute()
        if len(self._cache) >= 512:
            self._cache.clear()
        self._cache[key] = value  # dict operations are atomic: a racing thread at worst computes it twice
        return value

    ANSWER_BYTES = 16_000_000  # encoded answers kept per snapshot, at most

    def answer(self, etag: str) -> bytes | None:
        """An encoded answer of this snapshot, by its ETag (which names the URL, the snapshot and the time zone)."""
        return self._answers.get(etag)

    def keep_answer(self, etag: str, body: bytes) -> None:
        """Remember an encoded answer once its query comes a second time: a stream of one-off queries (every window
        different) would otherwise fill the memo with answers nobody asks again. When the budget is spent, start
        again (a memo, not a store)."""
        if etag not in self._asked:
            if len(self._asked) >= 8192:
                self._asked.clear()
            self._asked.add(etag)
            return
        if self._answer_bytes + len(body) > self.ANSWER_BYTES:
            self._answers.clear()
            self._answer_bytes = 0
        self._answers[etag] = body
        self._answer_bytes += len(body)
