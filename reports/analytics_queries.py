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


def percent(part: int, whole: int) -> float:
    """round(100 × part / whole, 2), capped at 100; 0 when whole is 0."""
    if whole <= 0:
        return 0.0
    return min(round(100 * part / whole, 2), 100.0)


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
    if start >= end:
        return DailyAdmissions(group_by, [], [], 0, [])
    days, edges = apps.days.covering(start, end)
    matrix = apps.grouping(group_by or "all").series(edges)
    totals = matrix.sum(axis=0)
    series: list[DailySeries] = []
    if group_by is not None:
        catalog = data.catalog.get()
        for g in np.flatnonzero(matrix.sum(axis=1)):
            key, code, label = _group_label(catalog, group_by, int(g), lang)
            values = matrix[g]
            series.append(DailySeries(key, code, label, int(values.sum()), values.tolist()))
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
    """Per program (catalog index) and course year 1..5: roster total, responded, employed, planned."""

    programs: list[int]
    total: np.ndarray
    responded: np.ndarray
    employed: np.ndarray
    planned: np.ndarray
    academic_year: str | None


def coverage_grid(data: AnalyticsData, window: Window, campaign: str, academic_year: str | None) -> CoverageGrid:
    catalog = data.catalog.get()
    coverage = data.coverage.get()
    size = (catalog.none + 1, len(COURSE_YEARS))
    total = np.zeros(size, dtype=np.int64)
    responded = np.zeros(size, dtype=np.int64)
    employed = np.zeros(size, dtype=np.int64)
    planned = np.zeros(size, dtype=np.int64)
    for (program, year), n in coverage.totals.get(campaign, {}).items():
        total[program, year - 1] += n
    year_used = coverage.academic_year(campaign, academic_year)
    for (program, year), n in coverage.planned.get((campaign, year_used or ""), {}).items():
        planned[program, year - 1] += n
    responses = data.surveys.get().campaign(campaign)
    if responses is not None and len(responses.programs):
        counts = data.cached(("latest", campaign, *window.key()), lambda: responses.counts(window))
        responded[responses.programs] += counts.sum(axis=2)
        employed[responses.programs] += counts[:, :, 1]
    present = np.flatnonzero((total + responded + planned).sum(axis=1))
    return CoverageGrid([int(p) for p in present], total, responded, employed, planned, year_used)


def _program_order(catalog: Catalog, programs: list[int], lang: str | None) -> list[tuple[int, str, str]]:
    """(index, id, label) sorted by label, then id; the unknown program (a dangling id) is labelled as not set."""
    rows = []
    for p in programs:
        entry = catalog.entry(p)
        rows.append((p, entry.id if entry else "", entry.label(lang) if entry else NOT_SET))
    rows.sort(key=lambda r: (r[2], r[1]))
    return rows


def course_year_coverage(grid: CoverageGrid) -> list[YearCoverage]:
    total, responded, planned = grid.total.sum(axis=0), grid.responded.sum(axis=0), grid.planned.sum(axis=0)
    return [
        YearCoverage(y, int(total[i]), int(responded[i]), percent(int(responded[i]), int(total[i])), int(planned[i]))
        for i, y in enumerate(COURSE_YEARS)
    ]


def _years(course_year: int | None) -> slice:
    return slice(None) if course_year is None else slice(course_year - 1, course_year)


def program_coverage(
    grid: CoverageGrid, catalog: Catalog, course_year: int | None, lang: str | None
) -> list[ProgramCoverage]:
    cols = _years(course_year)
    out = []
    for p, pid, label in _program_order(catalog, grid.programs, lang):
        t, r, pl = (int(a[p, cols].sum()) for a in (grid.total, grid.responded, grid.planned))
        if t or r or pl:
            out.append(ProgramCoverage(pid, label, t, r, percent(r, t), pl))
    return out


def program_course_matrix(grid: CoverageGrid, catalog: Catalog, lang: str | None) -> ProgramCourseMatrix:
    order = _program_order(catalog, grid.programs, lang)
    cells = [
        MatrixCell(
            pid,
            y,
            int(grid.total[p, y - 1]),
            int(grid.responded[p, y - 1]),
            percent(int(grid.responded[p, y - 1]), int(grid.total[p, y - 1])),
            int(grid.planned[p, y - 1]),
        )
        for p, pid, _ in order
        for y in COURSE_YEARS
    ]
    return ProgramCourseMatrix(list(COURSE_YEARS), [ProgramRef(pid, label) for _, pid, label in order], cells)


def program_details_by_year(
    grid: CoverageGrid, catalog: Catalog, course_year: int, lang: str | None
) -> list[ProgramDetails]:
    y = course_year - 1
    out = []
    for p, pid, label in _program_order(catalog, grid.programs, lang):
        t, r, e, pl = (int(a[p, y]) for a in (grid.total, grid.responded, grid.employed, grid.planned))
        if t or r or pl:
            out.append(ProgramDetails(pid, label, t, r, percent(r, t), e, r - e, pl))
    out.sort(key=lambda d: -d.total)  # stable: ties keep the name order
    return out


def enrollments_overview(grid: CoverageGrid, catalog: Catalog, lang: str | None) -> EnrollmentsOverview:
    by_program = []
    for p, pid, label in _program_order(catalog, grid.programs, lang):
        for y in COURSE_YEARS:
            t, r, pl = (int(a[p, y - 1]) for a in (grid.total, grid.responded, grid.planned))
            if t or r or pl:
                by_program.append(ProgramYearCoverage(pid, label, y, t, r, percent(r, t), pl))
    total, responded = int(grid.total.sum()), int(grid.responded.sum())
    return EnrollmentsOverview(
        total,
        responded,
        percent(responded, total),
        int(grid.planned.sum()),
        grid.academic_year,
        course_year_coverage(grid),
        by_program,
    )


def employment(grid: CoverageGrid, catalog: Catalog, campaign: str, lang: str | None) -> Employment:
    by_program = []
    for p, pid, label in _program_order(catalog, grid.programs, lang):
        for y in COURSE_YEARS:
            r, e = int(grid.responded[p, y - 1]), int(grid.employed[p, y - 1])
            if r:
                by_program.append(EmploymentCell(pid, label, y, r, e, r - e, percent(e, r)))
    responded, employed = grid.responded.sum(axis=0), grid.employed.sum(axis=0)
    by_year = [
        EmploymentYear(
            y,
            int(responded[i]),
            int(employed[i]),
            int(responded[i] - employed[i]),
            percent(int(employed[i]), int(responded[i])),
        )
        for i, y in enumerate(COURSE_YEARS)
    ]
    r_all, e_all = int(responded.sum()), int(employed.sum())
    return Employment(campaign, r_all, e_all, r_all - e_all, percent(e_all, r_all), by_year, by_program)
