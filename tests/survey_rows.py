"""Bot2 rows written by hand for the tests that need only a few: a roster row, and a survey response stored as the
survey write stores it (SPEC §4: the response copies its roster row's program and course year)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.schema import RosterEntry, Student, SurveyResponse


async def add_roster(
    session: AsyncSession, external_id: str, year: int, campaign: str, program: uuid.UUID
) -> RosterEntry:
    row = RosterEntry(student_external_id=external_id, roster_campaign=campaign, program_id=program, course_year=year)
    session.add(row)
    await session.flush()
    return row


def response_for(student_id: uuid.UUID, roster: RosterEntry, submitted_at: datetime, **fields: Any) -> SurveyResponse:
    """A response of `student_id` answered against `roster`; `fields` are its answers (campaign, status, ...)."""
    return SurveyResponse(
        student_id=student_id,
        roster_id=roster.id,
        program_id=roster.program_id,
        course_year=roster.course_year,
        submitted_at=submitted_at,
        **fields,
    )


async def add_answer(
    session: AsyncSession, roster: RosterEntry, when: datetime, status: str = "", campaign: str = "default"
) -> None:
    """A new student on `roster` and one response of theirs."""
    student = Student(student_external_id=roster.student_external_id, roster_id=roster.id)
    session.add(student)
    await session.flush()
    session.add(response_for(student.id, roster, when, survey_campaign=campaign, employment_status=status))
