"""No request body, header or query string yields a 500 on the ingestion API (SPEC §4.1, §12): junk thrown at every
endpoint answers 4xx problem+json, and writes nothing."""

from __future__ import annotations

import json
from typing import Any

from ingest.core.schema import Applicant, AuditLog, IdempotencyRecord, SurveyResponse
from tests.ingest_support import API, catalog, count, tokens  # noqa: F401

BOT1_POSTS = [
    "/bot1/applicants/upsert",
    "/bot1/admissions-2026/submit",
    "/bot1/campus-tour/submit",
    "/bot1/foundation/submit",
    "/bot1/polito-academy/submit",
]
JSON_CT = {"content-type": "application/json"}


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": [value]}
    return value


def raw_bodies() -> list[bytes]:
    return [
        b"",
        b"{",
        b"\xff\xfe\xfd",
        b'{"telegram_user_id": 1, "first_name": "\xff"}',
        b"null",
        b"[]",
        b"123",
        b'"text"',
        b"true",
        b'{"telegram_user_id": 1}{"telegram_user_id": 2}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"telegram_user_id": 1, "answers": {"x": 1e400}}',
        b'{"telegram_user_id": 1, "answers": {"x": NaN}}',
        b'{"telegram_user_id": 1, "first_name": "\\ud800"}',
        b'{"telegram_user_id": 1, "answers": {"\\udc00": "\\ud800x"}}',
        b'{"student_external_id": "\\ud800", "program_code": "\\udfff"}',
        b'{"telegram_user_id": 1, "first_name": "a\\u0000b"}',
        b'{"telegram_user_id": 1, "answers": {"x": "nul\\u0000"}}',
        b'{"telegram_user_id": 1, "answers": {"nul\\u0000key": 1}}',
        b'{"student_external_id": "a\\u0000", "username": "\\u0000"}',
    ]


def json_bodies() -> list[Any]:
    big = 2**70
    return [
        {},
        {"telegram_user_id": big},
        {"telegram_user_id": -(2**63) - 1},
        {"telegram_user_id": 0},
        {"telegram_user_id": 1.5},
        {"telegram_user_id": "1"},
        {"telegram_user_id": True},
        {"telegram_user_id": None},
        {"telegram_user_id": 1, "telegram_chat_id": big},
        {"telegram_user_id": 1, "unknown": 1},
        {"telegram_user_id": 1, "answers": [1, 2]},
        {"telegram_user_id": 1, "answers": _nested(40)},
        {"telegram_user_id": 1, "region_id": "not-a-uuid"},
        {"telegram_user_id": 1, "region_id": 1},
        {"telegram_user_id": 1, "region_code": ""},
        {"telegram_user_id": 1, "region_code": "x" * 10_000},
        {"telegram_user_id": 1, "birth_date": "2020-13-45"},
        {"telegram_user_id": 1, "birth_date": "0000-01-01"},
        {"telegram_user_id": 1, "preferred_date": "yesterday"},
        {"telegram_user_id": 1, "status": "approved-ish"},
        {"telegram_user_id": 1, "first_name": "x" * 151},
        {"telegram_user_id": 1, "email": "not-an-email"},
        {"telegram_user_id": 1, "direction_id": "00000000-0000-0000-0000-000000000000"},
        {"telegram_user_id": 1, "subject_code": {"$ne": 1}},
        {"telegram_user_id": [1]},
        {"student_external_id": ""},
        {"student_external_id": 5},
        {"student_external_id": "x", "course_year": 0},
        {"student_external_id": "x", "course_year": big},
        {"student_external_id": "x", "program_id": "zzz"},
        {"student_external_id": "x", "program_code": "NOPE"},
        {"student_external_id": "x", "consents": "yes"},
        {"student_external_id": "x", "consents": _nested(40)},
        {"student_external_id": "x", "survey_campaign": ""},
        {"items": []},
        {"items": "x"},
        {"items": [{"kind": "bot1.foundation", "idempotency_key": "k", "payload": "x"}]},
        {"items": [{"kind": "bot1.foundation", "idempotency_key": "k" * 300, "payload": {}}]},
        {"items": [{"kind": "bot1.foundation", "idempotency_key": "k", "payload": {"telegram_user_id": big}}]},
    ]


def assert_problem(r: Any, where: str) -> None:
    assert 400 <= r.status_code < 500, f"{where}: {r.status_code} {r.text[:300]}"
    assert r.headers["content-type"].startswith("application/problem+json"), f"{where}: {r.headers}"
    body = r.json()
    assert body["status"] == r.status_code and body["code"], where


async def test_junk_bodies_never_500(client, tokens, catalog, db):  # noqa: F811
    targets = [(p, tokens.h1()) for p in BOT1_POSTS] + [
        ("/bot2/surveys/submit", tokens.h2()),
        ("/ingest/batch", tokens.h1()),
        ("/ingest/batch", tokens.h2()),
    ]
    for path, headers in targets:
        for raw in raw_bodies():
            r = await client.post(f"{API}{path}", content=raw, headers={**headers, **JSON_CT})
            if r.status_code == 200 and path == "/ingest/batch":
                continue  # a valid batch envelope whose items failed: checked below
            assert_problem(r, f"{path} {raw[:60]!r}")
        for body in json_bodies():
            r = await client.post(f"{API}{path}", content=json.dumps(body).encode(), headers={**headers, **JSON_CT})
            if path == "/ingest/batch" and r.status_code == 200:
                assert all(x["status"] == "error" for x in r.json()["results"]), (body, r.text)
                continue
            assert_problem(r, f"{path} {str(body)[:80]}")
    assert await count(db, Applicant) == 0
    assert await count(db, SurveyResponse) == 0
    assert await count(db, AuditLog) == 0
    assert await count(db, IdempotencyRecord) == 0


async def test_odd_but_valid_json_is_stored_not_crashed(client, tokens, catalog, db):  # noqa: F811
    odd = {"telegram_user_id": 2**62, "answers": {"big": 2**200, "tiny": 1e-300, "emoji": "😀", "": None, "e": []}}
    r = await client.post(f"{API}/bot1/foundation/submit", json=odd, headers=tokens.h1())
    assert r.status_code == 201, r.text
    r = await client.get(f"{API}/bot1/applicants/{2**62}/applications", headers=tokens.h1())
    assert r.json()["count"] == 1


async def test_bad_nul_and_surrogates_inside_a_batch(client, tokens):  # noqa: F811
    items = [
        {"kind": "bot1.foundation", "idempotency_key": "k1", "payload": {"telegram_user_id": 1, "first_name": "a\x00"}},
        {"kind": "bot1.foundation", "idempotency_key": "k2", "payload": {"telegram_user_id": 2}},
    ]
    r = await client.post(f"{API}/ingest/batch", json={"items": items}, headers=tokens.h1())
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["results"]] == ["error", "created"]
    raw = (
        b'{"items": [{"kind": "bot1.foundation", "idempotency_key": "k3", '
        b'"payload": {"telegram_user_id": 3, "answers": {"x": "\\ud800"}}}]}'
    )
    r = await client.post(f"{API}/ingest/batch", content=raw, headers={**tokens.h1(), **JSON_CT})
    assert r.status_code in (200, 400)
    if r.status_code == 200:
        assert r.json()["results"][0]["status"] == "error"


async def test_wrong_content_type_and_size(client, tokens):  # noqa: F811
    for path, headers in [(p, tokens.h1()) for p in BOT1_POSTS] + [("/bot2/surveys/submit", tokens.h2())]:
        url = f"{API}{path}"
        for ct in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""):
            r = await client.post(url, content=b'{"telegram_user_id": 1}', headers={**headers, "content-type": ct})
            assert_problem(r, f"{path} {ct}")
        big = b'{"telegram_user_id": 1, "answers": {"x": "' + b"a" * (1024 * 1024 + 10) + b'"}}'
        r = await client.post(url, content=big, headers={**headers, **JSON_CT})
        assert r.status_code == 413, path
        assert_problem(r, path)
    huge = b'{"items": [' + b'{"kind": "bot1.foundation", "idempotency_key": "k", "payload": {}},' * 150_000 + b"]}"
    r = await client.post(f"{API}/ingest/batch", content=huge, headers={**tokens.h1(), **JSON_CT})
    assert r.status_code == 413
    assert_problem(r, "batch")


async def test_junk_headers(client, tokens):  # noqa: F811
    url = f"{API}/bot1/foundation/submit"
    body = b'{"telegram_user_id": 1}'
    for headers in [
        {"X-SERVICE-TOKEN": b"\xff\xfe\x00bad"},
        {"X-SERVICE-TOKEN": "x" * 100_000},
        {**tokens.h1(), "Idempotency-Key": b"\xff" * 300},
        {**tokens.h1(), "Idempotency-Key": "k" * 10_000},
        {**tokens.h1(), "X-Forwarded-For": "not-an-ip, ::::"},
        {**tokens.h1(), "Content-Length": "abc"},
    ]:
        try:
            r = await client.post(url, content=body, headers={**JSON_CT, **headers})
        except Exception:
            continue
        assert 200 <= r.status_code < 500, (headers.keys(), r.status_code, r.text[:200])
        if r.status_code >= 400:
            assert_problem(r, str(list(headers)))


async def test_junk_query_strings_and_paths(client, tokens):  # noqa: F811
    for query in (
        "type=zzz",
        "type=",
        "type=region&type=track",
        "%ff=1",
        "type=%ff%fe",
        "type[]=x",
        "type=" + "r" * 10_000,
    ):
        r = await client.get(f"{API}/bot/catalog?{query}", headers=tokens.h1())
        assert r.status_code == 200 or 400 <= r.status_code < 500, (query, r.status_code)
        if r.status_code != 200:
            assert_problem(r, query)
    for tg in ("abc", "-1", "0", str(2**70), "9" * 40, "1.5", "%00"):
        r = await client.get(f"{API}/bot1/applicants/{tg}/applications", headers=tokens.h1())
        assert_problem(r, tg)
    r = await client.get(f"{API}/bot1/applicants/1/applications?junk=%ff", headers=tokens.h1())
    assert r.status_code == 200
