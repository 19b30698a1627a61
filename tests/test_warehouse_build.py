"""Warehouse builds on SQLite and Postgres: incremental equals full after inserts, updates and catalog changes (and
deletes); a build killed with SIGKILL leaves the previous snapshot current; a failing check publishes nothing;
two concurrent builds → one runs; extraction reads one consistent snapshot."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import msgspec
import polars as pl
import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.catalog.seed import seed_catalog
from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    CatalogItem,
    EnrollmentHeadcount,
    FoundationRequest,
    RosterEntry,
    Student,
    SurveyResponse,
    utcnow,
)
from ingest.core.settings import Settings
from tests.test_warehouse_data import at, hand_made
from warehouse.build import HOLD_ENV, build
from warehouse.contract import MARTS
from warehouse.extract import NIL_ID, Mark, advance, capped, open_source
from warehouse.marts.applications import sort_applications
from warehouse.publish import PART_ROWS_ENV, last_failure
from warehouse.seed.mock import seed_mock
from warehouse.snapshot import Snapshot, current, parts, snapshots_dir, warehouse_dir
from warehouse.staging import SOURCES
from warehouse.status import warehouse_status

REPO = Path(__file__).resolve().parents[1]


def mart_frame(snapshot: Snapshot, name: str) -> pl.DataFrame:
    """A mart's rows in key order (row order within the file is not part of this comparison)."""
    df = pl.read_parquet(snapshot.files[name])
    return df.sort(list(MARTS[name].key), nulls_last=True)


def assert_same_marts(a: Snapshot, b: Snapshot) -> None:
    for name in MARTS:
        left, right = mart_frame(a, name), mart_frame(b, name)
        assert left.schema == right.schema, name
        assert left.equals(right), f"{name} differs:\n{left}\n{right}"


def same_files(a: Path, b: Path) -> bool:
    """The same file (hard links), or for a segmented mart the same parts."""
    pa_, pb = parts(a), parts(b)
    return len(pa_) == len(pb) and all(os.path.samefile(x, y) for x, y in zip(pa_, pb, strict=True))


def full_settings(settings: Settings) -> Settings:
    """The same database, a separate data dir: a full build there is the reference for an incremental one."""
    return msgspec.structs.replace(settings, data_dir=settings.data_dir.with_name("data-full"))


def published(settings: Settings, full: bool = False) -> Snapshot:
    result = build(settings, full=full)
    assert result.status == "published", result
    snap = current(settings)
    assert snap is not None and snap.id == result.snapshot_id
    return snap


def incremental_equals_full(settings: Settings) -> Snapshot:
    result = build(settings)
    assert result.status == "published" and not result.full, result
    snap = current(settings)
    assert snap is not None
    assert_same_marts(snap, published(full_settings(settings), full=True))
    return snap


async def test_incremental_equals_full_after_inserts_updates_catalog_changes_and_deletes(
    settings: Settings, session: AsyncSession
) -> None:
    d = await hand_made(session)
    first = published(settings)
    assert first.full

    # nothing changed: every mart is reused (hard links of the same files)
    result = build(settings)
    assert result.status == "published" and result.rebuilt == []
    again = current(settings)
    assert again is not None
    assert all(same_files(first.files[n], again.files[n]) for n in MARTS)

    # inserts: a new applicant with an application, a new response of s2
    new_applicant = Applicant(id=uuid.uuid4(), telegram_user_id=3, region_id=d.ids["region"])
    session.add(new_applicant)
    await session.flush()
    session.add(
        Admissions2026Application(
            applicant_id=new_applicant.id,
            direction_id=d.ids["dir2"],
            status="submitted",
            submitted_at=at("2026-03-07T10:00:00"),
        )
    )
    session.add(
        SurveyResponse(
            student_id=d.ids["s2"],
            roster_id=d.ids["r2"],
            program_id=d.ids["p1"],
            course_year=2,
            survey_campaign="default",
            employment_status="unemployed",
            submitted_at=at("2026-03-08T10:00:00"),
        )
    )
    await session.commit()
    snap = incremental_equals_full(settings)
    assert snap.row_counts["fct_applications"] == 8
    assert os.path.samefile(snap.files["dim_catalog"], first.files["dim_catalog"])  # catalog untouched: reused

    # updates: a status change, an applicant's region, a roster row retired
    await session.execute(
        update(Admissions2026Application)
        .where(Admissions2026Application.id == d.ids["adm1"])
        .values(status="approved", updated_at=utcnow())
    )
    await session.execute(
        update(Applicant).where(Applicant.id == d.ids["a2"]).values(region_id=d.ids["region"], updated_at=utcnow())
    )
    await session.execute(
        update(RosterEntry).where(RosterEntry.id == d.ids["r2"]).values(is_active=False, updated_at=utcnow())
    )
    await session.commit()
    snap = incremental_equals_full(settings)
    status = pl.read_parquet(snap.files["fct_applications"]).filter(pl.col("application_id") == d.id("adm1"))
    assert status["status"].to_list() == ["approved"]

    # catalog: a renamed item and a new one used by a new application
    await session.execute(
        update(CatalogItem).where(CatalogItem.id == d.ids["dir1"]).values(name_ru="Новое имя", updated_at=utcnow())
    )
    new_dir = CatalogItem(id=uuid.uuid4(), type="direction", code="DIR-3", name="DIR-3 en")
    session.add(new_dir)
    await session.flush()
    session.add(Admissions2026Application(applicant_id=d.ids["a1"], direction_id=new_dir.id, status="new"))
    await session.commit()
    snap = incremental_equals_full(settings)
    names = pl.read_parquet(snap.files["fct_applications"]).filter(pl.col("direction_id") == d.id("dir1"))
    assert set(names["direction_name_ru"]) == {"Новое имя"}

    # deletes: an application, an enrollment row, a student's responses and the student
    await session.execute(delete(FoundationRequest).where(FoundationRequest.id == d.ids["fnd1"]))
    await session.execute(delete(EnrollmentHeadcount).where(EnrollmentHeadcount.id == d.ids["e1"]))
    await session.execute(delete(SurveyResponse).where(SurveyResponse.student_id == d.ids["s3"]))
    await session.execute(delete(Student).where(Student.id == d.ids["s3"]))
    await session.commit()
    snap = incremental_equals_full(settings)
    assert snap.row_counts["fct_applications"] == 8
    assert snap.row_counts["fct_survey_responses"] == 6


def assert_parts_in_order(snap: Snapshot) -> None:
    """fct_applications' parts, read in name order (as DuckDB's glob reads them), are the mart in its sort order."""
    got = [r[0] for r in snap.duckdb().execute("SELECT application_id FROM fct_applications").fetchall()]
    assert got == sort_applications(pl.read_parquet(snap.files["fct_applications"]))["application_id"].to_list()


async def test_incremental_equals_full_on_mock_data(
    settings: Settings, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hundreds of rows: new rows are spliced into the sorted fact and the rollups move by their difference; with
    parts of 100 rows, only the parts that new or changed rows fall in are written anew."""
    monkeypatch.setenv(PART_ROWS_ENV, "100")
    await seed_catalog(session)
    await session.commit()
    seed_mock(settings.database_url, "small", 2, timezone=settings.timezone, anchor=date(2026, 4, 1))
    first = published(settings)
    first_parts = parts(first.files["fct_applications"])
    assert len(first_parts) > 5
    assert_parts_in_order(first)
    applicant = await session.scalar(select(Applicant.id).limit(1))
    direction = await session.scalar(select(CatalogItem.id).where(CatalogItem.type == "direction").limit(1))
    for when in ("2026-03-31T12:00:00", "2026-03-31T13:00:00", "2025-09-01T08:00:00", None):
        session.add(
            Admissions2026Application(
                applicant_id=applicant,
                direction_id=direction,
                status="new" if when is None else "submitted",
                submitted_at=None if when is None else at(when),
            )
        )
    await session.commit()
    snap = incremental_equals_full(settings)
    assert set(snap.manifest["rebuilt"]) >= {"fct_applications", "agg_admissions_daily"}
    assert "fct_survey_responses" not in snap.manifest["rebuilt"]
    assert_parts_in_order(snap)
    new_parts = parts(snap.files["fct_applications"])
    linked = [os.path.samefile(a, b) for a, b in zip(first_parts, new_parts, strict=True)]
    assert 0 < linked.count(False) <= 3 < linked.count(True)  # 4 new rows in 3 places: at most 3 parts

    oldest = await session.scalar(select(Admissions2026Application.id).order_by(Admissions2026Application.id).limit(1))
    await session.execute(
        update(Admissions2026Application)
        .where(Admissions2026Application.id == oldest)
        .values(status="rejected", submitted_at=at("2026-01-05T05:00:00"), updated_at=utcnow())
    )
    await session.commit()
    before = incremental_equals_full(settings)
    assert_parts_in_order(before)

    # parts grown beyond 4x the part size (here: the size shrinks to 20 rows) make the build cut the mart afresh
    monkeypatch.setenv(PART_ROWS_ENV, "20")
    await session.execute(
        update(Admissions2026Application)
        .where(Admissions2026Application.id == oldest)
        .values(status="approved", updated_at=utcnow())
    )
    await session.commit()
    recut = incremental_equals_full(settings)
    assert_parts_in_order(recut)
    old_parts, new_parts = parts(before.files["fct_applications"]), parts(recut.files["fct_applications"])
    assert len(new_parts) > 4 * len(old_parts)
    assert not any(os.path.samefile(a, b) for a in old_parts for b in new_parts)


def test_watermark_is_the_greatest_row_read_but_never_past_the_safe_time() -> None:
    t0, t1 = at("2026-03-01T00:00:00"), at("2026-03-02T00:00:00")
    frame = pl.DataFrame(
        {"id": ["b" * 8 + "-0000-0000-0000-000000000000", "a" * 8 + "-0000-0000-0000-000000000000"],
         "updated_at": [t1, t1]},
        schema={"id": pl.String, "updated_at": pl.Datetime("us", "UTC")},
    )  # fmt: skip
    mark = advance(Mark(t0, "f" * 8 + "-0000-0000-0000-000000000000"), frame)
    assert mark == Mark(t1, "b" * 8 + "-0000-0000-0000-000000000000")  # ties on updated_at: the greater id
    assert advance(mark, frame.clear()) == mark
    assert capped(mark, t1) == Mark(t1, NIL_ID)  # rows stamped at the safe time itself are read again
    assert capped(mark, at("2026-03-03T00:00:00")) == mark


# --- crashes, failures and concurrency ------------------------------------------------------------------------------


def _env(settings: Settings, hold: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env |= {
        "CRM_DATABASE_URL": settings.database_url,
        "CRM_DATA_DIR": str(settings.data_dir),
        "CRM_TIMEZONE": settings.timezone,
        "CRM_ENV": "test",
        "CRM_SECRET_KEY": settings.secret_key or "x" * 40,
    }
    if hold:
        env[HOLD_ENV] = hold
    return env


@contextmanager
def held_build(settings: Settings, phase: str) -> Iterator[subprocess.Popen[str]]:
    """`crm warehouse build` in a subprocess, stopped at `phase` (it printed the hold line and waits on stdin)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "crm", "warehouse", "build"],
        cwd=settings.data_dir.parent,
        env=_env(settings, phase),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        # blocks until the build reaches the hold point (bounded by pytest-timeout); other output (warnings) is kept
        for line in proc.stdout:
            if line.strip() == f"warehouse-hold {phase}":
                break
            seen.append(line)
        else:
            raise AssertionError(f"the build ended before {phase}: {''.join(seen)}")
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.mark.fault
@pytest.mark.parametrize("phase", ["mid_write", "before_publish", "mid_swap"])
async def test_sigkill_mid_build_leaves_the_previous_snapshot_current(
    settings: Settings, session: AsyncSession, phase: str
) -> None:
    d = await hand_made(session)
    before = published(settings)
    await session.execute(
        update(Admissions2026Application)
        .where(Admissions2026Application.id == d.ids["adm2"])
        .values(status="rejected", updated_at=utcnow())
    )
    await session.commit()

    with held_build(settings, phase) as proc:
        proc.send_signal(signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL

    after = current(settings)
    assert after is not None and after.id == before.id
    con = after.duckdb()
    assert con.execute("SELECT count(*) FROM fct_applications").fetchone() == (7,)
    assert con.execute(f"SELECT status FROM fct_applications WHERE application_id = '{d.id('adm2')}'").fetchone() == (
        "approved",
    )
    killed = {p.name for p in snapshots_dir(settings).iterdir()} - {before.id}
    assert len(killed) == 1  # the dead build's folder: half-written, or sealed but never published
    if phase == "mid_swap":  # killed between writing current.json's temporary file and the rename
        assert [p.name for p in warehouse_dir(settings).glob(".current.json.*.tmp")]
    # the lock died with the process: the next build runs, publishes, and clears the dead build's leftovers
    snap = published(settings)
    assert snap.id != before.id
    assert {p.name for p in snapshots_dir(settings).iterdir()} == {before.id, snap.id}
    assert not [p for p in warehouse_dir(settings).rglob("*.tmp")]


@pytest.mark.fault
async def test_two_concurrent_builds_one_runs(settings: Settings, session: AsyncSession) -> None:
    await hand_made(session)
    with held_build(settings, "after_extract") as proc:
        competing = build(settings)
        assert competing.status == "skipped"
        assert current(settings) is None  # the held build has not published yet
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        assert proc.wait() == 0
    snap = current(settings)
    assert snap is not None and snap.row_counts["fct_applications"] == 7


@contextmanager
def checks_disabled(settings: Settings, table: str, constraint: str, check: str) -> Iterator[str]:
    """Lets a test write a row the schema's CHECK would refuse (as an older database without the CHECK could hold).

    Yields the SQL prefix to use; restores the CHECK (NOT VALID, for rows written from now on) afterwards."""
    if settings.is_sqlite:
        yield "PRAGMA ignore_check_constraints = ON"
        return
    import psycopg

    from tests.conftest import pg_admin_dsn

    with psycopg.connect(pg_admin_dsn(settings.database_url), autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint}")
        try:
            yield "SELECT 1"
        finally:
            conn.execute(f"DELETE FROM {table} WHERE NOT ({check})")
            conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {constraint} CHECK ({check}) NOT VALID")


async def test_a_failing_check_publishes_nothing_and_is_reported(settings: Settings, session: AsyncSession) -> None:
    d = await hand_made(session)
    before = published(settings)
    with checks_disabled(settings, "bot2_roster", "ck_bot2_roster_course_year", "course_year BETWEEN 1 AND 5") as pre:
        await session.execute(text(pre))
        session.add(
            RosterEntry(student_external_id="S-BAD", program_id=d.ids["p1"], course_year=9, roster_campaign="default")
        )
        await session.commit()
        result = build(settings)
        assert result.status == "failed"
        assert {"mart": "agg_coverage", "check": "domain"} in [
            {k: f[k] for k in ("mart", "check")} for f in result.failures
        ]
        after = current(settings)
        assert after is not None and after.id == before.id  # nothing published
        failure = last_failure(settings)
        assert failure is not None and "course_year" in failure["error"]
        status = warehouse_status(settings)
        assert status["snapshot"]["id"] == before.id
        assert status["last_failure"]["failures"][0]["detail"].startswith("course_year")


async def test_extraction_reads_one_consistent_snapshot(settings: Settings, session: AsyncSession) -> None:
    d = await hand_made(session)
    table = SOURCES["bot1_admissions_2026"]
    with open_source(settings.database_url) as src:
        counts = src.counts()
        session.add(Admissions2026Application(applicant_id=d.ids["a1"], direction_id=d.ids["dir1"], status="new"))
        await session.commit()  # committed by another connection while the extraction is open
        assert src.read(table).height == counts["bot1_admissions_2026"] == 3
        assert src.counts() == counts
    with open_source(settings.database_url) as src:
        assert src.read(table).height == 4


def test_snapshot_ids_sort_by_build_time_within_one_second() -> None:
    """Publishing removes sealed folders that sort after the snapshot a build started from (never published): two
    builds in one second must therefore sort by time, not by their random suffix (a flaky CI run found this)."""
    from datetime import UTC, datetime

    from warehouse.build import new_snapshot_id

    start = datetime(2026, 12, 7, 18, 43, 37, 100, tzinfo=UTC)
    ids = [new_snapshot_id(start.replace(microsecond=start.microsecond + step)) for step in range(0, 2000, 7)]
    assert ids == sorted(ids)
