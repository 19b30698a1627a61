"""Each mart's contents on a small hand-made data set (tests/test_warehouse_data.py), on SQLite and Postgres."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.settings import Settings
from tests.test_warehouse_data import Data, at, hand_made
from warehouse.build import build
from warehouse.contract import MARTS
from warehouse.snapshot import Snapshot, current, parts


@pytest.fixture
async def built(settings: Settings, session: AsyncSession) -> tuple[Data, Snapshot]:
    data = await hand_made(session)
    result = build(settings)
    assert result.status == "published", result
    snapshot = current(settings)
    assert snapshot is not None and snapshot.id == result.snapshot_id
    return data, snapshot


def rows(snapshot: Snapshot, sql: str) -> list[tuple]:
    # through Arrow: DuckDB's own conversion of TIMESTAMPTZ to Python needs pytz
    table = snapshot.duckdb().sql(sql).to_arrow_table()
    return [tuple(row.values()) for row in table.to_pylist()]


async def test_every_mart_file_has_the_contract_schema(built: tuple[Data, Snapshot]) -> None:
    _, snap = built
    assert set(snap.files) == set(MARTS)
    for name, path in snap.files.items():
        files = parts(path)
        assert path.is_dir() == MARTS[name].segmented and files, name
        assert all(pq.read_schema(f).remove_metadata() == MARTS[name].schema for f in files), name
        assert sum(pq.read_metadata(f).num_rows for f in files) == snap.row_counts[name]


async def test_dim_catalog(built: tuple[Data, Snapshot]) -> None:
    d, snap = built
    got = rows(snap, "SELECT item_id, type, code, name, name_uz, name_ru, name_en, is_active FROM dim_catalog")
    assert len(got) == 7
    assert (d.id("dir1"), "direction", "DIR-1", "DIR-1 en", "DIR-1 uz", "DIR-1 ru", "DIR-1 en", True) in got


async def test_fct_applications(built: tuple[Data, Snapshot]) -> None:
    d, snap = built
    got = rows(
        snap,
        "SELECT application_id, kind, status, submitted_at, submitted_date, region_code, direction_code, "
        "direction_name_ru, track_code, subject_code, preferred_date FROM fct_applications",
    )
    by_id = {r[0]: r[1:] for r in got}
    assert len(got) == 7
    # 20:30 UTC is 01:30 the next day in Tashkent
    assert by_id[d.id("adm1")] == (
        "admissions-2026", "submitted", at("2026-03-01T20:30:00"), date(2026, 3, 2), "REG-A", "DIR-1", "DIR-1 ru",
        "TRK-1", None, None,
    )  # fmt: skip
    assert by_id[d.id("adm2")][4:6] == (None, "DIR-1")  # applicant without region
    assert by_id[d.id("adm3")][1:4] == ("new", None, None)
    assert by_id[d.id("tour1")][0] == "campus-tour" and by_id[d.id("tour1")][-1] == date(2026, 3, 10)
    assert by_id[d.id("fnd1")][3] == date(2026, 3, 1)  # 19:00 UTC = local midnight: the next day
    assert by_id[d.id("pol1")][8] == "SUB-1" and by_id[d.id("pol2")][8] is None
    # sorted by kind, then submitted_at with `new` last
    kinds = [r[1] for r in got]
    assert kinds == sorted(kinds)
    assert [r[0] for r in got[:3]] == [d.id("adm2"), d.id("adm1"), d.id("adm3")]


async def test_admissions_rollups(built: tuple[Data, Snapshot]) -> None:
    d, snap = built
    got = rows(
        snap,
        "SELECT submitted_date, direction_code, track_code, region_code, status, applications "
        "FROM agg_admissions_daily ORDER BY submitted_date",
    )
    assert got == [
        (date(2026, 3, 1), "DIR-1", None, None, "approved", 1),
        (date(2026, 3, 2), "DIR-1", "TRK-1", "REG-A", "submitted", 1),
    ]
    by = rows(snap, "SELECT dimension, submitted_date, value, code, applications FROM agg_admissions_daily_by")
    assert ("direction", date(2026, 3, 1), d.id("dir1"), "DIR-1", 1) in by
    assert ("track", date(2026, 3, 1), None, None, 1) in by
    assert ("status", date(2026, 3, 2), "submitted", "submitted", 1) in by
    assert len(by) == 8


async def test_polito_and_applications_rollups(built: tuple[Data, Snapshot]) -> None:
    _, snap = built
    polito = rows(snap, "SELECT submitted_date, subject_code, status, applications FROM agg_polito_daily")
    assert sorted(polito, key=str) == sorted(
        [(date(2026, 3, 3), "SUB-1", "in_progress", 1), (date(2026, 3, 3), None, "submitted", 1)], key=str
    )
    funnel = dict(rows(snap, "SELECT kind || '/' || status, sum(applications) FROM agg_applications_daily GROUP BY 1"))
    assert funnel == {
        "admissions-2026/submitted": 1,
        "admissions-2026/approved": 1,
        "admissions-2026/new": 1,
        "campus-tour/submitted": 1,
        "foundation/rejected": 1,
        "polito-academy/in_progress": 1,
        "polito-academy/submitted": 1,
    }
    new_rows = rows(snap, "SELECT submitted_date, region_code FROM agg_applications_daily WHERE status = 'new'")
    assert new_rows == [(None, "REG-A")]


async def test_survey_facts(built: tuple[Data, Snapshot]) -> None:
    d, snap = built
    got = rows(
        snap,
        "SELECT response_id, survey_campaign, student_external_id, program_code, course_year, roster_is_active, "
        "employed, superseded_at, is_latest, submitted_date FROM fct_survey_responses",
    )
    # each (campaign, student) group is contiguous and newest first; the groups come in any order
    groups = [[d.id(q) for q in group] for group in (("q6",), ("q4", "q3"), ("q2", "q1"), ("q5",))]
    order = [r[0] for r in got]
    assert sorted(order) == sorted(i for g in groups for i in g)
    for group in groups:
        start = order.index(group[0])
        assert order[start : start + len(group)] == group
    by_id = {r[0]: r[1:] for r in got}
    assert by_id[d.id("q1")][6:8] == (at("2026-03-04T08:00:00"), False)
    assert by_id[d.id("q2")][5:8] == (False, None, True)  # "unemployed" is not employed
    assert by_id[d.id("q3")][6:8] == (at("2026-03-02T08:00:00"), False)  # tie on submitted_at: created_at decides
    assert by_id[d.id("q4")][5:8] == (True, None, True)
    assert by_id[d.id("q5")][4] is False  # inactive roster row: still a response
    latest = rows(snap, "SELECT response_id FROM fct_survey_latest")
    assert sorted(r[0] for r in latest) == sorted(d.id(q) for q in ("q2", "q4", "q5", "q6"))


async def test_latest_within_a_window_is_a_filter(built: tuple[Data, Snapshot]) -> None:
    """The contract's rule: latest in [from, to) ⇔ in the window and superseded at/after `to` (or never)."""
    d, snap = built
    got = rows(
        snap,
        "SELECT response_id FROM fct_survey_responses WHERE survey_campaign = 'default' "
        "AND submitted_at >= TIMESTAMPTZ '2026-03-01 00:00:00+00' "
        "AND submitted_at < TIMESTAMPTZ '2026-03-03 00:00:00+00' "
        "AND (superseded_at IS NULL OR superseded_at >= TIMESTAMPTZ '2026-03-03 00:00:00+00')",
    )
    assert sorted(r[0] for r in got) == sorted([d.id("q1"), d.id("q4")])


async def test_agg_coverage(built: tuple[Data, Snapshot]) -> None:
    _, snap = built
    got = rows(
        snap,
        "SELECT campaign, program_code, course_year, roster_total, responded, employed, unemployed, planned_headcount "
        "FROM agg_coverage",
    )
    assert got == [
        ("2026-SPRING", "P-1", 1, 0, 1, 0, 1, 0),
        ("2026-SPRING", "P-2", 3, 1, 0, 0, 0, 7),
        ("default", "P-1", 1, 1, 1, 0, 1, 10),  # planned: only the active enrollment row
        ("default", "P-1", 2, 1, 1, 1, 0, 0),
        # ("default", "P-2", 5): its only roster row is inactive, so neither its total nor its response counts
    ]
    enrollment = rows(
        snap, "SELECT campaign, academic_year, program_code, course_year, student_count FROM fct_enrollment"
    )
    assert enrollment == [("2026-SPRING", "2025-2026", "P-2", 3, 7), ("default", "2025-2026", "P-1", 1, 10)]


async def test_empty_database_builds_empty_marts(settings: Settings) -> None:
    result = build(settings)
    assert result.status == "published", result
    snap = current(settings)
    assert snap is not None
    assert all(n == 0 for n in snap.row_counts.values())
    assert rows(snap, "SELECT count(*) FROM fct_survey_latest") == [(0,)]
