"""Liveness, readiness, the OpenAPI document and its offline docs page, and the problem+json error shape."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from ingest.core.migrate import head_revision


async def test_healthz_needs_no_database(client: AsyncTestClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_readyz_reports_database_revision_and_no_snapshot(client: AsyncTestClient) -> None:
    response = await client.get("/readyz/")
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["database"]["revision"] == head_revision()
    assert body["snapshot"] is None


async def test_incoming_request_id_is_echoed(client: AsyncTestClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    hostile = await client.get("/healthz", headers={"X-Request-Id": "bad id\twith spaces"})
    assert hostile.headers["x-request-id"] != "bad id\twith spaces"


async def test_unknown_path_is_problem_json(client: AsyncTestClient) -> None:
    response = await client.get("/api/v1/does-not-exist")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "NOT_FOUND"
    assert body["status"] == 404
    assert body["request_id"] == response.headers["x-request-id"]


async def test_wrong_method_is_problem_json(client: AsyncTestClient) -> None:
    response = await client.delete("/healthz")
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_openapi_document_and_docs_page_work_offline(client: AsyncTestClient) -> None:
    doc = await client.get("/schema/openapi.json")
    assert doc.status_code == 200
    assert doc.json()["info"]["title"] == "TTPU CRM warehouse"
    page = await client.get("/schema/swagger")
    assert page.status_code == 200
    # every script and stylesheet the page loads is served by the app itself
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert assets and not [a for a in assets if a.startswith("http") or a.startswith("//")]
    for asset in assets:
        if asset.startswith("/"):
            served = await client.get(asset)
            assert served.status_code == 200, asset
            assert len(served.content) > 1000, asset
