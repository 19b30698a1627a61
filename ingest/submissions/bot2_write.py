"""Bot2 survey writes (SPEC §4.3): the roster is the source of truth, students are upserted partially, responses are
appended.

- Student ids follow `contracts.fields`' rule and match the roster in any case; the roster's spelling is stored.
- A known student (`student_external_id` in the roster) keeps the roster's program and course year, whatever the
  request says; the response copies the roster's values.
- An unknown student needs `program_id`/`program_code` (a `program` or `direction` item) and is enrolled in roster
  campaign `bot2_auto` with the request's course year (1 when not given).
- A Telegram id already bound to another student id is a 409 TELEGRAM_ID_CONFLICT: identities are never re-keyed.
- Every submission appends a response row; analytics pick the latest per student and campaign.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.contracts.api import RosterRef, SurveySubmit, SurveySubmitted
from ingest.contracts.fields import normalise_student_id, student_id_key
from ingest.core.problems import ProblemError
from ingest.core.schema import RosterEntry, Student, SurveyResponse
from ingest.core.upsert import dialect_insert

AUTO_CAMPAIGN = "bot2_auto"
rosters = RosterEntry.__table__
students = Student.__table__
responses = SurveyResponse.__table__
_ROSTER_KEY = func.lower(rosters.c.student_external_id)  # student ids match in any case (0004_student_id_ci)
_STUDENT_KEY = func.lower(students.c.student_external_id)

_STUDENT_TEXT = ("username", "first_name", "last_name", "phone")


def roster_not_found() -> ProblemError:
    return ProblemError(
        400,
        "ROSTER_NOT_FOUND",
        "This student id is not in the roster; send program_id or program_code to enrol the student.",
        field="$.program_id",
    )


def telegram_conflict() -> ProblemError:
    return ProblemError(
        409,
        "TELEGRAM_ID_CONFLICT",
        "This Telegram account is already bound to another student id.",
        field="$.telegram_user_id",
    )


def external_id(body: SurveySubmit) -> str:
    """The id as sent, by the one rule of `contracts.fields` (`write.prepare` refused those that break it)."""
    return normalise_student_id(body.student_external_id) or body.student_external_id.strip()


async def _roster(conn: AsyncConnection, body: SurveySubmit, program_id: uuid.UUID | None, now: datetime) -> Any:
    """The student's roster row, matched in any case (its spelling is the roster's); an unknown student is
    enrolled in `bot2_auto` under the id as sent."""
    ext_id = external_id(body)
    query = select(rosters.c.id, rosters.c.program_id, rosters.c.course_year, rosters.c.student_external_id).where(
        func.lower(rosters.c.student_external_id) == student_id_key(ext_id)
    )
    roster = (await conn.execute(query)).first()
    if roster is not None:
        return roster
    if program_id is None:
        raise roster_not_found()
    row = {
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "student_external_id": ext_id,
        "roster_campaign": AUTO_CAMPAIGN,
        "program_id": program_id,
        "course_year": body.course_year or 1,
        "is_active": True,
        "first_name": body.first_name.strip(),
        "last_name": body.last_name.strip(),
        "meta": {"source": "bot2"},
    }
    # ON CONFLICT DO NOTHING: a concurrent first submission of the same student (in any case) enrols it once.
    await conn.execute(dialect_insert(conn, rosters).on_conflict_do_nothing(index_elements=[_ROSTER_KEY]), row)
    return (await conn.execute(query)).one()


async def _student(
    conn: AsyncConnection, body: SurveySubmit, roster: Any, region_id: uuid.UUID | None, now: datetime
) -> uuid.UUID:
    ext_id = roster.student_external_id  # the roster's spelling
    if body.telegram_user_id is not None:
        bound = await conn.scalar(
            select(students.c.student_external_id).where(students.c.telegram_user_id == body.telegram_user_id)
        )
        if bound is not None and student_id_key(bound) != student_id_key(ext_id):
            raise telegram_conflict()
    row = {name: getattr(body, name).strip() for name in _STUDENT_TEXT}
    row |= {
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "student_external_id": ext_id,
        "roster_id": roster.id,
        "telegram_user_id": body.telegram_user_id,
        "gender": body.gender or "unspecified",
        "region_id": region_id,
    }
    stmt = dialect_insert(conn, students)
    new, old = stmt.excluded, students.c
    keep: dict[str, Any] = {name: func.coalesce(func.nullif(new[name], ""), old[name]) for name in _STUDENT_TEXT}
    keep |= {name: func.coalesce(new[name], old[name]) for name in ("telegram_user_id", "region_id")}
    keep |= {
        "gender": case((new.gender == "unspecified", old.gender), else_=new.gender),
        "student_external_id": new.student_external_id,
        "roster_id": new.roster_id,
        "updated_at": new.updated_at,
    }
    stmt = stmt.on_conflict_do_update(index_elements=[_STUDENT_KEY], set_=keep).returning(students.c.id)
    return (await conn.execute(stmt, row)).scalar_one()


async def write_survey(
    conn: AsyncConnection, body: SurveySubmit, refs: dict[str, uuid.UUID | None], now: datetime
) -> tuple[SurveySubmitted, dict[str, Any]]:
    """Store one submission; returns the answer and the audit `after` data (masked later)."""
    roster = await _roster(conn, body, refs.get("program"), now)
    student_id = await _student(conn, body, roster, refs.get("region"), now)
    response_id = uuid.uuid4()
    row = {
        "id": response_id,
        "created_at": now,
        "updated_at": now,
        "student_id": student_id,
        "roster_id": roster.id,
        "program_id": roster.program_id,
        "course_year": roster.course_year,
        "survey_campaign": body.survey_campaign,
        "language": body.language.strip(),
        "employment_status": body.employment_status.strip(),
        "employment_company": body.employment_company.strip(),
        "employment_role": body.employment_role.strip(),
        "suggestions": body.suggestions,
        "consents": body.consents,
        "answers": body.answers,
        "submitted_at": body.submitted_at.astimezone(UTC) if body.submitted_at is not None else now,
    }
    await conn.execute(responses.insert(), row)
    answer = SurveySubmitted(
        ok=True, roster=RosterRef(program_id=roster.program_id, course_year=roster.course_year), response_id=response_id
    )
    after = {k: v for k, v in row.items() if k not in ("created_at", "updated_at")}
    after |= {"student_external_id": roster.student_external_id, "telegram_user_id": body.telegram_user_id}
    return answer, after
