"""The same counts are computed twice (warehouse/contract.py, "Who reads what"): by the rollup marts that exports read
and by the analytics endpoints' own in-memory indexes over the facts. For the analytics test dataset and whole local
days, both answer the same numbers per group, on SQLite and Postgres."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.catalog.seed import seed_catalog
from ingest.core.db import make_sync_engine
from ingest.core.settings import Settings
from tests.analytics_dataset import build_dataset, make_publisher, viewer_headers
from warehouse.snapshot import current

A = "/api/v1/analytics"
Window = tuple[str | None, str | None]  # first and last local day, inclusive; None is open
# the dataset's local days run from 2026-03-02 to 2026-04-10
WINDOWS: list[Window] = [
    (None, None),
    ("2026-03-02", "2026-03-11"),
    ("2026-03-05", "2026-03-05"),
    ("2026-03-20", None),
    (None, "2026-03-15"),
]
DAILY_GROUPS = {"direction": "direction_id", "track": "track_id", "region": "region_id", "status": "status"}


@pytest.fixture
async def conn(app: Any, db: Any, session: AsyncSession, settings: Settings) -> duckdb.DuckDBPyConnection:
    """The analytics dataset, published; a DuckDB connection over the snapshot."""
    await seed_catalog(session)
    await session.commit()
    engine = make_sync_engine(settings.database_url)
    try:
        build_dataset(engine)
    finally:
        engine.dispose()
    await make_publisher(app, db, session, settings)()
    snapshot = current(settings)
    assert snapshot is not None
    return snapshot.duckdb()


@pytest.fixture
async def ask(client: Any, session: AsyncSession, settings: Settings) -> Any:
    auth = await viewer_headers(session, settings)

    async def get(path: str, params: dict[str, str]) -> Any:
        response = await client.get(A + path, params=params, headers=auth)
        assert response.status_code == 200, (path, params, response.text)
        return response.json()

    return get


def params(window: Window) -> dict[str, str]:
    return {name: day for name, day in zip(("from", "to"), window, strict=True) if day is not None}


def summed(
    conn: duckdb.DuckDBPyConnection, mart: str, keys: list[str], window: Window, where: str = "TRUE"
) -> dict[Any, int]:
    """sum(applications) of a daily rollup per key (a tuple when several) over the window's days."""
    sql, args = f"SELECT {', '.join(keys)}, sum(applications) FROM {mart} WHERE {where}", []
    if window[0] is not None:
        sql, args = sql + " AND submitted_date >= ?::DATE", [*args, window[0]]
    if window[1] is not None:
        sql, args = sql + " AND submitted_date <= ?::DATE", [*args, window[1]]
    rows = conn.execute(sql + " GROUP BY ALL", args).fetchall()
    return {(row[0] if len(keys) == 1 else tuple(row[:-1])): int(row[-1]) for row in rows if row[-1]}


def per_day(series: dict[str, Any], days: list[str]) -> dict[tuple[Any, str], int]:
    return {(series["key"], day): n for day, n in zip(days, series["values"], strict=True) if n}


async def test_admissions_and_polito_rollups_count_what_the_endpoints_count(conn, ask) -> None:
    day = "strftime(submitted_date, '%Y-%m-%d')"
    for window in WINDOWS:
        q = params(window)
        by_direction = {r["direction_id"]: r["value"] for r in await ask("/admissions-2026/by-direction", q)}
        assert by_direction == summed(conn, "agg_admissions_daily", ["direction_id"], window), window
        by_track = {r["track_id"]: r["value"] for r in await ask("/admissions-2026/by-track", q)}
        assert by_track == summed(conn, "agg_admissions_daily", ["track_id"], window, "track_id IS NOT NULL")
        by_subject = {r["subject_id"]: r["value"] for r in await ask("/polito-academy/by-subject", q)}
        assert by_subject == summed(conn, "agg_polito_daily", ["subject_id"], window, "subject_id IS NOT NULL")
        for group, column in DAILY_GROUPS.items():
            answer = await ask("/admissions-2026/daily", {**q, "group_by": group})
            served = {k: n for s in answer["series"] for k, n in per_day(s, answer["days"]).items()}
            assert served == summed(conn, "agg_admissions_daily", [column, day], window), (window, group)
            narrow = summed(conn, "agg_admissions_daily_by", ["value", day], window, f"dimension = '{group}'")
            assert served == narrow, (window, group)
        assert by_track and by_subject  # the windows hold data


async def test_applications_rollup_counts_what_the_funnel_and_regions_count(conn, ask) -> None:
    statuses = ("new", "submitted", "in_progress", "approved", "rejected")
    for window in WINDOWS:
        q = params(window)
        funnel = await ask("/applications/funnel", q)
        served = {(row["kind"], s): row[s] for row in funnel["kinds"] for s in statuses if row[s]}
        # drafts (status new) have no day: only the all-time funnel counts them, as the rollup's null-day rows
        assert served == summed(conn, "agg_applications_daily", ["kind", "status"], window), window
        by_region = await ask("/applications/by-region", q)
        served = {(r["region_id"], kind): n for r in by_region for kind, n in r["by_kind"].items() if n}
        submitted = "submitted_date IS NOT NULL"
        assert served == summed(conn, "agg_applications_daily", ["region_id", "kind"], window, submitted), window


async def test_coverage_rollup_counts_what_the_coverage_endpoints_count(conn, ask) -> None:
    """All time, per campaign × program × course year: roster total and responded (the latest response of a student
    in the campaign, counted only when its roster row is active) from the matrix, employed from the employment
    endpoint, and the planned headcount (agg_coverage sums every academic year; the endpoints show one at a time)."""
    rows = conn.execute(
        "SELECT campaign, program_id, course_year, roster_total, responded, employed, planned_headcount "
        "FROM agg_coverage"
    ).fetchall()
    mart = {(c, p, y): (t, r) for c, p, y, t, r, _, _ in rows if t or r}
    mart_employed = {(c, p, y): e for c, p, y, _, r, e, _ in rows if r}
    mart_planned = {(c, p, y): n for c, p, y, _, _, _, n in rows if n}
    served: dict[tuple[str, str, int], tuple[int, int]] = {}
    served_employed: dict[tuple[str, str, int], int] = {}
    served_planned: dict[tuple[str, str, int], int] = {}
    for campaign in {c for c, _, _ in mart} | {"default", "alt"}:
        matrix = await ask("/bot2/program-course-matrix", {"campaign": campaign})
        for cell in matrix["cells"]:
            if cell["total"] or cell["responded"]:
                served[(campaign, cell["program_id"], cell["course_year"])] = (cell["total"], cell["responded"])
        employment = await ask("/bot2/employment", {"campaign": campaign})
        for cell in employment["by_program"]:
            served_employed[(campaign, cell["program_id"], cell["course_year"])] = cell["employed"]
        years = conn.execute("SELECT DISTINCT academic_year FROM fct_enrollment WHERE campaign = ?", [campaign])
        for (academic_year,) in years.fetchall():
            matrix = await ask("/bot2/program-course-matrix", {"campaign": campaign, "academic_year": academic_year})
            for cell in matrix["cells"]:
                key = (campaign, cell["program_id"], cell["course_year"])
                served_planned[key] = served_planned.get(key, 0) + cell["planned"]
    assert served == mart
    assert served_employed == mart_employed
    assert {k: n for k, n in served_planned.items() if n} == mart_planned
    # the data decides something here: some latest responses belong to inactive roster rows and do not count
    assert conn.execute("SELECT count(*) FROM fct_survey_latest WHERE NOT roster_is_active").fetchone() != (0,)
    assert mart_planned
