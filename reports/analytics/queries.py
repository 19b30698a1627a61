"""The analytics definitions (SPEC §8, RS §5 as intended): pure functions from one snapshot's `AnalyticsData` and
the parsed parameters to the response bodies. Bodies keep the reference's shapes; planned headcounts are added
beside roster totals as `planned`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
import numpy as np

from ingest.http.windows import Window
from reports.analytics import series_json
from reports.analytics.data import COURSE_YEARS, STATUSES, AnalyticsData, Applications, Catalog
from warehouse.contract import APPLICATION_KINDS

NOT_SET = "(not set)"

# --- bodies ------------------------------------------------------------------------------------------------------
# Bodies are trees built and dropped per request: `gc=False` keeps their dozens of cells out of the cycle collector.


class DirectionCount(msgspec.Struct, gc=False):
    label: str
    value: int
    direction_id: str
    code: str


class TrackCount(msgspec.Struct, gc=False):
    label: str
    value: int
    track_id: str
    code: str


class SubjectCount(msgspec.Struct, gc=False):
    label: str
    value: int
    subject_id: str
    code: str


class RegionCount(msgspec.Struct, gc=False):
    label: str
    value: int
    region_id: str | None
    code: str | None
    by_kind: dict[str, int]


class YearCoverage(msgspec.Struct, gc=False):
    course_year: int
    total: int
    responded: int
    coverage_percent: float
    planned: int


class ProgramCoverage(msgspec.Struct, gc=False):
    program_id: str
    program_name: str
    total: int
    responded: int
    coverage_percent: float
    planned: int


class ProgramRef(msgspec.Struct, gc=False):
    id: str
    name: str


class MatrixCell(msgspec.Struct, gc=False):
    program_id: str
    course_year: int
    total: int
    responded: int
    coverage_percent: float
    planned: int


class ProgramCourseMatrix(msgspec.Struct, gc=False):
    years: list[int]
    programs: list[ProgramRef]
    cells: list[MatrixCell]


class ProgramDetails(msgspec.Struct, gc=False):
    program_id: str
    program_name: str
    total: int
    responded: int
    coverage_percent: float
    employed: int
    unemployed: int
    planned: int


class ProgramYearCoverage(msgspec.Struct, gc=False):
    program_id: str
    program_name: str
    course_year: int
    total: int
    responded: int
    coverage_percent: float
    planned: int


class EnrollmentsOverview(msgspec.Struct, gc=False):
    total_students: int
    total_responded: int
    coverage_percent: float
    total_planned: int
    academic_year: str | None
    by_year: list[YearCoverage]
    by_program: list[ProgramYearCoverage]


class DailySeries(msgspec.Struct, gc=False):
    key: str | None
    code: str | None
    label: str
    total: int
    values: list[int]


class DailyAdmissions(msgspec.Struct, gc=False):
    group_by: str | None
    days: list[str]
    totals: list[int]
    total: int
    series: list[DailySeries]


class FunnelRow(msgspec.Struct, gc=False):
    kind: str
    total: int
    new: int
    submitted: int
    in_progress: int
    approved: int
    rejected: int


class Funnel(msgspec.Struct, gc=False):
    kinds: list[FunnelRow]
    all: FunnelRow


class EmploymentCell(msgspec.Struct, gc=False):
    program_id: str
    program_name: str
    course_year: int
    responded: int
    employed: int
    unemployed: int
    employment_percent: float


class EmploymentYear(msgspec.Struct, gc=False):
    course_year: int
    responded: int
    employed: int
    unemployed: int
    employment_percent: float


class Employment(msgspec.Struct, gc=False):
    campaign: str
    responded: int
    employed: int
    unemployed: int
    employment_percent: float
    by_year: list[EmploymentYear]
    by_program: list[EmploymentCell]


def percent(part: int, whole: int) -> float:
    """round(100 × part / whole, 2), capped at 100; 0 when whole is 0. In integers: rounding 10000 × part / whole
    half up gives the same hundredths except at an exact tie (…5 exactly), where Python rounds the nearest double of
    the quotient, so a tie is left to `round` itself. `round` with digits formats and parses a decimal string: a
    coverage answer asks for dozens of percents, and this is a quarter of its cost."""
    if whole <= 0:
        return 0.0
    if part >= whole:
        return 100.0  # the cap (and round(100.0, 2) itself)
    hundredths, rest = divmod(20000 * part + whole, 2 * whole)
    if rest == 0:
        return round(100 * part / whole, 2)
    return hundredths / 100


# --- bot1 --------------------------------------------------------------------------------------------------------


def _catalog_counts(data: AnalyticsData, grouping: str, window: Window) -> np.ndarray:
    apps = data.applications.get()
    return data.cached(("apps", grouping, *window.key()), lambda: apps.grouping(grouping).counts(*window.key()))


def _ranked(catalog: Catalog, counts: np.ndarray, lang: str | None) -> list[tuple[int, int, str]]:
    """(catalog index, count, label) of every set item with a count, by count desc, then label, then id."""
    present = np.flatnonzero(counts[: catalog.none])
    entries = catalog.entries
    rows = [(i, n, entries[i].label(lang)) for i, n in zip(present.tolist(), counts[present].tolist(), strict=True)]
    rows.sort(key=lambda r: (-r[1], r[2], entries[r[0]].id))
    return rows


def by_direction(data: AnalyticsData, window: Window, lang: str | None) -> list[DirectionCount]:
    catalog = data.catalog.get()
    ranked = _ranked(catalog, _catalog_counts(data, "direction", window), lang)
    return [DirectionCount(lbl, n, catalog.entries[i].id, catalog.entries[i].code) for i, n, lbl in ranked]


def by_track(data: AnalyticsData, window: Window, lang: str | None) -> list[TrackCount]:
    catalog = data.catalog.get()
    ranked = _ranked(catalog, _catalog_counts(data, "track", window), lang)
    return [TrackCount(lbl, n, catalog.entries[i].id, catalog.entries[i].code) for i, n, lbl in ranked]


def by_subject(data: AnalyticsData, window: Window, lang: str | None) -> list[SubjectCount]:
    catalog = data.catalog.get()
    ranked = _ranked(catalog, _catalog_counts(data, "subject", window), lang)
    return [SubjectCount(lbl, n, catalog.entries[i].id, catalog.entries[i].code) for i, n, lbl in ranked]


def by_region(data: AnalyticsData, window: Window, lang: str | None, kind: str | None) -> list[RegionCount]:
    catalog = data.catalog.get()
    kinds = len(APPLICATION_KINDS) + 1
    matrix = _catalog_counts(data, "region_kind", window).reshape(catalog.none + 1, kinds)[:, : len(APPLICATION_KINDS)]
    if kind is not None:
        keep = APPLICATION_KINDS.index(kind)
        matrix = matrix[:, keep : keep + 1]
        names: tuple[str, ...] = (kind,)
    else:
        names = APPLICATION_KINDS
    totals = matrix.sum(axis=1)
    present = np.flatnonzero(totals)
    rows = []
    for idx, total, per_kind in zip(present.tolist(), totals[present].tolist(), matrix[present].tolist(), strict=True):
        entry = catalog.entry(idx)
        label = entry.label(lang) if entry else NOT_SET
        by_kind = dict(zip(names, per_kind, strict=True))
        rows.append(RegionCount(label, total, entry.id if entry else None, entry.code if entry else None, by_kind))
    # "not set" goes last; the others by count desc, then label
    rows.sort(key=lambda r: (r.region_id is None, -r.value, r.label, r.region_id or ""))
    return rows


def _clip_to_data(apps: Applications, window: Window) -> tuple[int, int]:
    """An open side of the window ends at the data (a series over all time spans the days that have data)."""
    start, end = window.key()
    if window.start is None:
        start = int(apps.ts.min()) if len(apps.ts) else end
    if window.end is None:
        end = int(apps.ts.max()) + 1 if len(apps.ts) else start
    return start, end


class _DailySeriesJSON(msgspec.Struct, gc=False):
    """`DailySeries` with its values already encoded (what is sent is the same JSON)."""

    key: str | None
    code: str | None
    label: str
    total: int
    values: msgspec.Raw


class _DailyAdmissionsJSON(msgspec.Struct, gc=False):
    """`DailyAdmissions` with its arrays already encoded."""

    group_by: str | None
    days: msgspec.Raw
    totals: msgspec.Raw
    total: int
    series: list[_DailySeriesJSON]


def admissions_daily(
    data: AnalyticsData, window: Window, group_by: str | None, lang: str | None
) -> DailyAdmissions | _DailyAdmissionsJSON:
    apps = data.applications.get()
    start, end = _clip_to_data(apps, window)
    first, last = apps.days.covering(start, end) if start < end else (0, -1)
    if last < first:
        return DailyAdmissions(group_by, [], [], 0, [])
    # Without a group, the status grouping summed over statuses is the daily total.
    daily = apps.daily(group_by or "status")
    at_start, at_end = daily.grouped.before(start).tolist(), daily.grouped.before(end).tolist()
    # Per group (rows follow `grouped.present`): rows in the first and in the last day of the window, exactly.
    if first == last:
        first_counts = [e - s for s, e in zip(at_start, at_end, strict=True)]
        last_counts = first_counts
    else:
        first_counts = [m[first + 1] - s for m, s in zip(daily.at_midnight, at_start, strict=True)]
        last_counts = [e - m[last] for m, e in zip(daily.at_midnight, at_end, strict=True)]
    total = sum(at_end) - sum(at_start)
    series: list[_DailySeriesJSON] = []
    if group_by is not None:
        catalog = data.catalog.get()
        present = daily.grouped.present.tolist()
        for row, (g, s, e) in enumerate(zip(present, at_start, at_end, strict=True)):
            if e > s:
                key, code, label = _group_label(catalog, group_by, g, lang)
                values = series_json.series(daily.whole_days[row], first, last, first_counts[row], last_counts[row])
                series.append(_DailySeriesJSON(key, code, label, e - s, values))
        series.sort(key=lambda s: (s.key is None, -s.total, s.label, s.key or ""))
    totals = series_json.series(daily.total_days, first, last, sum(first_counts), sum(last_counts))
    return _DailyAdmissionsJSON(group_by, apps.days.iso_json.array(first, last + 1), totals, total, series)


def _group_label(catalog: Catalog, group_by: str, g: int, lang: str | None) -> tuple[str | None, str | None, str]:
    if group_by == "status":
        return STATUSES[g], STATUSES[g], STATUSES[g]
    entry = catalog.entry(g)
    if entry is None:
        return None, None, NOT_SET
    return entry.id, entry.code, entry.label(lang)


def funnel(data: AnalyticsData, window: Window) -> Funnel:
    apps = data.applications.get()
    kinds = len(APPLICATION_KINDS) + 1
    counts = data.cached(
        ("apps", "kind_status", *window.key()), lambda: apps.grouping("kind_status").counts(*window.key())
    )
    matrix = counts.reshape(kinds, len(STATUSES))[: len(APPLICATION_KINDS)].copy()
    # Drafts (status new) have no submission time: only an unbounded window contains them.
    if window.is_all_time:
        matrix[:, STATUSES.index("new")] += apps.drafts[: len(APPLICATION_KINDS)]
    rows = [_funnel_row(kind, matrix[i]) for i, kind in enumerate(APPLICATION_KINDS)]
    return Funnel(rows, _funnel_row("all", matrix.sum(axis=0)))


def _funnel_row(kind: str, counts: np.ndarray) -> FunnelRow:
    values = [int(v) for v in counts]
    return FunnelRow(kind, sum(values), *values)


# --- bot2 --------------------------------------------------------------------------------------------------------
#
# Per request the window's response counts come back as one nested list; the rest is plain Python over at most a
# few dozen programs × 5 course years. On arrays this small every numpy call costs more than its arithmetic, and
# in a request (cold caches between calls) about twice what a loop benchmark shows.

ZERO_YEARS = (0,) * len(COURSE_YEARS)


@dataclass(slots=True)
class ProgramRow:
    """One program of a coverage grid: per course year 1..5, roster total, responded, employed, planned."""

    program_id: str
    label: str
    total: Sequence[int]
    responded: Sequence[int]
    employed: Sequence[int]
    planned: Sequence[int]


@dataclass(slots=True)
class CoverageGrid:
    """The programs with any number in the window, in display order (label, then id), and the per-course-year sums
    over them."""

    rows: list[ProgramRow]
    academic_year: str | None
    total: list[int]
    responded: list[int]
    employed: list[int]
    planned: list[int]


@dataclass(slots=True)
class _StaticProgram:
    program_id: str
    label: str
    total: tuple[int, ...]
    planned: tuple[int, ...]
    has_roster: bool  # any roster total or planned headcount (such a program shows even without responses)


@dataclass(slots=True)
class _Static:
    """The window-independent part of a campaign's coverage in one label language: every program that can appear
    (roster totals, planned headcounts or any response of the campaign) in display order, where each one's
    responses are in the campaign's counts (`CampaignResponses.zero_row` when it has none), and the per-year sums
    of totals and planned headcounts."""

    programs: list[_StaticProgram]
    response_rows: np.ndarray
    academic_year: str | None
    total: list[int]
    planned: list[int]


def _static(data: AnalyticsData, campaign: str, academic_year: str | None, lang: str | None) -> _Static:
    catalog, coverage = data.catalog.get(), data.coverage.get()
    total: dict[int, list[int]] = {}
    planned: dict[int, list[int]] = {}
    for (program, year), n in coverage.totals.get(campaign, {}).items():
        total.setdefault(program, [0] * len(COURSE_YEARS))[year - 1] += n
    year_used = coverage.academic_year(campaign, academic_year)
    for (program, year), n in coverage.planned.get((campaign, year_used or ""), {}).items():
        planned.setdefault(program, [0] * len(COURSE_YEARS))[year - 1] += n
    responses = data.surveys.get().campaign(campaign)
    responding = responses.programs.tolist() if responses is not None else []
    response_row = {p: i for i, p in enumerate(responding)}
    with_roster = {p for p, years in (*total.items(), *planned.items()) if any(years)}
    programs, rows = [], []
    for p, pid, label in _program_order(catalog, sorted(with_roster | set(responding)), lang):
        programs.append(
            _StaticProgram(
                pid, label, tuple(total.get(p, ZERO_YEARS)), tuple(planned.get(p, ZERO_YEARS)), p in with_roster
            )
        )
        rows.append(response_row.get(p, len(responding)))
    return _Static(
        programs,
        np.array(rows, dtype=np.int64),
        year_used,
        [sum(p.total[y] for p in programs) for y in range(len(COURSE_YEARS))],
        [sum(p.planned[y] for p in programs) for y in range(len(COURSE_YEARS))],
    )


def coverage_grid(
    data: AnalyticsData, window: Window, campaign: str, academic_year: str | None, lang: str | None = None
) -> CoverageGrid:
    static = data.cached(
        ("coverage-static", campaign, academic_year, lang), lambda: _static(data, campaign, academic_year, lang)
    )
    responses = data.surveys.get().campaign(campaign)
    if responses is None:
        rows = [ProgramRow(p.program_id, p.label, p.total, ZERO_YEARS, ZERO_YEARS, p.planned) for p in static.programs]
        zeros = [0] * len(COURSE_YEARS)
        return CoverageGrid(rows, static.academic_year, static.total, zeros, zeros, static.planned)
    counts = data.cached(("latest", campaign, *window.key()), lambda: responses.counts(window))
    ordered = counts[static.response_rows]  # (programs in display order, year, [not employed, employed])
    responded, employed = ordered.sum(axis=2).tolist(), ordered[:, :, 1].tolist()
    by_year = counts.sum(axis=0).tolist()
    rows = [
        ProgramRow(p.program_id, p.label, p.total, r, e, p.planned)
        for p, r, e in zip(static.programs, responded, employed, strict=True)
        if p.has_roster or any(r)  # a program known only from responses shows when some are in the window
    ]
    return CoverageGrid(
        rows,
        static.academic_year,
        static.total,
        [n + e for n, e in by_year],
        [e for _, e in by_year],
        static.planned,
    )


def _program_order(catalog: Catalog, programs: list[int], lang: str | None) -> list[tuple[int, str, str]]:
    """(index, id, label) sorted by label, then id; the unknown program (a dangling id) is labelled as not set."""
    rows = []
    for p in programs:
        entry = catalog.entry(p)
        rows.append((p, entry.id if entry else "", entry.label(lang) if entry else NOT_SET))
    rows.sort(key=lambda r: (r[2], r[1]))
    return rows


def course_year_coverage(grid: CoverageGrid) -> list[YearCoverage]:
    return [
        YearCoverage(y, t, r, percent(r, t), pl)
        for y, t, r, pl in zip(COURSE_YEARS, grid.total, grid.responded, grid.planned, strict=True)
    ]


def program_coverage(grid: CoverageGrid, course_year: int | None) -> list[ProgramCoverage]:
    out = []
    for row in grid.rows:
        if course_year is None:
            t, r, pl = sum(row.total), sum(row.responded), sum(row.planned)
        else:
            y = course_year - 1
            t, r, pl = row.total[y], row.responded[y], row.planned[y]
        if t or r or pl:
            out.append(ProgramCoverage(row.program_id, row.label, t, r, percent(r, t), pl))
    return out


def program_course_matrix(grid: CoverageGrid) -> ProgramCourseMatrix:
    cells = [
        MatrixCell(row.program_id, y, t, r, percent(r, t), pl)
        for row in grid.rows
        for y, t, r, pl in zip(COURSE_YEARS, row.total, row.responded, row.planned, strict=True)
    ]
    programs = [ProgramRef(row.program_id, row.label) for row in grid.rows]
    return ProgramCourseMatrix(list(COURSE_YEARS), programs, cells)


def program_details_by_year(grid: CoverageGrid, course_year: int) -> list[ProgramDetails]:
    y = course_year - 1
    out = []
    for row in grid.rows:
        t, r, e, pl = row.total[y], row.responded[y], row.employed[y], row.planned[y]
        if t or r or pl:
            out.append(ProgramDetails(row.program_id, row.label, t, r, percent(r, t), e, r - e, pl))
    out.sort(key=lambda d: -d.total)  # stable: ties keep the name order
    return out


def enrollments_overview(grid: CoverageGrid) -> EnrollmentsOverview:
    by_program = [
        ProgramYearCoverage(row.program_id, row.label, y, t, r, percent(r, t), pl)
        for row in grid.rows
        for y, t, r, pl in zip(COURSE_YEARS, row.total, row.responded, row.planned, strict=True)
        if t or r or pl
    ]
    total, responded = sum(grid.total), sum(grid.responded)
    return EnrollmentsOverview(
        total,
        responded,
        percent(responded, total),
        sum(grid.planned),
        grid.academic_year,
        course_year_coverage(grid),
        by_program,
    )


def employment(grid: CoverageGrid, campaign: str) -> Employment:
    by_program = [
        EmploymentCell(pid, label, y, r, e, r - e, percent(e, r))
        for pid, label, responded, employed in ((w.program_id, w.label, w.responded, w.employed) for w in grid.rows)
        for y, r, e in zip(COURSE_YEARS, responded, employed, strict=True)
        if r
    ]
    by_year = [
        EmploymentYear(y, r, e, r - e, percent(e, r))
        for y, r, e in zip(COURSE_YEARS, grid.responded, grid.employed, strict=True)
    ]
    r_all, e_all = sum(grid.responded), sum(grid.employed)
    return Employment(campaign, r_all, e_all, r_all - e_all, percent(e_all, r_all), by_year, by_program)
