"""The bad-input policy of SPEC §12 for request bodies, on the real app factory with a scratch route: every error is
problem+json naming the field, and a 500 never leaks internals."""

from __future__ import annotations

import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.testing import AsyncTestClient

from crm.app import create_app
from ingest.core.settings import Settings


class Inner(msgspec.Struct, forbid_unknown_fields=True):
    score: int


class Body(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    answers: Inner | None = None


@post("/api/v1/scratch")
async def scratch(data: Body) -> dict[str, bool]:
    return {"ok": True}


@get("/api/v1/scratch-crash")
async def crash() -> None:
    raise RuntimeError("secret internal detail")


@pytest.fixture
async def scratch_client(settings: Settings):  # type: ignore[no-untyped-def]
    app: Litestar = create_app(settings)
    app.register(scratch)
    app.register(crash)
    async with AsyncTestClient(app=app) as c:
        yield c


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (b'{"name": "a"', 400, "MALFORMED_JSON", "$"),
        (b"\xff\xfe", 400, "MALFORMED_JSON", "$"),
        (b'{"name": 1}', 400, "VALIDATION_ERROR", "$.name"),
        (b'{"name": "a", "zzz": 1}', 400, "VALIDATION_ERROR", "$.zzz"),
        (b'{"name": "a", "answers": {"score": "x"}}', 400, "VALIDATION_ERROR", "$.answers.score"),
        (b'{"name": "a", "answers": {"score": 1, "q": 2}}', 400, "VALIDATION_ERROR", "$.answers.q"),
        (b"[]", 400, "VALIDATION_ERROR", "$"),
        (b'{"name": "\xff"}', 400, "MALFORMED_JSON", "$"),
        (b'{"name": "a", "answers": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400, "MALFORMED_JSON", "$"),
        (b"", 400, "VALIDATION_ERROR", "$"),
        (b"x" * 1_100_000, 413, "PAYLOAD_TOO_LARGE", None),
    ],
)
async def test_bad_bodies_get_problem_json_naming_the_field(
    scratch_client: AsyncTestClient, body: bytes, status: int, code: str, field: str | None
) -> None:
    response = await scratch_client.post("/api/v1/scratch", content=body, headers=JSON)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["status"], problem["code"], problem.get("field")) == (status, code, field)
    assert problem["request_id"] == response.headers["x-request-id"]


async def test_wrong_content_type_is_415(scratch_client: AsyncTestClient) -> None:
    response = await scratch_client.post(
        "/api/v1/scratch", content=b'{"name": "a"}', headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_good_body_passes(scratch_client: AsyncTestClient) -> None:
    response = await scratch_client.post("/api/v1/scratch", json={"name": "a", "answers": {"score": 3}})
    assert response.status_code == 201


async def test_unhandled_error_is_a_500_without_internals(scratch_client: AsyncTestClient) -> None:
    response = await scratch_client.get("/api/v1/scratch-crash")
    assert response.status_code == 500
    assert response.json()["code"] == "INTERNAL_ERROR"
    assert "secret internal detail" not in response.text
