"""`crm import reference` (issue 14): a hand-made reference database (tests/reference_db.py, own DDL from RS §2,
with RS §13's awkward rows) moved into the operational store on SQLite and on Postgres (the reference on the same
backend as the store): exact counts, uuids kept, refusals reported, idempotent, dry-run writes nothing, old staff
passwords and service tokens keep working, and the analytics give RS §5's figures or SPEC's where RS §13 says so."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from crm.reference_import import run
from crm.reference_import.run import CHUNK_ROWS, ImportReport, run_import, summary_line
from ingest.catalog.seed import seed_catalog
from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    CampusTourRequest,
    CatalogItem,
    RosterEntry,
    Student,
    SurveyResponse,
    User,
    metadata,
)
from tests.analytics_dataset import make_publisher, viewer_headers
from tests.conftest import create_pg_database, drop_pg_database, pg_admin_dsn, unique_db_name
from tests.e2e import clean_env
from tests.reference_db import (
    ADMIN_PASSWORD,
    BOT1_TOKEN,
    U,
    create_postgres,
    create_sqlite,
    fill,
    generated,
    write_frames,
)

API = "/api/v1"
# our table → (read, inserted, refused) for the hand-made reference
EXPECTED = {
    "catalog_item": (9, 9, 0),
    "catalog_relation": (2, 1, 1),
    "app_user": (3, 2, 1),
    "service_token": (4, 3, 1),
    "bot1_applicant": (3, 3, 0),
    "bot1_admissions_2026": (6, 5, 1),
    "bot1_campus_tour": (2, 2, 0),
    "bot1_foundation": (1, 1, 0),
    "bot1_polito_academy": (1, 1, 0),
    "bot2_roster": (7, 4, 1),
    "bot2_student": (6, 4, 0),
    "bot2_survey_response": (7, 7, 0),
    "bot2_enrollment": (3, 2, 1),
    "audit_log": (2, 2, 0),
}
REFUSED = {
    "catalog_relation": {U["rel_self"]},
    "app_user": {U["viewer_dup"]},
    "service_token": {U["tok_dash"]},
    "bot1_admissions_2026": {U["a6"]},
    "bot2_roster": {U["r4"]},
    "bot2_enrollment": {U["e3"]},
}
# rows whose student id differs only in case from another's (migration 0004's rule): merged id → kept id
MERGED = {
    "bot2_roster": {U["r6"]: U["r1"], U["r7"]: U["r3"]},
    "bot2_student": {U["s1"]: U["s6"], U["s7"]: U["s2"]},
}


@pytest.fixture
def reference(db_url: str, tmp_path: Path) -> Iterator[str]:
    """The reference database on the store's backend; its URL."""
    if db_url.startswith("sqlite"):
        ref = create_sqlite(str(tmp_path / "reference.sqlite3"))
        fill(ref)
        ref.conn.close()
        yield str(tmp_path / "reference.sqlite3")
        return
    name = unique_db_name("reference")
    url = create_pg_database(name)
    ref = create_postgres(pg_admin_dsn(url))
    fill(ref)
    ref.conn.close()
    yield pg_admin_dsn(url)
    drop_pg_database(name)


def counts(report: ImportReport) -> dict[str, tuple[int, int, int]]:
    return {r.table: (r.read, r.inserted, r.refused.height) for r in report.tables}


def table_counts(db_url: str) -> dict[str, int]:
    sql = [f'SELECT COUNT(*) FROM "{t}"' for t in EXPECTED]
    if db_url.startswith("sqlite"):
        with sqlite3.connect(db_url.split("///", 1)[1]) as conn:
            return {t: conn.execute(q).fetchone()[0] for t, q in zip(EXPECTED, sql, strict=True)}
    with psycopg.connect(pg_admin_dsn(db_url)) as conn:
        return {t: conn.execute(q).fetchone()[0] for t, q in zip(EXPECTED, sql, strict=True)}  # type: ignore[index]


def test_moves_every_table_with_exact_counts_and_refusals(reference: str, db_url: str) -> None:
    report = run_import(reference, db_url)
    assert counts(report) == EXPECTED
    refused = {r.table: {uuid.UUID(i) for i in r.refused["id"]} for r in report.tables if r.refused.height}
    assert refused == REFUSED
    assert all(r.refused["reason"].str.len_chars().min() > 10 for r in report.tables if r.refused.height)
    assert table_counts(db_url) == {t: n for t, (_, n, _) in EXPECTED.items()}
    notes = {r.table: dict(r.notes) for r in report.tables}
    assert notes["bot1_admissions_2026"] == {
        "status new with submitted_at: submitted_at cleared": 1,
        "submitted without submitted_at: set to created_at": 1,
    }
    assert report.counted_only == {"authn_revokedtoken": 2}


async def test_uuids_codes_dates_and_the_submitted_at_rule(reference: str, db_url: str, session: Any) -> None:
    run_import(reference, db_url)
    items = {i.id: i for i in await session.scalars(select(CatalogItem))}
    assert set(items) == {U[k] for k in ("dir_soft", "dir_mech", "track_it", "subj_math", "reg_tash", "reg_nocode",
                                         "prog_compe", "prog_blank", "child")}  # fmt: skip
    assert (items[U["reg_nocode"]].code, items[U["prog_blank"]].code) == ("REGION-001", "PROGRAM-001")
    assert (items[U["dir_soft"]].name_uz, items[U["child"]].parent_id) == ("Software Engineering uz", U["dir_soft"])
    apps = {a.id: a for a in await session.scalars(select(Admissions2026Application))}
    assert apps[U["a4"]].status == "new" and apps[U["a4"]].submitted_at is None
    assert apps[U["a5"]].submitted_at == apps[U["a5"]].created_at
    tours = {t.id: t.preferred_date for t in await session.scalars(select(CampusTourRequest))}
    assert {str(d) for d in tours.values()} == {"2026-03-01", "2026-03-05"}
    surveys = {s.id: s for s in await session.scalars(select(SurveyResponse))}
    assert surveys[U["sv5"]].submitted_at == surveys[U["sv5"]].created_at
    # gender and birth date from the applications' answers (the latest valid value); language stays ""
    people = {a.id: (a.gender, str(a.birth_date), a.language) for a in await session.scalars(select(Applicant))}
    assert people == {
        U["app1"]: ("male", "2007-04-03", ""),
        U["app2"]: ("unspecified", "None", ""),
        U["app3"]: ("unspecified", "None", ""),
    }


def merged(report: ImportReport) -> dict[str, dict[uuid.UUID, uuid.UUID]]:
    return {
        r.table: {uuid.UUID(i): uuid.UUID(into) for i, into in r.merges.select("id", "into").iter_rows()}
        for r in report.tables
        if r.merged
    }


def test_a_second_run_changes_nothing(reference: str, db_url: str) -> None:
    run_import(reference, db_url)
    again = run_import(reference, db_url)
    assert [(r.inserted, r.updated) for r in again.tables] == [(0, 0)] * len(EXPECTED)
    assert merged(again) == MERGED  # the reference's case-only duplicates are merged again, writing nothing
    assert {r.table: r.unchanged for r in again.tables} == {t: n for t, (_, n, _) in EXPECTED.items()}


def test_a_first_move_with_deferred_constraints_gives_the_same_rows(
    reference: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every table loaded the way a big first move loads on Postgres (constraints and indexes dropped, rebuilt and
    checked afterwards): the same counts, and every constraint and index back in place."""
    constraints = _constraints(db_url)
    monkeypatch.setattr(run, "DEFER_ROWS", 1)
    report = run_import(reference, db_url)
    assert counts(report) == EXPECTED
    assert table_counts(db_url) == {t: n for t, (_, n, _) in EXPECTED.items()}
    assert _constraints(db_url) == constraints
    assert sum(r.written for r in run_import(reference, db_url).tables) == 0


def test_dry_run_reports_everything_and_writes_nothing(reference: str, db_url: str) -> None:
    dry = run_import(reference, db_url, dry_run=True)
    assert counts(dry) == EXPECTED
    assert sum(r.refused.height for r in dry.tables) == 6
    assert summary_line(dry).startswith("would write 46 rows, refused 6 rows (listed above, with reasons; every")
    assert merged(dry) == MERGED
    assert set(table_counts(db_url).values()) == {0}


def test_an_interrupted_import_is_completed_by_the_next_run(reference: str, db_url: str) -> None:
    """What a kill -9 leaves: whole tables and chunks committed, later ones missing; the next run adds exactly those."""
    run_import(reference, db_url)
    lost = ["bot2_survey_response", "audit_log", "bot2_enrollment"]
    _delete(db_url, lost)
    again = run_import(reference, db_url)
    assert {r.table: r.inserted for r in again.tables if r.inserted} == {t: EXPECTED[t][1] for t in lost}
    assert table_counts(db_url) == {t: n for t, (_, n, _) in EXPECTED.items()}


def _delete(db_url: str, tables: list[str]) -> None:
    if db_url.startswith("sqlite"):
        with sqlite3.connect(db_url.split("///", 1)[1]) as conn:
            for t in tables:
                conn.execute(f'DELETE FROM "{t}"')
        return
    with psycopg.connect(pg_admin_dsn(db_url)) as conn:
        for t in tables:
            conn.execute(f'DELETE FROM "{t}"')


async def test_old_staff_password_logs_in_and_becomes_argon2(
    reference: str, db_url: str, client: Any, session: Any
) -> None:
    run_import(reference, db_url)
    response = await client.post(f"{API}/auth/login", json={"email": "admin@ttpu.uz", "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.text
    assert response.json()["user"]["role"] == "admin"
    stored = await session.scalar(select(User.password_hash).where(User.id == U["admin"]))
    assert stored.startswith("$argon2")
    await session.rollback()  # on SQLite the read's transaction holds the write lock
    wrong = await client.post(f"{API}/auth/login", json={"email": "admin@ttpu.uz", "password": "wrong-password"})
    assert wrong.status_code in (400, 401)
    run_import(reference, db_url)  # a re-run keeps the new hash: the password now belongs to our system
    assert (await session.scalar(select(User.password_hash).where(User.id == U["admin"]))).startswith("$argon2")
    await session.rollback()


async def test_reference_service_tokens_work_on_bot_endpoints(reference: str, db_url: str, client: Any) -> None:
    run_import(reference, db_url)
    ok = await client.get(f"{API}/bot/catalog", params={"type": "region"}, headers={"X-SERVICE-TOKEN": BOT1_TOKEN})
    assert ok.status_code == 200, ok.text
    revoked = await client.get(f"{API}/bot/catalog", params={"type": "region"}, headers={"X-SERVICE-TOKEN": "old"})
    assert revoked.status_code == 403


async def test_analytics_after_a_build(
    reference: str, db_url: str, app: Any, client: Any, db: Any, session: Any, settings: Any
) -> None:
    """by-direction: the reference was right (RS §5.4), the same counts. program-details-by-year: RS §13 item 11,
    `unemployed` is not employed and inactive roster rows do not count.
    course-year-coverage: totals are active roster rows (SPEC §8), not headcounts."""
    run_import(reference, db_url)
    headers = await viewer_headers(session, settings)
    await make_publisher(app, db, session, settings)()
    by_direction = (await client.get(f"{API}/analytics/admissions-2026/by-direction", headers=headers)).json()
    assert {(d["direction_id"], d["value"]) for d in by_direction} == {(str(U["dir_soft"]), 2), (str(U["dir_mech"]), 1)}
    details = (await client.get(f"{API}/analytics/bot2/program-details-by-year?course_year=1", headers=headers)).json()
    compe = next(d for d in details if d["program_id"] == str(U["prog_compe"]))
    # sen001's latest answer is `unemployed`; sen005's roster row is inactive. Reference: responded 2, employed 2.
    assert (compe["responded"], compe["employed"], compe["unemployed"]) == (1, 0, 1)
    years = (await client.get(f"{API}/analytics/bot2/course-year-coverage", headers=headers)).json()
    assert [(y["course_year"], y["total"]) for y in years][:2] == [(1, 2), (2, 1)]  # reference: 10 and 5


async def test_a_seeded_catalog_takes_the_reference_uuids(reference: str, db_url: str, session: Any) -> None:
    """`crm up` seeds the catalog with its own uuids; unreferenced items with the reference's codes are re-keyed."""
    await seed_catalog(session)
    await session.commit()
    report = run_import(reference, db_url)
    catalog = report.tables[0]
    assert (catalog.rekeyed, catalog.merged, catalog.refused.height) == (6, 0, 0)
    soft = await session.scalar(select(CatalogItem.id).where(CatalogItem.code == "DIR-SOFT-UZ"))
    assert soft == U["dir_soft"]
    await session.rollback()


# --- student ids that differ only in case (migration 0004) ---------------------------------------------------------


async def _people(session: Any) -> tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any]]:
    session.expunge_all()  # the rows as stored now, not as this session added them
    rosters = {r.id: r.student_external_id for r in await session.scalars(select(RosterEntry))}
    students = {
        s.id: (s.student_external_id, s.roster_id, s.telegram_user_id) for s in await session.scalars(select(Student))
    }
    responses = {r.id: (r.student_id, r.roster_id) for r in await session.scalars(select(SurveyResponse))}
    await session.rollback()
    return rosters, students, responses


async def test_case_only_duplicates_merge_the_way_0004_does(reference: str, db_url: str, session: Any) -> None:
    """Roster rows: the imported row wins over bot2_auto (r6 is older, r1 wins), else the oldest (r3 over r7).
    Students: the oldest wins (s6 over s1) spelled as its roster row, keeping its Telegram id; a winner without one
    takes the merged one's (s2 takes s7's 5007). Every merge is reported with its reason; responses follow."""
    report = run_import(reference, db_url)
    assert merged(report) == MERGED
    tables = {r.table: r for r in report.tables}
    assert (tables["bot2_roster"].merged, tables["bot2_student"].merged) == (2, 2)
    reasons = {uuid.UUID(i): why for i, why in tables["bot2_roster"].merges.select("id", "reason").iter_rows()}
    assert "reference student id SEN001 differs only in case from sen001" in reasons[U["r6"]]
    assert "an imported roster row wins over bot2_auto" in reasons[U["r6"]]
    assert "the oldest roster row wins" in reasons[U["r7"]]
    reasons = {uuid.UUID(i): why for i, why in tables["bot2_student"].merges.select("id", "reason").iter_rows()}
    assert "its Telegram id 5001 is dropped, the kept one has 5006" in reasons[U["s1"]]
    assert tables["bot2_student"].notes == {
        "student id differing only in case: merged into the kept row (listed above)": 2,
        "student took the Telegram id of a student merged into it": 1,
        "student id spelled as its roster row's (they differed only in case)": 1,
    }
    rosters, students, responses = await _people(session)
    assert rosters == {U["r1"]: "sen001", U["r2"]: "sen002", U["r3"]: "sen003", U["r5"]: "sen005"}
    assert students == {
        U["s6"]: ("sen001", U["r1"], 5006),
        U["s2"]: ("sen002", U["r2"], 5007),
        U["s3"]: ("sen003", U["r3"], None),
        U["s5"]: ("sen005", U["r5"], 5005),
    }
    assert responses == {
        U["sv1"]: (U["s6"], U["r1"]),
        U["sv2"]: (U["s6"], U["r1"]),
        U["sv3"]: (U["s2"], U["r2"]),
        U["sv4"]: (U["s3"], U["r3"]),
        U["sv5"]: (U["s5"], U["r5"]),
        U["sv6"]: (U["s6"], U["r1"]),
        U["sv7"]: (U["s2"], U["r2"]),
    }


async def test_case_only_duplicates_against_rows_already_in_the_store(
    reference: str, db_url: str, session: Any
) -> None:
    """A store used before the move: bot2 auto-enrolled `SEN002` (roster row, student with Telegram id 7777, one
    response). The reference's imported `sen002` wins over that bot2_auto row, and the older reference student s2 over
    the stored student: the stored rows go, their response points at the winners, every merge is reported (the
    same in a dry run), and a second run writes nothing."""
    now = datetime.now(UTC)
    session.add(CatalogItem(id=U["prog_compe"], type="program", code="B-IT-COMPE", name="Computer Engineering"))
    await session.flush()
    auto = RosterEntry(
        student_external_id="SEN002", roster_campaign="bot2_auto", program_id=U["prog_compe"], course_year=2
    )
    session.add(auto)
    await session.flush()
    bot = Student(student_external_id="SEN002", roster_id=auto.id, telegram_user_id=7777, created_at=now)
    session.add(bot)
    await session.flush()
    answer = SurveyResponse(
        student_id=bot.id, roster_id=auto.id, program_id=U["prog_compe"], course_year=2, submitted_at=now
    )
    session.add(answer)
    await session.commit()
    auto_id, bot_id, answer_id = auto.id, bot.id, answer.id

    dry = run_import(reference, db_url, dry_run=True)
    report = run_import(reference, db_url)
    expected = {
        "bot2_roster": {**MERGED["bot2_roster"], auto_id: U["r2"]},
        "bot2_student": {**MERGED["bot2_student"], bot_id: U["s2"]},
    }
    assert merged(dry) == merged(report) == expected
    assert [(r.inserted, r.updated, r.refused.height) for r in dry.tables] == [
        (r.inserted, r.updated, r.refused.height) for r in report.tables
    ]
    reasons = {uuid.UUID(i): why for i, why in report.tables[10].merges.select("id", "reason").iter_rows()}
    assert f"differs only in case from sen002: merged into {U['s2']}" in reasons[bot_id]
    assert "its Telegram id 7777 is dropped, the kept one has 5007" in reasons[bot_id]
    rosters, students, responses = await _people(session)
    assert auto_id not in rosters and bot_id not in students
    assert students[U["s2"]] == ("sen002", U["r2"], 5007)
    assert responses[answer_id] == (U["s2"], U["r2"])
    again = run_import(reference, db_url)
    assert sum(r.written for r in again.tables) == 0
    assert merged(again) == MERGED


# --- kill -9 -------------------------------------------------------------------------------------------------------

KILL_ROWS = 20_000  # applications and survey responses: the run goes on for seconds after its first commits
GENERATED = {
    "catalog_item": 12,
    "bot1_applicant": KILL_ROWS // 4,
    "bot1_admissions_2026": KILL_ROWS,
    "bot2_roster": KILL_ROWS // 2,
    "bot2_student": KILL_ROWS // 2,
    "bot2_survey_response": KILL_ROWS,
}


@pytest.fixture
def generated_reference(db_url: str, tmp_path: Path) -> Iterator[str]:
    """tests/reference_db.generated(KILL_ROWS) on the store's backend; its URL."""
    if db_url.startswith("sqlite"):
        ref = create_sqlite(str(tmp_path / "generated.sqlite3"))
        write_frames(ref, generated(KILL_ROWS))
        ref.conn.close()
        yield str(tmp_path / "generated.sqlite3")
        return
    name = unique_db_name("generated")
    dsn = pg_admin_dsn(create_pg_database(name))
    ref = create_postgres(dsn)
    write_frames(ref, generated(KILL_ROWS))
    ref.conn.close()
    yield dsn
    drop_pg_database(name)


def _query(db_url: str, sql: str) -> list[tuple[Any, ...]]:
    if db_url.startswith("sqlite"):
        with closing(sqlite3.connect(db_url.split("///", 1)[1], timeout=10)) as conn:
            return conn.execute(sql).fetchall()
    with psycopg.connect(pg_admin_dsn(db_url)) as conn:
        return [tuple(r) for r in conn.execute(sql).fetchall()]


def _generated_counts(db_url: str) -> dict[str, int]:
    return {t: _query(db_url, f'SELECT COUNT(*) FROM "{t}"')[0][0] for t in GENERATED}


def _dangling_links(db_url: str) -> dict[str, int]:
    """Rows of the moved tables whose foreign key points at no row (whatever the database enforces)."""
    out = {}
    for table in GENERATED:
        for fk in metadata.tables[table].foreign_keys:
            col, parent = fk.parent.name, fk.column.table.name
            sql = (
                f'SELECT COUNT(*) FROM "{table}" c WHERE c."{col}" IS NOT NULL '
                f'AND NOT EXISTS (SELECT 1 FROM "{parent}" p WHERE p.id = c."{col}")'
            )
            out[f"{table}.{col}"] = _query(db_url, sql)[0][0]
    return out


def _constraints(db_url: str) -> list[tuple[Any, ...]]:
    """Every constraint and index of our tables (Postgres: the ones a deferred load drops and rebuilds)."""
    if db_url.startswith("sqlite"):
        return _query(db_url, "SELECT type, name, tbl_name FROM sqlite_master WHERE type = 'index' ORDER BY name")
    return _query(
        db_url,
        "SELECT conname, contype FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
        "UNION ALL SELECT indexname, 'i' FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2",
    )


@pytest.mark.fault
def test_sigkill_mid_import_leaves_a_consistent_store_that_the_next_run_completes(
    generated_reference: str, db_url: str, tmp_path: Path
) -> None:
    """A `crm import reference` process killed with SIGKILL once its first tables are committed (synchronised on
    rows appearing in the store): every link valid, every constraint in place, each table empty, whole or whole
    chunks; the next run inserts exactly what is missing."""
    constraints = _constraints(db_url)
    env = clean_env(CRM_DATABASE_URL=db_url, CRM_ENV="dev", CRM_DATA_DIR=str(tmp_path / "data"))
    command = [sys.executable, "-m", "crm", "import", "reference", generated_reference]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _query(db_url, "SELECT COUNT(*) FROM bot1_applicant")[0][0]:
            assert proc.poll() is None, f"the import exited ({proc.returncode}) before its first commits"
            assert time.monotonic() < deadline, "no applicant committed within 60 s"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    killed = _generated_counts(db_url)
    assert killed["bot1_applicant"] == GENERATED["bot1_applicant"]
    assert killed != GENERATED, "the import finished before the kill"
    assert all(n in (0, GENERATED[t]) or n % CHUNK_ROWS == 0 for t, n in killed.items()), killed
    assert set(_dangling_links(db_url).values()) == {0}
    assert _constraints(db_url) == constraints

    again = run_import(generated_reference, db_url)
    assert {r.table: r.inserted for r in again.tables if r.table in GENERATED} == {
        t: n - killed[t] for t, n in GENERATED.items()
    }
    assert _generated_counts(db_url) == GENERATED
    assert set(_dangling_links(db_url).values()) == {0}
    assert _constraints(db_url) == constraints
