"""The analytics definitions (SPEC §8, RS §5 as intended): pure functions from one snapshot's `AnalyticsData` and
the parsed parameters to the response bodies. Bodies keep the reference's shapes; planned headcounts are added
beside roster totals as `planned`."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import numpy as np

from reports.analytics_data import COURSE_YEARS, STATUSES, AnalyticsData, Applications, Catalog
from reports.windows import Window
from warehouse.contract import APPLICATION_KINDS

NOT_SET = "(not set)"

# --- bodies ------------------------------------------------------------------------------------------------------


class DirectionCount(msgspec.Struct):
    label: str
    value: int
    direction_id: str
    code: str


class TrackCount(msgspec.Struct):
    label: str
    value: int
    track_id: str
    code: str


class SubjectCount(msgspec.Struct):
    label: str
    value: int
    subject_id: str
    code: str


class RegionCount(msgspec.Struct):
    label: str
    value: int
    region_id: str | None
    code: str | None
    by_kind: dict[str, int]


class YearCoverage(msgspec.Struct):
    course_year: int
    total: int
    responded: int
    coverage_percent: float
    planned: int


class ProgramCoverage(msgspec.Struct):
    program_id: str
    program_name: str
    total: int
    responded: int
    coverage_percent: float
    planned: int


class ProgramRef(msgspec.Struct):
    id: str
    name: str


class MatrixCell(msgspec.Struct):
    program_id: str
    course_year: int
    total: int
    responded: int
    coverage_percent: float
    planned: int


class ProgramCourseMatrix(msgspec.Struct):
    years: list[int]
    programs: list[ProgramRef]
    cells: list[MatrixCell]


class ProgramDetails(msgspec.Struct):
    program_id: str
    program_name: str
    total: int
    responded: int
    coverage_percent: float
    employed: int
    unemployed: int
    planned: int


class ProgramYearCoverage(msgspec.Struct):
    program_id: str
    program_name: str
    course_year: int
    total: int
    responded: int
    coverage_percent: float
    planned: int


class EnrollmentsOverview(msgspec.Struct):
    total_students: int
    total_responded: int
    coverage_percent: float
    total_planned: int
    academic_year: str | None
    by_year: list[YearCoverage]
    by_program: list[ProgramYearCoverage]


class DailySeries(msgspec.Struct):
    key: str | None
    code: str | None
    label: str
    total: int
    values: list[int]


class DailyAdmissions(msgspec.Struct):
    group_by: str | None
    days: list[str]
    totals: list[int]
    total: int
    series: list[DailySeries]


class FunnelRow(msgspec.Struct):
    kind: str
    total: int
    new: int
    submitted: int
    in_progress: int
    approved: int
    rejected: int


class Funnel(msgspec.Struct):
    kinds: list[FunnelRow]
    all: FunnelRow


class EmploymentCell(msgspec.Struct):
    program_id: str
    program_name: str
    course_year: int
    responded: int
    employed: int
    unemployed: int
    employment_percent: float


class EmploymentYear(msgspec.Struct):
    course_year: int
    responded: int
    employed: int
    unemployed: int
    employment_percent: float


class Employment(msgspec.Struct):
    campaign: str
    responded: int
    employed: int
    unemployed: int
    employment_percent: float
    by_year: list[EmploymentYear]
    by_program: list[EmploymentCell]


_PERCENTS: dict[tuple[int, int], float] = {}


def percent(part: int, whole: int) -> float:
    """round(100 × part / whole, 2), capped at 100; 0 when whole is 0. Remembered per (part, whole): a coverage
    answer asks for dozens, and the same pairs come back across windows."""
    if whole <= 0:
        return 0.0
    if part >= whole:
        return 100.0  # the cap (and round(100.0, 2) itself)
    key = (part, whole)
    value = _PERCENTS.get(key)
    if value is None:
        value = round(100 * part / whole, 2)
        if len(_PERCENTS) >= 200_000:
            _PERCENTS.clear()
        _PERCENTS[key] = value
    return value


# --- bot1 --------------------------------------------------------------------------------------------------------


def _catalog_counts(data: AnalyticsData, grouping: str, window: Window) -> np.ndarray:
    apps = data.applications.get()
    return data.cached(("apps", grouping, *window.key()), lambda: apps.grouping(grouping).counts(*window.key()))


def _ranked(catalog: Catalog, counts: np.ndarray, lang: str | None) -> list[tuple[int, int, str]]:
    """(catalog index, count, label) of every set item with a count, by count desc, then label, then id."""
    rows = []
    for idx in np.flatnonzero(counts[: catalog.none]):
        entry = catalog.entries[idx]
        rows.append((int(idx), int(counts[idx]), entry.label(lang)))
    rows.sort(key=lambda r: (-r[1], r[2], catalog.entries[r[0]].id))
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
    rows = []
    for idx in np.flatnonzero(totals):
        entry = catalog.entry(int(idx))
        by_kind = {name: int(matrix[idx, j]) for j, name in enumerate(names)}
        label = entry.label(lang) if entry else NOT_SET
        rows.append(
            RegionCount(label, int(totals[idx]), entry.id if entry else None, entry.code if entry else None, by_kind)
        )
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


def admissions_daily(data: AnalyticsData, window: Window, group_by: str | None, lang: str | None) -> DailyAdmissions:
    apps = data.applications.get()
    start, end = _clip_to_data(apps, window)
    days, first, last = apps.days.covering(start, end) if start < end else ([], 0, -1)
    if not days:
        return DailyAdmissions(group_by, [], [], 0, [])
    # Without a group, the status grouping summed over statuses is the daily total.
    grouped = apps.grouping(group_by or "status")
    matrix = grouped.series(start, end, first, last)  # row i: group grouped.present[i]
    totals = matrix.sum(axis=0)
    series: list[DailySeries] = []
    if group_by is not None:
        catalog = data.catalog.get()
        sums = matrix.sum(axis=1)
        rows = np.flatnonzero(sums)
        groups = grouped.present[rows].tolist()
        for g, total, counts in zip(groups, sums[rows].tolist(), matrix[rows].tolist(), strict=True):
            key, code, label = _group_label(catalog, group_by, g, lang)
            series.append(DailySeries(key, code, label, total, counts))
        series.sort(key=lambda s: (s.key is None, -s.total, s.label, s.key or ""))
    return DailyAdmissions(group_by, days, totals.tolist(), int(totals.sum()), series)


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


@dataclass
class CoverageGrid:
    """Per program present (catalog index in `programs`, in display order) and course year 1..5: roster total,
    responded, employed and planned, as plain lists (row i belongs to programs[i]); `year_sums` holds the column
    sums of each table (per course year over every program)."""

    programs: list[tuple[int, str, str]]  # (catalog index, id, label), sorted by label then id
    total: list[list[int]]
    responded: list[list[int]]
    employed: list[list[int]]
    planned: list[list[int]]
    academic_year: str | None
    year_sums: dict[str, list[int]]

    def rows(self) -> list[tuple[str, str, list[int], list[int], list[int], list[int]]]:
        return [
            (pid, label, self.total[i], self.responded[i], self.employed[i], self.planned[i])
            for i, (_, pid, label) in enumerate(self.programs)
        ]

    def by_year(self, name: str) -> list[int]:
        return self.year_sums[name]


@dataclass
class _Static:
    """The window-independent part of a campaign's coverage in one label language: every program that can appear
    (roster totals, planned headcounts or any response of the campaign), already in display order, with its totals
    and planned headcounts, and where each responding program's row is."""

    order: list[tuple[int, str, str]]
    tables: np.ndarray  # (4: total, responded, employed, planned; programs in `order`; 5 years), responses zero
    response_rows: np.ndarray  # row in `order` of each program of the campaign's `CampaignResponses.programs`
    academic_year: str | None


def _static(data: AnalyticsData, campaign: str, academic_year: str | None, lang: str | None) -> _Static:
    catalog, coverage = data.catalog.get(), data.coverage.get()
    size = (catalog.none + 1, len(COURSE_YEARS))
    total = np.zeros(size, dtype=np.int64)
    planned = np.zeros(size, dtype=np.int64)
    for (program, year), n in coverage.totals.get(campaign, {}).items():
        total[program, year - 1] += n
    year_used = coverage.academic_year(campaign, academic_year)
    for (program, year), n in coverage.planned.get((campaign, year_used or ""), {}).items():
        planned[program, year - 1] += n
    responses = data.surveys.get().campaign(campaign)
    responding = responses.programs if responses is not None else np.zeros(0, dtype=np.int64)
    candidates = set(np.flatnonzero((total + planned).sum(axis=1)).tolist()) | set(responding.tolist())
    order = _program_order(catalog, sorted(candidates), lang)
    rows = np.array([p for p, _, _ in order], dtype=np.int64)
    row_of = {p: i for i, (p, _, _) in enumerate(order)}
    response_rows = np.array([row_of[int(p)] for p in responding], dtype=np.int64)
    tables = np.zeros((4, len(order), len(COURSE_YEARS)), dtype=np.int64)
    tables[0], tables[3] = total[rows], planned[rows]
    return _Static(order, tables, response_rows, year_used)


def coverage_grid(
    data: AnalyticsData, window: Window, campaign: str, academic_year: str | None, lang: str | None = None
) -> CoverageGrid:
    static = data.cached(
        ("coverage-static", campaign, academic_year, lang), lambda: _static(data, campaign, academic_year, lang)
    )
    tables = static.tables
    responses = data.surveys.get().campaign(campaign)
    if responses is not None and len(responses.programs):
        counts = data.cached(("latest", campaign, *window.key()), lambda: responses.counts(window))
        tables = tables.copy()
        tables[1, static.response_rows] = counts.sum(axis=2)
        tables[2, static.response_rows] = counts[:, :, 1]
    # Programs without any number in this window drop out; the rest keep the precomputed display order. Few numpy
    # calls on one stacked array: per request, each call costs more than its arithmetic.
    keep = np.flatnonzero(tables.sum(axis=2).any(axis=0))
    kept = tables[:, keep]
    total, responded, employed, planned = kept.tolist()
    sums = kept.sum(axis=1).tolist()
    return CoverageGrid(
        [static.order[i] for i in keep.tolist()],
        total,
        responded,
        employed,
        planned,
        static.academic_year,
        dict(zip(("total", "responded", "employed", "planned"), sums, strict=True)),
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
    total, responded, planned = grid.by_year("total"), grid.by_year("responded"), grid.by_year("planned")
    return [
        YearCoverage(y, total[i], responded[i], percent(responded[i], total[i]), planned[i])
        for i, y in enumerate(COURSE_YEARS)
    ]


def program_coverage(grid: CoverageGrid, course_year: int | None) -> list[ProgramCoverage]:
    years = range(len(COURSE_YEARS)) if course_year is None else (course_year - 1,)
    out = []
    for pid, label, total, responded, _, planned in grid.rows():
        t, r, pl = (sum(row[y] for y in years) for row in (total, responded, planned))
        if t or r or pl:
            out.append(ProgramCoverage(pid, label, t, r, percent(r, t), pl))
    return out


def program_course_matrix(grid: CoverageGrid) -> ProgramCourseMatrix:
    cells = [
        MatrixCell(pid, y, t, r, percent(r, t), pl)
        for pid, _, total, responded, _, planned in grid.rows()
        for y, t, r, pl in zip(COURSE_YEARS, total, responded, planned, strict=True)
    ]
    return ProgramCourseMatrix(list(COURSE_YEARS), [ProgramRef(pid, label) for _, pid, label in grid.programs], cells)


def program_details_by_year(grid: CoverageGrid, course_year: int) -> list[ProgramDetails]:
    y = course_year - 1
    out = []
    for pid, label, total, responded, employed, planned in grid.rows():
        t, r, e, pl = total[y], responded[y], employed[y], planned[y]
        if t or r or pl:
            out.append(ProgramDetails(pid, label, t, r, percent(r, t), e, r - e, pl))
    out.sort(key=lambda d: -d.total)  # stable: ties keep the name order
    return out


def enrollments_overview(grid: CoverageGrid) -> EnrollmentsOverview:
    by_program = [
        ProgramYearCoverage(pid, label, y, total[i], responded[i], percent(responded[i], total[i]), planned[i])
        for pid, label, total, responded, _, planned in grid.rows()
        for i, y in enumerate(COURSE_YEARS)
        if total[i] or responded[i] or planned[i]
    ]
    total = sum(grid.by_year("total"))
    responded = sum(grid.by_year("responded"))
    return EnrollmentsOverview(
        total,
        responded,
        percent(responded, total),
        sum(grid.by_year("planned")),
        grid.academic_year,
        course_year_coverage(grid),
        by_program,
    )


def employment(grid: CoverageGrid, campaign: str) -> Employment:
    by_program = [
        EmploymentCell(
            pid, label, y, responded[i], employed[i], responded[i] - employed[i], percent(employed[i], responded[i])
        )
        for pid, label, _, responded, employed, _ in grid.rows()
        for i, y in enumerate(COURSE_YEARS)
        if responded[i]
    ]
    responded, employed = grid.by_year("responded"), grid.by_year("employed")
    by_year = [
        EmploymentYear(y, responded[i], employed[i], responded[i] - employed[i], percent(employed[i], responded[i]))
        for i, y in enumerate(COURSE_YEARS)
    ]
    r_all, e_all = sum(responded), sum(employed)
    return Employment(campaign, r_all, e_all, r_all - e_all, percent(e_all, r_all), by_year, by_program)
