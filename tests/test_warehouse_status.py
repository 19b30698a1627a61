"""`GET /api/v1/warehouse/status` (viewer) and the snapshot in `/readyz`, on SQLite and Postgres."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.settings import Settings
from tests.analytics_dataset import viewer_headers
from tests.test_warehouse_data import hand_made
from warehouse.build import build

URL = "/api/v1/warehouse/status"


async def test_status_needs_a_dashboard_user(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get(URL)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_status_before_and_after_a_build(
    client: AsyncTestClient[Litestar], session: AsyncSession, settings: Settings
) -> None:
    headers = await viewer_headers(session, settings)
    before = await client.get(URL, headers=headers)
    assert before.status_code == 200
    assert before.json() == {"snapshot": None, "last_failure": None}

    await hand_made(session)
    result = build(settings)
    body = (await client.get(URL, headers=headers)).json()
    snap = body["snapshot"]
    assert snap["id"] == result.snapshot_id and snap["full"] is True
    assert snap["row_counts"]["fct_applications"] == 7 and snap["row_counts"]["fct_survey_latest"] == 4
    assert snap["source_counts"]["bot2_survey_response"] == 6
    assert set(snap["watermark"]) >= {"bot1_admissions_2026", "bot2_survey_response"}
    assert snap["age_seconds"] >= 0 and snap["build_seconds"] > 0
    assert body["last_failure"] is None


async def test_readyz_shows_the_published_snapshot(client: AsyncTestClient[Litestar], settings: Settings) -> None:
    assert (await client.get("/readyz")).json()["snapshot"] is None
    result = build(settings)
    ready = (await client.get("/readyz")).json()
    assert ready["snapshot"]["id"] == result.snapshot_id
    assert set(ready["snapshot"]) == {"id", "built_at", "age_seconds"}


def test_cli_build_and_status(settings: Settings) -> None:
    import json

    from click.testing import CliRunner

    from crm.cli import cli

    env = {"CRM_DATABASE_URL": settings.database_url, "CRM_DATA_DIR": str(settings.data_dir), "CRM_ENV": "test"}
    runner = CliRunner()
    empty = runner.invoke(cli, ["warehouse", "status"], env=env)
    assert empty.exit_code == 0 and "no snapshot published yet" in empty.output
    built = runner.invoke(cli, ["warehouse", "build", "--full"], env=env)
    assert built.exit_code == 0, built.output
    assert "published snapshot" in built.output and "full" in built.output
    status = runner.invoke(cli, ["warehouse", "status", "--json"], env=env)
    assert status.exit_code == 0
    body = json.loads(status.output)
    assert body["snapshot"]["row_counts"]["dim_catalog"] == 0 and body["last_failure"] is None
