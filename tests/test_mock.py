"""`crm seed mock`: deterministic synthetic data through the real schema, idempotent, with a realistic spread, and
marts that build and pass their checks on it (SQLite and Postgres)."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, date, datetime, timedelta

import polars as pl
import psycopg
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.catalog.seed import seed_catalog
from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    CatalogItem,
    EnrollmentHeadcount,
    RosterEntry,
    Student,
    SurveyResponse,
)
from ingest.core.settings import Settings
from warehouse.build import build
from warehouse.seed.bulk_load import open_loader
from warehouse.seed.mock import SIZES, Catalog, Plan, generate, seed_mock

ANCHOR = date(2026, 4, 1)
TABLES = {
    "bot1_applicant": Applicant,
    "bot1_admissions_2026": Admissions2026Application,
    "bot2_roster": RosterEntry,
    "bot2_student": Student,
    "bot2_survey_response": SurveyResponse,
    "bot2_enrollment": EnrollmentHeadcount,
}


async def counts(session: AsyncSession) -> dict[str, int]:
    return {name: await session.scalar(select(func.count()).select_from(model)) for name, model in TABLES.items()}


async def seeded(session: AsyncSession, settings: Settings) -> dict[str, int]:
    await seed_catalog(session)
    await session.commit()
    result = seed_mock(settings.database_url, "small", 1, timezone=settings.timezone, anchor=ANCHOR)
    assert result.loaded
    return result.counts


async def test_small_loads_rs_sizes_and_a_rerun_changes_nothing(settings: Settings, session: AsyncSession) -> None:
    loaded = await seeded(session, settings)
    small = SIZES["small"]
    got = await counts(session)
    assert got["bot1_applicant"] == small.applicants == 350
    assert got["bot1_admissions_2026"] == small.admissions == 300
    assert got["bot2_roster"] == small.roster_active + small.roster_inactive == 880
    assert 0.65 * 880 <= got["bot2_student"] <= 0.80 * 880
    assert got["bot2_survey_response"] == loaded["bot2_survey_response"] > 0
    assert got["bot2_enrollment"] > 0
    await session.commit()

    again = seed_mock(settings.database_url, "small", 1, timezone=settings.timezone, anchor=ANCHOR)
    assert not again.loaded
    assert await counts(session) == got


async def test_spread_of_statuses_regions_campaigns_and_dates(settings: Settings, session: AsyncSession) -> None:
    await seeded(session, settings)
    rows = (
        await session.execute(select(Admissions2026Application.status, Admissions2026Application.submitted_at))
    ).all()
    statuses = pl.DataFrame([r[0] for r in rows], schema=["status"])["status"].value_counts()
    assert set(statuses["status"]) == {"new", "submitted", "in_progress", "approved", "rejected"}
    assert all((s == "new") == (t is None) for s, t in rows)  # the submitted_at rule
    instants = [t if t.tzinfo else t.replace(tzinfo=UTC) for _, t in rows if t is not None]
    last_local_midnight = datetime(2026, 4, 1, tzinfo=UTC) - timedelta(hours=5)
    assert max(instants) < last_local_midnight  # nothing on or after the anchor day (Asia/Tashkent)
    assert min(instants) > last_local_midnight - timedelta(days=SIZES["small"].days + 1)
    assert len({t.date() for t in instants}) > 100  # spread over the year
    regions = await session.scalar(select(func.count(func.distinct(Applicant.region_id))))
    assert regions >= 10
    campaigns = (await session.execute(select(SurveyResponse.survey_campaign).distinct())).scalars().all()
    assert set(campaigns) == {"default", "2025-FALL", "2026-SPRING"}
    years = (await session.execute(select(RosterEntry.course_year).distinct())).scalars().all()
    assert set(years) <= {1, 2, 3, 4, 5} and len(set(years)) == 5
    programs = await session.scalar(select(func.count(func.distinct(RosterEntry.program_id))))
    assert programs == 13  # the real programs
    repeated = (
        await session.execute(
            select(SurveyResponse.student_id, SurveyResponse.survey_campaign)
            .group_by(SurveyResponse.student_id, SurveyResponse.survey_campaign)
            .having(func.count() > 1)
        )
    ).all()
    assert repeated  # append-only: some students answered again


async def test_marts_build_and_pass_their_checks_on_mock_data(settings: Settings, session: AsyncSession) -> None:
    loaded = await seeded(session, settings)
    result = build(settings)
    assert result.status == "published", result.error
    assert result.row_counts["fct_applications"] == 300 + 100 + 80 + 150
    assert result.row_counts["fct_survey_responses"] == loaded["bot2_survey_response"]
    assert result.row_counts["agg_coverage"] > 0


async def test_generation_is_deterministic(session: AsyncSession) -> None:
    await seed_catalog(session)
    rows = (await session.execute(select(CatalogItem.id, CatalogItem.type, CatalogItem.code))).all()
    cat = Catalog.from_rows([(str(i), t, code) for i, t, code in sorted(rows, key=lambda r: (r[1], r[2]))])
    loaded_at = datetime(2026, 4, 1, 12, tzinfo=UTC)
    first = generate(Plan("small", 7, ANCHOR, "Asia/Tashkent", loaded_at), cat)
    second = generate(Plan("small", 7, ANCHOR, "Asia/Tashkent", loaded_at), cat)
    other = generate(Plan("small", 8, ANCHOR, "Asia/Tashkent", loaded_at), cat)
    assert all(first[t].equals(second[t]) for t in first)
    assert not first["bot1_admissions_2026"].equals(other["bot1_admissions_2026"])


def test_cli_seed_mock(settings: Settings) -> None:
    from crm.cli import cli

    env = {"CRM_DATABASE_URL": settings.database_url, "CRM_DATA_DIR": str(settings.data_dir), "CRM_ENV": "test"}
    runner = CliRunner()
    first = runner.invoke(cli, ["seed", "mock", "--scale", "small", "--seed", "3", "--until", "2026-04-01"], env=env)
    assert first.exit_code == 0, first.output
    assert "loaded small mock data (seed 3)" in first.output
    second = runner.invoke(cli, ["seed", "mock", "--scale", "small", "--seed", "3"], env=env)
    assert second.exit_code == 0 and "already loaded" in second.output
    bad = runner.invoke(cli, ["seed", "mock", "--scale", "huge"], env=env)
    assert bad.exit_code != 0 and "huge" in bad.output


def roster_rows(
    program: uuid.UUID | None, ids: list[uuid.UUID], external: list[str], at: list[datetime]
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [str(i) for i in ids],
            "student_external_id": external,
            **{col: ["default", "Ж", ""] for col in ("roster_campaign", "first_name", "last_name")},
            "program_id": [str(program)] * 3,
            "course_year": [1, 5, 3],
            "is_active": [True, False, True],
            "metadata": ['{"note": "ü \\"quoted\\""}', "{}", '{"n": [1, 2]}'],
            "created_at": at,
            "updated_at": at,
        },
        schema_overrides={"course_year": pl.Int16},
    )


async def test_bulk_load_round_trips_every_column_type(settings: Settings, session: AsyncSession) -> None:
    """What the loader writes (binary COPY on Postgres, executemany on SQLite) reads back through SQLAlchemy as the
    same values: nulls, non-ASCII text, JSON, instants before 2000 and with microseconds, dates, smallint, bool."""
    await seed_catalog(session)
    await session.commit()
    program = await session.scalar(select(CatalogItem.id).where(CatalogItem.type == "program").limit(1))
    region = await session.scalar(select(CatalogItem.id).where(CatalogItem.type == "region").limit(1))
    await session.commit()
    ids = [uuid.uuid4() for _ in range(3)]
    instants = [
        datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2000, 1, 1, tzinfo=UTC),
        datetime(2026, 3, 1, 20, 30, 0, 123_456, tzinfo=UTC),
    ]
    applicants = pl.DataFrame(
        {
            "id": [str(i) for i in ids],
            "telegram_user_id": [9_000_000_000_001, 2, 3],
            "telegram_chat_id": [None, -100_123_456_789, 7],
            "first_name": ["Ёркин", "O‘g‘il", ""],
            **{col: ["x", "", "y"] for col in ("username", "last_name", "phone", "email", "language")},
            "gender": ["female", "male", "unspecified"],
            "birth_date": [date(1970, 1, 1), None, date(2008, 2, 29)],
            "region_id": [str(region), None, str(region)],
            "created_at": instants,
            "updated_at": instants,
        }
    )
    roster = roster_rows(program, ids, ["RT-1", "RT-2", "RT-3"], instants)
    with open_loader(settings.database_url) as ld:
        ld.load("bot1_applicant", applicants)
        ld.load("bot2_roster", roster)
    got = {a.id: a for a in await session.scalars(select(Applicant).where(Applicant.id.in_(ids)))}
    for n, row in enumerate(applicants.iter_rows(named=True)):
        a = got[ids[n]]
        assert (a.telegram_user_id, a.telegram_chat_id, a.first_name, a.birth_date) == (
            row["telegram_user_id"], row["telegram_chat_id"], row["first_name"], row["birth_date"],
        )  # fmt: skip
        assert (str(a.region_id) if a.region_id else None, a.created_at) == (row["region_id"], row["created_at"])
    entries = {r.id: r for r in await session.scalars(select(RosterEntry).where(RosterEntry.id.in_(ids)))}
    assert [(entries[i].course_year, entries[i].is_active, entries[i].meta) for i in ids] == [
        (1, True, {"note": 'ü "quoted"'}),
        (5, False, {}),
        (3, True, {"n": [1, 2]}),
    ]
    assert [entries[i].created_at for i in ids] == instants


async def roster_count(session: AsyncSession) -> int:
    n = await session.scalar(select(func.count()).select_from(RosterEntry))
    await session.commit()  # SQLite: the loader's write transaction must not wait for this read
    return int(n or 0)


async def test_a_load_with_deferred_constraints_still_enforces_them(settings: Settings, session: AsyncSession) -> None:
    """Big Postgres loads drop FKs, unique constraints and indexes and re-add them after the rows: a duplicate or a
    dangling reference then fails the whole load (nothing is left), and a good load leaves every constraint back."""
    await seed_catalog(session)
    await session.commit()
    program = await session.scalar(select(CatalogItem.id).where(CatalogItem.type == "program").limit(1))
    await session.commit()
    now = [datetime(2026, 3, 1, tzinfo=UTC)] * 3
    tables = ["bot2_roster", "bot2_student"]
    duplicate = roster_rows(program, [uuid.uuid4() for _ in range(3)], ["D-1", "D-2", "D-1"], now)
    dangling = pl.DataFrame(
        {
            "id": [str(uuid.uuid4())],
            "student_external_id": ["S-1"],
            "roster_id": [str(uuid.uuid4())],
            **{col: [""] for col in ("username", "first_name", "last_name", "phone")},
            "gender": ["unspecified"],
            "created_at": now[:1],
            "updated_at": now[:1],
        }
    )
    good = roster_rows(program, [uuid.uuid4() for _ in range(3)], ["G-1", "G-2", "G-3"], now)
    for table, rows in (("bot2_roster", duplicate), ("bot2_student", dangling)):
        with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
            with open_loader(settings.database_url) as ld, ld.deferred_constraints(tables):
                ld.load("bot2_roster", good)
                ld.load(table, rows)
        assert await roster_count(session) == 0
    with open_loader(settings.database_url) as ld, ld.deferred_constraints(tables):
        ld.load("bot2_roster", good)
    assert await roster_count(session) == 3
    again = roster_rows(program, [uuid.uuid4() for _ in range(3)], ["G-1", "N-2", "N-3"], now)
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)), open_loader(settings.database_url) as ld:
        ld.load("bot2_roster", again)
    assert await roster_count(session) == 3
