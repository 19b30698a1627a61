"""An application counts under its own region when the person chose one, else under its applicant's (issue 15,
docs/region-per-application.md), on SQLite and Postgres: an applicant from region A who applies with region B is
counted in B by the facts, the rollups, the analytics, the exports and after an incremental build, while the
applicant (their profile, and the fact's `applicant_region_*`) still says A."""

from __future__ import annotations

import csv
import io
from typing import Any

import anyio
from sqlalchemy import select, update

from ingest.core.schema import Applicant
from ingest.core.schema import utcnow as now
from tests.analytics_dataset import make_publisher
from tests.dashboard_support import viewer  # noqa: F401
from tests.ingest_support import API, applicant, catalog, tokens  # noqa: F401
from tests.test_warehouse_build import assert_same_marts, full_settings, published
from warehouse.build import build
from warehouse.snapshot import current

A, B, C = "REG-TASHCITY", "REG-SAMARKAND", "REG-FERGANA"


def region_counts(snapshot: Any, sql: str) -> dict[Any, int]:
    return {row[0]: int(row[1]) for row in snapshot.duckdb().sql(sql).fetchall()}


async def test_counted_by_own_region(app, client, db, session, settings, tokens, catalog, viewer) -> None:  # noqa: F811
    submit = f"{API}/bot1/foundation/submit"
    chosen = applicant(1, region_code=A, application_region_code=B)
    for body in (chosen, applicant(1), applicant(2, region_code=A)):  # one in B, two in A (profile's region)
        response = await client.post(submit, json=body, headers=tokens.h1())
        assert response.status_code == 201, response.text
    admissions = applicant(1, direction_code="DIR-SOFT-UZ", application_region_code=B)
    response = await client.post(f"{API}/bot1/admissions-2026/submit", json=admissions, headers=tokens.h1())
    assert response.status_code == 201, response.text
    await make_publisher(app, db, session, settings)()
    snap = current(settings)
    assert snap is not None

    facts = snap.duckdb().sql(
        "SELECT kind, region_code, applicant_region_code, application_region_code, region_name_en FROM fct_applications"
    )
    assert sorted(facts.fetchall(), key=str) == sorted(
        [
            ("foundation", B, A, B, "Samarkand"),
            ("foundation", A, A, None, "Tashkent city"),
            ("foundation", A, A, None, "Tashkent city"),
            ("admissions-2026", B, A, B, "Samarkand"),
        ],
        key=str,
    )
    daily = "SELECT region_code, sum(applications) FROM agg_applications_daily GROUP BY 1"
    assert region_counts(snap, daily) == {A: 2, B: 2}
    by = "SELECT code, sum(applications) FROM agg_admissions_daily_by WHERE dimension = 'region' GROUP BY 1"
    assert region_counts(snap, by) == {B: 1}

    r = await client.get(f"{API}/analytics/applications/by-region", headers=viewer.auth)
    assert r.status_code == 200, r.text
    served = {row["region_id"]: {k: n for k, n in row["by_kind"].items() if n} for row in r.json()}
    assert served == {
        catalog.id("region", A): {"foundation": 2},
        catalog.id("region", B): {"foundation": 1, "admissions-2026": 1},
    }
    exported = await client.get(f"{API}/exports/applications.csv", headers=viewer.auth)
    assert exported.status_code == 200, exported.text
    got = sorted((r["region_code"], r["applicant_region_code"], r["application_region_code"]) for r in
                 csv.DictReader(io.StringIO(exported.text)))  # fmt: skip
    assert got == sorted([(B, A, B)] * 2 + [(A, A, "")] * 2)

    # The applicant still says A: their row, and the dashboard's applicant list.
    async with db.sessionmaker() as s:
        region_id = await s.scalar(select(Applicant.region_id).where(Applicant.telegram_user_id == 1))
    assert str(region_id) == catalog.id("region", A)
    people = await client.get(
        f"{API}/bot1/applicants/", params={"region": catalog.id("region", A)}, headers=viewer.auth
    )
    assert people.status_code == 200 and people.json()["count"] == 2

    # The applicant moves to C: an incremental build moves their application without a region of its own, never
    # the one made from B; and it equals a full build.
    async with db.sessionmaker() as s, s.begin():
        await s.execute(
            update(Applicant)
            .where(Applicant.telegram_user_id == 1)
            .values(region_id=catalog.ids[("region", C)], updated_at=now())
        )
    await db.engine.dispose()
    result = await anyio.to_thread.run_sync(build, settings)
    assert result.status == "published" and not result.full, result
    snap = current(settings)
    assert snap is not None
    assert region_counts(snap, daily) == {A: 1, B: 2, C: 1}
    assert_same_marts(snap, await anyio.to_thread.run_sync(lambda: published(full_settings(settings), full=True)))
