"""A deterministic operational dataset for the analytics tests, with the awkward cases on purpose: ties in
`submitted_at`, resubmissions (superseded responses), roster years that changed between responses, inactive roster
rows, `unemployed` / blank / free-text statuses, unset tracks / subjects / regions, drafts, times at local midnight,
and planned headcounts for two academic years. Written with SQLAlchemy Core through a blocking engine.
Also the helpers and fixtures the reports tests share: a viewer's Bearer header (`auth`) and publishing the marts now
(`publish`); a test module imports the fixtures it uses."""

from __future__ import annotations

import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.jwt_tokens import new_access
from ingest.auth.users import create_user
from ingest.contracts.fields import STATUSES
from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    CampusTourRequest,
    CatalogItem,
    EnrollmentHeadcount,
    FoundationRequest,
    PolitoAcademyRequest,
    RosterEntry,
    Student,
    SurveyResponse,
)
from ingest.core.settings import Settings
from warehouse.build import build

BASE = datetime(2026, 3, 1, 19, 0, tzinfo=UTC)  # = 2026-03-02 00:00 in Asia/Tashkent (UTC+5): a local midnight
SPAN_DAYS = 40
EMPLOYMENT = ["employed", "unemployed", "", "self-employed", "Employed"]
CAMPAIGNS = ["default", "alt", "2026-SPRING"]


def _instant(rng: random.Random, instants: list[datetime]) -> datetime:
    """Random times, but often one already used (ties) or a local midnight (window edges)."""
    roll = rng.random()
    if instants and roll < 0.15:
        return rng.choice(instants)
    if roll < 0.25:
        return BASE + timedelta(days=rng.randrange(SPAN_DAYS))
    return BASE + timedelta(microseconds=rng.randrange(SPAN_DAYS * 86_400 * 1_000_000))


def build_dataset(engine: Engine, seed: int = 7) -> dict[str, Any]:
    """Insert the dataset; the catalog must already be seeded. Returns a few ids for the tests to refer to."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        items = conn.execute(select(CatalogItem.id, CatalogItem.type)).all()
        by_type: dict[str, list[uuid.UUID]] = {}
        for item_id, kind in items:
            by_type.setdefault(kind, []).append(item_id)
        regions, directions, tracks = by_type["region"], by_type["direction"], by_type["track"]
        subjects, programs = by_type["subject"], by_type["program"]
        now = datetime.now(UTC)
        instants: list[datetime] = []

        applicants = []
        for i in range(60):
            region = rng.choice(regions) if rng.random() > 0.15 else None
            applicants.append(
                {
                    "id": uuid.uuid4(),
                    "telegram_user_id": 5_000_000 + i,
                    "region_id": region,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        conn.execute(Applicant.__table__.insert(), applicants)

        def app_rows(n: int, extra: Any) -> list[dict[str, Any]]:
            rows = []
            for _ in range(n):
                status = rng.choices(STATUSES, weights=[10, 40, 25, 15, 10])[0]
                submitted = None if status == "new" else _instant(rng, instants)
                if submitted is not None:
                    instants.append(submitted)
                created = now - timedelta(seconds=rng.randrange(10_000))
                row = {
                    "id": uuid.uuid4(),
                    "applicant_id": rng.choice(applicants)["id"],
                    "status": status,
                    "submitted_at": submitted,
                    "answers": {},
                    "created_at": created,
                    "updated_at": created,
                }
                row.update(extra())
                rows.append(row)
            return rows

        conn.execute(
            Admissions2026Application.__table__.insert(),
            app_rows(
                320,
                lambda: {
                    "direction_id": rng.choice(directions),
                    "track_id": rng.choice(tracks) if rng.random() > 0.2 else None,
                },
            ),
        )
        conn.execute(
            CampusTourRequest.__table__.insert(),
            app_rows(50, lambda: {"preferred_date": (BASE + timedelta(days=rng.randrange(60))).date()}),
        )
        conn.execute(FoundationRequest.__table__.insert(), app_rows(40, lambda: {}))
        conn.execute(
            PolitoAcademyRequest.__table__.insert(),
            app_rows(90, lambda: {"subject_id": rng.choice(subjects) if rng.random() > 0.15 else None}),
        )

        roster_programs = programs + directions[:2]  # both vocabularies are in use (RS §7.5)
        roster = []
        for i in range(220):
            roster.append(
                {
                    "id": uuid.uuid4(),
                    "student_external_id": f"S{i:05d}",
                    "roster_campaign": rng.choice(["default", "default", "alt"]),
                    "program_id": rng.choice(roster_programs),
                    "course_year": rng.randint(1, 5),
                    "is_active": rng.random() > 0.1,
                    "meta": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
        conn.execute(RosterEntry.__table__.insert(), roster)

        students = []
        for r in rng.sample(roster, 170):
            students.append(
                {
                    "id": uuid.uuid4(),
                    "student_external_id": r["student_external_id"],
                    "roster_id": r["id"],
                    "telegram_user_id": 9_000_000 + len(students),
                    "region_id": rng.choice(regions),
                    "created_at": now,
                    "updated_at": now,
                    "_roster": r,
                }
            )
        conn.execute(Student.__table__.insert(), [{k: v for k, v in s.items() if k != "_roster"} for s in students])

        responses = []
        survey_instants: list[datetime] = []
        for _ in range(520):
            s = rng.choice(students)
            r = s["_roster"]
            submitted = _instant(rng, survey_instants)
            survey_instants.append(submitted)
            # an older answer may carry the year the roster had then (the roster is updated, history is not)
            year = r["course_year"] if rng.random() > 0.15 else max(1, r["course_year"] - 1)
            program = r["program_id"] if rng.random() > 0.05 else rng.choice(roster_programs)
            created = now - timedelta(microseconds=rng.randrange(10**9))
            responses.append(
                {
                    "id": uuid.uuid4(),
                    "student_id": s["id"],
                    "roster_id": r["id"],
                    "program_id": program,
                    "course_year": year,
                    "survey_campaign": rng.choice(CAMPAIGNS),
                    "employment_status": rng.choice(EMPLOYMENT),
                    "submitted_at": submitted,
                    "consents": {},
                    "answers": {},
                    "created_at": created,
                    "updated_at": created,
                }
            )
        conn.execute(SurveyResponse.__table__.insert(), responses)

        enrollment = []
        for academic_year in ("2024-2025", "2025-2026"):
            for program in rng.sample(roster_programs, 6):
                for year in (1, 2, 3, 4, 5):
                    enrollment.append(
                        {
                            "id": uuid.uuid4(),
                            "program_id": program,
                            "course_year": year,
                            "student_count": rng.randint(0, 40),
                            "academic_year": academic_year,
                            "campaign": "default",
                            "is_active": rng.random() > 0.1,
                            "notes": "",
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
        conn.execute(EnrollmentHeadcount.__table__.insert(), enrollment)
    return {"instants": instants, "survey_instants": survey_instants}


async def viewer_headers(
    session: AsyncSession, settings: Settings, email: str = "viewer@example.com"
) -> dict[str, str]:
    user = await create_user(session, email=email, password="viewer-password-1", role="viewer")
    await session.commit()
    token, _ = new_access(user.id, "viewer", settings.effective_secret_key())
    return {"Authorization": f"Bearer {token}"}


def publish_sync(settings: Settings) -> str:
    built = build(settings, full=True)
    assert built.status == "published", built.error
    return built.snapshot_id  # type: ignore[return-value]


def make_publisher(app: Any, db: Any, session: AsyncSession, settings: Settings) -> Callable[[], Awaitable[str]]:
    """Build and publish the marts now. On SQLite this process's own connections are closed first: the ADBC driver
    the warehouse reads with bundles its own SQLite, which misses WAL commits of still-open sqlite3 connections in
    the same process (reported to the warehouse; closing makes SQLite checkpoint the WAL)."""

    async def run() -> str:
        if settings.is_sqlite:
            await session.close()
            await db.engine.dispose()
            if app.state.get("db") is not None:
                await app.state.db.engine.dispose()
        return await anyio.to_thread.run_sync(publish_sync, settings)

    return run


@pytest.fixture
async def auth(session: AsyncSession, settings: Settings) -> dict[str, str]:
    return await viewer_headers(session, settings)


@pytest.fixture
def publish(app: Any, db: Any, session: AsyncSession, settings: Settings) -> Callable[[], Awaitable[str]]:
    return make_publisher(app, db, session, settings)
