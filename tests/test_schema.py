"""The database itself refuses what SPEC §3 forbids (RS §13 fixes), on SQLite and Postgres alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.catalog.seed import CATALOG, seed_catalog
from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    CatalogItem,
    EnrollmentHeadcount,
    RosterEntry,
    Student,
    SurveyResponse,
)

NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


async def _item(session: AsyncSession, type_: str, code: str) -> uuid.UUID:
    item = CatalogItem(type=type_, code=code, name=code)
    session.add(item)
    await session.flush()
    return item.id


async def _refused(session: AsyncSession, model: type, **values: object) -> None:
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.execute(insert(model).values(**values))


async def test_submitted_at_rule_is_a_check(session: AsyncSession) -> None:
    direction = await _item(session, "direction", "DIR-X")
    applicant = Applicant(telegram_user_id=1)
    session.add(applicant)
    await session.flush()
    base = {"applicant_id": applicant.id, "direction_id": direction, "answers": {}}
    await _refused(session, Admissions2026Application, status="new", submitted_at=NOW, **base)
    await _refused(session, Admissions2026Application, status="submitted", submitted_at=None, **base)
    await _refused(session, Admissions2026Application, status="lost", submitted_at=NOW, **base)
    await session.execute(insert(Admissions2026Application).values(status="new", submitted_at=None, **base))
    await session.execute(insert(Admissions2026Application).values(status="approved", submitted_at=NOW, **base))
    count = len((await session.scalars(select(Admissions2026Application.id))).all())
    assert count == 2


async def test_course_years_are_one_to_five(session: AsyncSession) -> None:
    program = await _item(session, "program", "P-1")
    for year in (0, 6):
        await _refused(session, RosterEntry, student_external_id=f"s{year}", program_id=program, course_year=year)
        await _refused(session, EnrollmentHeadcount, program_id=program, course_year=year)
    await session.execute(insert(RosterEntry).values(student_external_id="s5", program_id=program, course_year=5))


async def test_catalog_code_unique_per_type_and_never_blank(session: AsyncSession) -> None:
    await _item(session, "region", "REG-1")
    await _item(session, "direction", "REG-1")  # same code, other type: fine
    await _refused(session, CatalogItem, type="region", code="REG-1", name="dup")
    await _refused(session, CatalogItem, type="region", code="", name="blank")
    await _refused(session, CatalogItem, type="planet", code="P", name="bad type")


async def test_survey_data_protects_its_roster_row(session: AsyncSession) -> None:
    program = await _item(session, "program", "P-2")
    roster = RosterEntry(student_external_id="se1", program_id=program, course_year=2)
    session.add(roster)
    await session.flush()
    student = Student(student_external_id="se1", roster_id=roster.id)
    session.add(student)
    await session.flush()
    session.add(
        SurveyResponse(student_id=student.id, roster_id=roster.id, program_id=program, course_year=2, submitted_at=NOW)
    )
    await session.flush()
    with pytest.raises(IntegrityError):
        async with session.begin_nested():
            await session.delete(roster)
            await session.flush()
    with pytest.raises(IntegrityError):  # referenced catalog items cannot be deleted either
        async with session.begin_nested():
            await session.execute(CatalogItem.__table__.delete().where(CatalogItem.id == program))


async def test_seed_catalog_is_idempotent(session: AsyncSession) -> None:
    first = await seed_catalog(session)
    rows_after_first = (await session.execute(select(CatalogItem.code, CatalogItem.updated_at))).all()
    second = await seed_catalog(session)
    rows_after_second = (await session.execute(select(CatalogItem.code, CatalogItem.updated_at))).all()
    assert first == second
    assert sorted(rows_after_first) == sorted(rows_after_second)  # nothing rewritten, not even updated_at
    assert len(rows_after_second) == sum(len(v) for v in CATALOG.values()) == 46
    foreign = await session.scalar(select(CatalogItem).where(CatalogItem.code == "REG-FOREIGN"))
    assert foreign is not None and (foreign.name_uz, foreign.name_ru, foreign.name_en) == (
        "Chet el",
        "Зарубежье",
        "Abroad",
    )  # a place, as the other regions are (issue 15), not "Foreigner"
    mba = await session.scalar(select(CatalogItem).where(CatalogItem.code == "M-MBA"))
    assert mba is not None and mba.meta == {
        "level": "master",
        "track": "n/a",
        "language": "English",
        "duration_years": 2,
    }


async def test_seed_catalog_restores_and_retires(session: AsyncSession) -> None:
    await seed_catalog(session)
    extra = await _item(session, "region", "REG-ATLANTIS")
    tash = await session.scalar(select(CatalogItem).where(CatalogItem.code == "REG-TASHCITY"))
    assert tash is not None
    tash.name_en, tash.is_active = "edited", False
    await session.flush()
    counts = await seed_catalog(session, deactivate_missing=True)
    assert counts["deactivated"] == 1
    await session.refresh(tash)
    assert (tash.name_en, tash.is_active) == ("Tashkent city", True)
    atlantis = await session.get(CatalogItem, extra)
    assert atlantis is not None
    await session.refresh(atlantis)
    assert atlantis.is_active is False
