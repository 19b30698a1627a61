"""Analytics consistency suite (SPEC §8): for several windows and campaigns, every endpoint answers what the same
definition computes directly from the operational rows (a plain Python oracle below), on SQLite and Postgres.
Plus the reference's analytics tests (RS §11): all course years present, roster denominators by campaign, and
analytics not empty after seeding."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.catalog.seed import seed_catalog
from ingest.contracts.fields import STATUSES
from ingest.core.db import make_sync_engine
from ingest.core.schema import (
    APPLICATION_MODELS,
    Applicant,
    CatalogItem,
    EnrollmentHeadcount,
    RosterEntry,
    SurveyResponse,
)
from ingest.core.settings import Settings
from tests.analytics_dataset import auth as auth  # a fixture
from tests.analytics_dataset import build_dataset
from tests.analytics_dataset import publish as publish  # a fixture
from tests.survey_rows import add_answer, add_roster

TZ = ZoneInfo("Asia/Tashkent")
NOT_SET = "(not set)"


# --- fixtures ----------------------------------------------------------------------------------------------------


@pytest.fixture
async def dataset(session: AsyncSession, settings: Settings, publish: Any) -> dict[str, Any]:
    await seed_catalog(session)
    await session.commit()
    engine = make_sync_engine(settings.database_url)
    try:
        info = build_dataset(engine)
        info["ops"] = load_ops(engine)
    finally:
        engine.dispose()
    info["snapshot_id"] = await publish()
    return info


# --- the operational rows ----------------------------------------------------------------------------------------


@dataclass
class App:
    kind: str
    status: str
    submitted_at: datetime | None
    region: str | None
    direction: str | None
    track: str | None
    subject: str | None


@dataclass
class Resp:
    id: uuid.UUID
    student: str
    roster: str
    program: str
    year: int
    campaign: str
    status: str
    submitted_at: datetime
    created_at: datetime


@dataclass
class Ops:
    catalog: dict[str, Any]
    apps: list[App]
    roster: dict[str, Any]
    responses: list[Resp]
    enrollment: list[Any]


def _s(value: Any) -> str | None:
    return None if value is None else str(value)


def load_ops(engine: Any) -> Ops:
    with engine.connect() as conn:
        catalog = {str(r.id): r for r in conn.execute(select(CatalogItem))}
        region_of = {r.id: _s(r.region_id) for r in conn.execute(select(Applicant.id, Applicant.region_id))}
        apps = []
        for kind, model in APPLICATION_MODELS.items():
            for r in conn.execute(select(model)):
                m = r._mapping
                apps.append(
                    App(
                        kind,
                        m["status"],
                        m["submitted_at"],
                        region_of[m["applicant_id"]],
                        _s(m.get("direction_id")),
                        _s(m.get("track_id")),
                        _s(m.get("subject_id")),
                    )
                )
        roster = {str(r.id): r for r in conn.execute(select(RosterEntry))}
        responses = [
            Resp(
                r.id,
                str(r.student_id),
                str(r.roster_id),
                str(r.program_id),
                r.course_year,
                r.survey_campaign,
                r.employment_status,
                r.submitted_at,
                r.created_at,
            )
            for r in conn.execute(select(SurveyResponse))
        ]
        enrollment = list(conn.execute(select(EnrollmentHeadcount)))
    return Ops(catalog, apps, roster, responses, enrollment)


# --- windows -----------------------------------------------------------------------------------------------------


def window_of(params: dict[str, str]) -> tuple[datetime | None, datetime | None]:
    """The oracle's own reading of from/to (ISO; naive = Tashkent; a date-only `to` includes its day)."""

    def one(raw: str | None, is_end: bool) -> datetime | None:
        if raw is None:
            return None
        if len(raw) == 10:
            day = date.fromisoformat(raw) + timedelta(days=1 if is_end else 0)
            return datetime(day.year, day.month, day.day, tzinfo=TZ)
        value = datetime.fromisoformat(raw)
        return value if value.tzinfo else value.replace(tzinfo=TZ)

    return one(params.get("from"), False), one(params.get("to"), True)


def inside(instant: datetime | None, window: tuple[datetime | None, datetime | None]) -> bool:
    start, end = window
    if instant is None:
        return False
    return (start is None or instant >= start) and (end is None or instant < end)


def windows(dataset: dict[str, Any]) -> list[dict[str, str]]:
    tie = min(dataset["instants"])  # an instant several rows share
    tie_to = tie + timedelta(microseconds=1)
    survey_tie = sorted(dataset["survey_instants"])[len(dataset["survey_instants"]) // 2]
    return [
        {},
        {"from": "2026-03-05", "to": "2026-03-20"},
        {"from": "2026-03-10T13:45:10.123456+05:00", "to": "2026-04-02T08:00:00Z"},
        {"from": "2026-03-07T09:30:00"},
        {"to": "2026-03-15"},
        {"from": tie.isoformat(), "to": tie_to.isoformat()},
        {"from": "2026-03-03", "to": survey_tie.isoformat()},
        {"from": survey_tie.isoformat()},
        {"from": "2025-01-01", "to": "2025-02-01"},
    ]


# --- bot1 oracle -------------------------------------------------------------------------------------------------


def label(ops: Ops, item_id: str | None, lang: str | None = None) -> str:
    if item_id is None or item_id not in ops.catalog:
        return NOT_SET
    row = ops.catalog[item_id]
    return (getattr(row, f"name_{lang}") if lang else "") or row.name


def ranked(ops: Ops, counts: Counter, id_name: str, lang: str | None = None) -> list[dict[str, Any]]:
    rows = [
        {"label": label(ops, i, lang), "value": n, id_name: i, "code": ops.catalog[i].code}
        for i, n in counts.items()
        if i is not None and n
    ]
    return sorted(rows, key=lambda r: (-r["value"], r["label"], r[id_name]))


def submitted(ops: Ops, kind: str, window: Any) -> list[App]:
    return [a for a in ops.apps if a.kind == kind and inside(a.submitted_at, window)]


def oracle_by(ops: Ops, kind: str, dim: str, window: Any, id_name: str, lang: str | None = None) -> list[dict]:
    return ranked(ops, Counter(getattr(a, dim) for a in submitted(ops, kind, window)), id_name, lang)


def oracle_by_region(ops: Ops, window: Any, kind: str | None) -> list[dict[str, Any]]:
    kinds = [kind] if kind else list(APPLICATION_MODELS)
    per: dict[str | None, Counter] = {}
    for a in ops.apps:
        if a.kind in kinds and inside(a.submitted_at, window):
            per.setdefault(a.region, Counter())[a.kind] += 1
    rows = [
        {
            "label": label(ops, r),
            "value": sum(c.values()),
            "region_id": r,
            "code": ops.catalog[r].code if r else None,
            "by_kind": {k: c[k] for k in kinds},
        }
        for r, c in per.items()
    ]
    return sorted(rows, key=lambda r: (r["region_id"] is None, -r["value"], r["label"], r["region_id"] or ""))


def local_day(instant: datetime) -> date:
    return instant.astimezone(TZ).date()


def oracle_daily(ops: Ops, window: Any, group_by: str | None) -> dict[str, Any]:
    apps = [a for a in ops.apps if a.kind == "admissions-2026" and a.submitted_at is not None]
    start, end = window
    if start is None:
        start = min(a.submitted_at for a in apps)
    if end is None:
        end = max(a.submitted_at for a in apps) + timedelta(microseconds=1)
    chosen = [a for a in apps if inside(a.submitted_at, (start, end))]
    if start >= end:
        return {"group_by": group_by, "days": [], "totals": [], "total": 0, "series": []}
    first, last = local_day(start), local_day(end - timedelta(microseconds=1))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    index = {d: i for i, d in enumerate(days)}
    totals = [0] * len(days)
    groups: dict[Any, list[int]] = {}
    for a in chosen:
        i = index[local_day(a.submitted_at)]
        totals[i] += 1
        if group_by:
            groups.setdefault(getattr(a, group_by), [0] * len(days))[i] += 1
    series = []
    for key, values in groups.items():
        if group_by == "status":
            series.append({"key": key, "code": key, "label": key, "total": sum(values), "values": values})
        else:
            series.append(
                {
                    "key": key,
                    "code": ops.catalog[key].code if key else None,
                    "label": label(ops, key),
                    "total": sum(values),
                    "values": values,
                }
            )
    series.sort(key=lambda s: (s["key"] is None, -s["total"], s["label"], s["key"] or ""))
    return {
        "group_by": group_by,
        "days": [d.isoformat() for d in days],
        "totals": totals,
        "total": sum(totals),
        "series": series,
    }


def oracle_funnel(ops: Ops, window: Any) -> dict[str, Any]:
    all_time = window == (None, None)
    rows = []
    for kind in APPLICATION_MODELS:
        counts = Counter(a.status for a in ops.apps if a.kind == kind and (all_time or inside(a.submitted_at, window)))
        rows.append({"kind": kind, "total": sum(counts.values()), **{s: counts[s] for s in STATUSES}})
    total = {"kind": "all", "total": sum(r["total"] for r in rows), **{s: sum(r[s] for r in rows) for s in STATUSES}}
    return {"kinds": rows, "all": total}


# --- bot2 oracle -------------------------------------------------------------------------------------------------


def pct(part: int, whole: int) -> float:
    return 0.0 if whole <= 0 else min(round(100 * part / whole, 2), 100.0)


def coverage(total: int, responded: int, planned: int) -> dict[str, Any]:
    """The coverage figures every bot2 row carries, whatever it is counted by."""
    return {"total": total, "responded": responded, "coverage_percent": pct(responded, total), "planned": planned}


@dataclass
class Grid:
    total: Counter
    responded: Counter
    employed: Counter
    planned: Counter
    academic_year: str | None

    def programs(self) -> set[str]:
        return {p for c in (self.total, self.responded, self.planned) for (p, _), n in c.items() if n}


def oracle_grid(ops: Ops, window: Any, campaign: str, academic_year: str | None) -> Grid:
    total = Counter(
        (str(r.program_id), r.course_year) for r in ops.roster.values() if r.is_active and r.roster_campaign == campaign
    )
    latest: dict[str, Resp] = {}
    for x in ops.responses:
        if x.campaign == campaign and inside(x.submitted_at, window):
            best = latest.get(x.student)
            if best is None or (x.submitted_at, x.created_at, x.id) > (best.submitted_at, best.created_at, best.id):
                latest[x.student] = x
    responded, employed = Counter(), Counter()
    for x in latest.values():
        if ops.roster[x.roster].is_active:
            responded[(x.program, x.year)] += 1
            employed[(x.program, x.year)] += x.status == "employed"
    active = [e for e in ops.enrollment if e.is_active and e.campaign == campaign]
    years = sorted({e.academic_year for e in active})
    chosen = academic_year or (years[-1] if years else None)
    planned = Counter()
    for e in active:
        if e.academic_year == chosen:
            planned[(str(e.program_id), e.course_year)] += e.student_count
    return Grid(total, responded, employed, planned, chosen)


def ordered_programs(ops: Ops, grid: Grid, lang: str | None = None) -> list[tuple[str, str]]:
    return sorted(((p, label(ops, p, lang)) for p in grid.programs()), key=lambda x: (x[1], x[0]))


def oracle_years(grid: Grid) -> list[dict[str, Any]]:
    out = []
    for y in range(1, 6):
        t = sum(n for (_, yy), n in grid.total.items() if yy == y)
        r = sum(n for (_, yy), n in grid.responded.items() if yy == y)
        pl = sum(n for (_, yy), n in grid.planned.items() if yy == y)
        out.append({"course_year": y, **coverage(t, r, pl)})
    return out


def oracle_program_coverage(ops: Ops, grid: Grid, course_year: int | None) -> list[dict[str, Any]]:
    years = [course_year] if course_year else [1, 2, 3, 4, 5]
    out = []
    for p, name in ordered_programs(ops, grid):
        t, r, pl = (sum(c[(p, y)] for y in years) for c in (grid.total, grid.responded, grid.planned))
        if t or r or pl:
            out.append({"program_id": p, "program_name": name, **coverage(t, r, pl)})
    return out


def oracle_matrix(ops: Ops, grid: Grid) -> dict[str, Any]:
    programs = ordered_programs(ops, grid)
    cells = [
        {
            "program_id": p,
            "course_year": y,
            **coverage(grid.total[(p, y)], grid.responded[(p, y)], grid.planned[(p, y)]),
        }
        for p, _ in programs
        for y in range(1, 6)
    ]
    return {"years": [1, 2, 3, 4, 5], "programs": [{"id": p, "name": n} for p, n in programs], "cells": cells}


def oracle_details(ops: Ops, grid: Grid, y: int) -> list[dict[str, Any]]:
    out = []
    for p, name in ordered_programs(ops, grid):
        t, r, e, pl = grid.total[(p, y)], grid.responded[(p, y)], grid.employed[(p, y)], grid.planned[(p, y)]
        if t or r or pl:
            out.append(
                {"program_id": p, "program_name": name, **coverage(t, r, pl), "employed": e, "unemployed": r - e}
            )
    return sorted(out, key=lambda d: -d["total"])


def oracle_overview(ops: Ops, grid: Grid) -> dict[str, Any]:
    by_program = []
    for p, name in ordered_programs(ops, grid):
        for y in range(1, 6):
            t, r, pl = grid.total[(p, y)], grid.responded[(p, y)], grid.planned[(p, y)]
            if t or r or pl:
                by_program.append(
                    {
                        "program_id": p,
                        "program_name": name,
                        "course_year": y,
                        "total": t,
                        "responded": r,
                        "coverage_percent": pct(r, t),
                        "planned": pl,
                    }
                )
    t, r = sum(grid.total.values()), sum(grid.responded.values())
    return {
        "total_students": t,
        "total_responded": r,
        "coverage_percent": pct(r, t),
        "total_planned": sum(grid.planned.values()),
        "academic_year": grid.academic_year,
        "by_year": oracle_years(grid),
        "by_program": by_program,
    }


def oracle_employment(ops: Ops, grid: Grid, campaign: str) -> dict[str, Any]:
    by_program = []
    for p, name in ordered_programs(ops, grid):
        for y in range(1, 6):
            r, e = grid.responded[(p, y)], grid.employed[(p, y)]
            if r:
                by_program.append(
                    {
                        "program_id": p,
                        "program_name": name,
                        "course_year": y,
                        "responded": r,
                        "employed": e,
                        "unemployed": r - e,
                        "employment_percent": pct(e, r),
                    }
                )
    by_year = []
    for y in range(1, 6):
        r = sum(n for (_, yy), n in grid.responded.items() if yy == y)
        e = sum(n for (_, yy), n in grid.employed.items() if yy == y)
        by_year.append(
            {"course_year": y, "responded": r, "employed": e, "unemployed": r - e, "employment_percent": pct(e, r)}
        )
    r, e = sum(grid.responded.values()), sum(grid.employed.values())
    return {
        "campaign": campaign,
        "responded": r,
        "employed": e,
        "unemployed": r - e,
        "employment_percent": pct(e, r),
        "by_year": by_year,
        "by_program": by_program,
    }


# --- the suite ---------------------------------------------------------------------------------------------------

A = "/api/v1/analytics"


async def get_json(client: Any, path: str, params: dict[str, str], auth: dict[str, str]) -> Any:
    response = await client.get(path, params=params, headers=auth)
    assert response.status_code == 200, (path, params, response.text)
    assert response.headers["x-snapshot-id"]
    return response.json()


async def test_bot1_endpoints_equal_the_operational_definition(client, auth, dataset) -> None:
    ops: Ops = dataset["ops"]
    checked = 0
    for params in windows(dataset):
        window = window_of(params)
        checks = [
            (
                "/admissions-2026/by-direction",
                {},
                oracle_by(ops, "admissions-2026", "direction", window, "direction_id"),
            ),
            ("/admissions-2026/by-track", {}, oracle_by(ops, "admissions-2026", "track", window, "track_id")),
            (
                "/admissions-2026/by-track",
                {"lang": "ru"},
                oracle_by(ops, "admissions-2026", "track", window, "track_id", "ru"),
            ),
            ("/polito-academy/by-subject", {}, oracle_by(ops, "polito-academy", "subject", window, "subject_id")),
            ("/applications/by-region", {}, oracle_by_region(ops, window, None)),
            ("/applications/by-region", {"kind": "polito-academy"}, oracle_by_region(ops, window, "polito-academy")),
            ("/applications/funnel", {}, oracle_funnel(ops, window)),
            ("/admissions-2026/daily", {}, oracle_daily(ops, window, None)),
            *[
                ("/admissions-2026/daily", {"group_by": g}, oracle_daily(ops, window, g))
                for g in ("direction", "track", "region", "status")
            ],
        ]
        for path, extra, expected in checks:
            assert await get_json(client, A + path, {**params, **extra}, auth) == expected, (path, params, extra)
            checked += 1
    assert checked == 12 * len(windows(dataset))
    # the data really exercises the edges: some window holds ties, drafts exist, some tracks are unset
    assert any(a.track is None and a.submitted_at for a in ops.apps if a.kind == "admissions-2026")
    assert any(a.status == "new" for a in ops.apps)


async def test_bot2_endpoints_equal_the_operational_definition(client, auth, dataset) -> None:
    ops: Ops = dataset["ops"]
    for params in windows(dataset):
        window = window_of(params)
        for campaign in ("default", "alt", "2026-SPRING", "no-such-campaign"):
            for academic_year in (None, "2024-2025"):
                grid = oracle_grid(ops, window, campaign, academic_year)
                q = {**params, "campaign": campaign}
                if academic_year:
                    q["academic_year"] = academic_year
                got = await get_json(client, f"{A}/bot2/course-year-coverage", q, auth)
                assert got == oracle_years(grid), (params, campaign)
                got = await get_json(client, f"{A}/bot2/program-coverage", q, auth)
                assert got == oracle_program_coverage(ops, grid, None), (params, campaign)
                got = await get_json(client, f"{A}/bot2/program-coverage", {**q, "course_year": "3"}, auth)
                assert got == oracle_program_coverage(ops, grid, 3), (params, campaign)
                got = await get_json(client, f"{A}/bot2/program-course-matrix", q, auth)
                assert got == oracle_matrix(ops, grid), (params, campaign)
                for year in (1, 5):
                    got = await get_json(client, f"{A}/bot2/program-details-by-year", {**q, "course_year": year}, auth)
                    assert got == oracle_details(ops, grid, year), (params, campaign, year)
                got = await get_json(client, f"{A}/bot2/enrollments-overview", q, auth)
                assert got == oracle_overview(ops, grid), (params, campaign)
            got = await get_json(client, f"{A}/bot2/employment", {**params, "campaign": campaign}, auth)
            assert got == oracle_employment(ops, oracle_grid(ops, window, campaign, None), campaign)
    # the data exercises what the definitions are about
    everything = oracle_grid(ops, (None, None), "default", None)
    assert sum(everything.responded.values()) < sum(1 for x in ops.responses if x.campaign == "default")
    assert any(x.status == "unemployed" for x in ops.responses)
    assert any(not r.is_active for r in ops.roster.values())


# --- RS §11 ------------------------------------------------------------------------------------------------------


async def _program(session: AsyncSession) -> uuid.UUID:
    item = CatalogItem(type="program", code="PA", name="Program A")
    session.add(item)
    await session.flush()
    return item.id


async def test_course_year_coverage_includes_all_years(client, auth, session, settings, publish) -> None:
    program = await _program(session)
    rosters = [await add_roster(session, f"s{y}", y, "default", program) for y in (1, 2, 3, 4)]
    now = datetime.now(UTC)
    await add_answer(session, rosters[0], now)
    await session.commit()
    await publish()
    params = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat()}
    body = await get_json(client, f"{A}/bot2/course-year-coverage", params, auth)
    assert [row["course_year"] for row in body] == [1, 2, 3, 4, 5]
    assert body[0] == {"course_year": 1, "total": 1, "responded": 1, "coverage_percent": 100.0, "planned": 0}
    assert [row["total"] for row in body] == [1, 1, 1, 1, 0]


async def test_coverage_denominator_filters_campaign(client, auth, session, settings, publish) -> None:
    program = await _program(session)
    d1 = await add_roster(session, "d1", 1, "default", program)
    await add_roster(session, "a1", 1, "alt", program)
    await add_answer(session, d1, datetime.now(UTC))
    session.add(EnrollmentHeadcount(program_id=program, course_year=1, student_count=30, campaign="default"))
    await session.commit()
    await publish()
    default = await get_json(client, f"{A}/bot2/course-year-coverage", {"campaign": "default"}, auth)
    assert default[0] == {"course_year": 1, "total": 1, "responded": 1, "coverage_percent": 100.0, "planned": 30}
    alt = await get_json(client, f"{A}/bot2/course-year-coverage", {"campaign": "alt"}, auth)
    assert alt[0] == {"course_year": 1, "total": 1, "responded": 0, "coverage_percent": 0.0, "planned": 0}


async def test_employed_is_an_exact_match_and_coverage_is_capped(client, auth, session, settings, publish) -> None:
    program = await _program(session)
    r1 = await add_roster(session, "e1", 3, "default", program)
    r2 = await add_roster(session, "e2", 3, "default", program)
    now = datetime.now(UTC)
    await add_answer(session, r1, now, "employed")
    await add_answer(session, r2, now, "unemployed")
    # a response of another campaign's student for this campaign: responded exceeds the roster total of `alt`
    await add_answer(session, await add_roster(session, "e3", 3, "other", program), now, "employed", campaign="alt")
    await session.commit()
    await publish()
    body = await get_json(client, f"{A}/bot2/program-details-by-year", {"course_year": "3"}, auth)
    assert [(d["employed"], d["unemployed"], d["responded"]) for d in body] == [(1, 1, 2)]
    alt = await get_json(client, f"{A}/bot2/course-year-coverage", {"campaign": "alt"}, auth)
    assert alt[2]["total"] == 0 and alt[2]["responded"] == 1 and alt[2]["coverage_percent"] == 0.0


async def test_analytics_not_empty_after_seeding(client, auth, session, settings, publish) -> None:
    from warehouse.seed.mock import seed_mock

    await seed_catalog(session)
    await session.commit()
    seed_mock(settings.database_url, "small", seed=1, timezone=settings.timezone)
    await publish()
    body = await get_json(
        client, f"{A}/bot2/course-year-coverage", {"from": "2024-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}, auth
    )
    assert any(row["responded"] > 0 for row in body)
    assert all(row["total"] > 0 for row in body[:4])
    directions = await get_json(client, f"{A}/admissions-2026/by-direction", {}, auth)
    assert sum(d["value"] for d in directions) > 0
