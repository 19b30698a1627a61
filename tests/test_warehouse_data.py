"""A small hand-made operational data set for the warehouse tests, with the expected mart contents beside it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

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


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Data:
    ids: dict[str, uuid.UUID] = field(default_factory=dict)

    def id(self, name: str) -> str:
        return str(self.ids[name])


def _add(session: AsyncSession, data: Data, name: str, obj: Any) -> Any:
    obj.id = uuid.uuid4()
    data.ids[name] = obj.id
    session.add(obj)
    return obj


async def hand_made(session: AsyncSession) -> Data:
    """Catalog, two applicants with six applications, four roster rows, three students, six responses, enrollments.

    Times are chosen around Tashkent midnight (UTC+5): 19:00 UTC is 00:00 the next local day."""
    d = Data()
    for name, type_, code in [
        ("region", "region", "REG-A"),
        ("dir1", "direction", "DIR-1"),
        ("dir2", "direction", "DIR-2"),
        ("track", "track", "TRK-1"),
        ("subject", "subject", "SUB-1"),
        ("p1", "program", "P-1"),
        ("p2", "program", "P-2"),
    ]:
        _add(
            session,
            d,
            name,
            CatalogItem(
                type=type_,
                code=code,
                name=f"{code} en",
                name_uz=f"{code} uz",
                name_ru=f"{code} ru",
                name_en=f"{code} en",
            ),
        )
    await session.flush()
    _add(session, d, "a1", Applicant(telegram_user_id=1, region_id=d.ids["region"]))
    _add(session, d, "a2", Applicant(telegram_user_id=2))
    await session.flush()
    a1, a2 = d.ids["a1"], d.ids["a2"]
    apps = [
        (
            "adm1",
            Admissions2026Application(
                applicant_id=a1,
                direction_id=d.ids["dir1"],
                track_id=d.ids["track"],
                status="submitted",
                submitted_at=at("2026-03-01T20:30:00"),
            ),
        ),
        (
            "adm2",
            Admissions2026Application(
                applicant_id=a2, direction_id=d.ids["dir1"], status="approved", submitted_at=at("2026-03-01T10:00:00")
            ),
        ),
        (
            "adm3",
            Admissions2026Application(
                applicant_id=a1, direction_id=d.ids["dir2"], track_id=d.ids["track"], status="new", submitted_at=None
            ),
        ),
        (
            "tour1",
            CampusTourRequest(
                applicant_id=a2,
                status="submitted",
                submitted_at=at("2026-03-05T05:00:00"),
                preferred_date=date(2026, 3, 10),
            ),
        ),
        ("fnd1", FoundationRequest(applicant_id=a1, status="rejected", submitted_at=at("2026-02-28T19:00:00"))),
        (
            "pol1",
            PolitoAcademyRequest(
                applicant_id=a1,
                subject_id=d.ids["subject"],
                status="in_progress",
                submitted_at=at("2026-03-03T12:00:00"),
            ),
        ),
        ("pol2", PolitoAcademyRequest(applicant_id=a2, status="submitted", submitted_at=at("2026-03-03T13:00:00"))),
    ]
    for name, obj in apps:
        _add(session, d, name, obj)
    p1, p2 = d.ids["p1"], d.ids["p2"]
    for name, ext, program, year, campaign, active in [
        ("r1", "S1", p1, 1, "default", True),
        ("r2", "S2", p1, 2, "default", True),
        ("r3", "S3", p2, 5, "default", False),
        ("r4", "S4", p2, 3, "2026-SPRING", True),
    ]:
        _add(
            session,
            d,
            name,
            RosterEntry(
                student_external_id=ext,
                program_id=program,
                course_year=year,
                roster_campaign=campaign,
                is_active=active,
            ),
        )
    await session.flush()
    for name, ext, roster in [("s1", "S1", "r1"), ("s2", "S2", "r2"), ("s3", "S3", "r3")]:
        _add(session, d, name, Student(student_external_id=ext, roster_id=d.ids[roster], region_id=d.ids["region"]))
    await session.flush()
    responses = [
        # s1, default: employed first, then unemployed → latest is unemployed
        ("q1", "s1", "r1", p1, 1, "default", "employed", "2026-03-01T08:00:00", "2026-03-01T08:00:00"),
        ("q2", "s1", "r1", p1, 1, "default", "unemployed", "2026-03-04T08:00:00", "2026-03-04T08:00:00"),
        # s2, default: the same submitted_at twice; the later created_at wins (RS §5.2 order)
        ("q3", "s2", "r2", p1, 2, "default", "unemployed", "2026-03-02T08:00:00", "2026-03-02T08:00:00"),
        ("q4", "s2", "r2", p1, 2, "default", "employed", "2026-03-02T08:00:00", "2026-03-02T09:00:00"),
        # s3: inactive roster row; still responded
        ("q5", "s3", "r3", p2, 5, "default", "employed", "2026-03-03T08:00:00", "2026-03-03T08:00:00"),
        # s1 in another campaign
        ("q6", "s1", "r1", p1, 1, "2026-SPRING", "", "2026-03-06T08:00:00", "2026-03-06T08:00:00"),
    ]
    for name, student, roster, program, year, campaign, status, submitted, created in responses:
        _add(
            session,
            d,
            name,
            SurveyResponse(
                student_id=d.ids[student],
                roster_id=d.ids[roster],
                program_id=program,
                course_year=year,
                survey_campaign=campaign,
                employment_status=status,
                submitted_at=at(submitted),
                created_at=at(created),
            ),
        )
    for name, program, year, count, academic_year, campaign, active in [
        ("e1", p1, 1, 10, "2025-2026", "default", True),
        ("e2", p1, 1, 5, "2024-2025", "default", False),
        ("e3", p2, 3, 7, "2025-2026", "2026-SPRING", True),
    ]:
        _add(
            session,
            d,
            name,
            EnrollmentHeadcount(
                program_id=program,
                course_year=year,
                student_count=count,
                academic_year=academic_year,
                campaign=campaign,
                is_active=active,
            ),
        )
    await session.commit()
    return d
