"""Attacks that need a real server (issue 17), sent as an attacker sends them to `crm serve` over loopback HTTP:
forged `X-Forwarded-For` from a loopback client, and clients that give up half-way through a request."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.core.db import Database
from tests.ingest_support import API, Tokens, applicant, catalog, latest_audit, tokens  # noqa: F401
from tests.served import Served, served

pytestmark = pytest.mark.e2e

LOGIN = f"{API}/auth/login"
FOUNDATION = f"{API}/bot1/foundation/submit"
WRONG, LIMITED = "INVALID_CREDENTIALS", "RATE_LIMITED"


def _forged_requests(server: Served, tokens: Tokens) -> tuple[list[str], httpx.Response]:  # noqa: F811
    """Twelve wrong logins, each with another forged `X-Forwarded-For` and another e-mail (so only a per-IP limit can
    stop them), then a bot write with a forged address; returns the logins' problem codes and the write's answer."""
    codes = []
    with httpx.Client(base_url=server.base, timeout=30) as http:
        for i in range(1, 13):
            body = {"email": f"guess{i}@example.com", "password": "not-the-password"}
            codes.append(http.post(LOGIN, json=body, headers={"X-Forwarded-For": f"203.0.113.{i}"}).json()["code"])
        forged = tokens.h1(**{"X-Forwarded-For": "198.51.100.7"})
        return codes, http.post(FOUNDATION, json=applicant(), headers=forged)


async def test_loopback_client_cannot_pick_its_ip_with_forwarded_for(
    db_url: str,
    tmp_path: Path,
    tokens: Tokens,  # noqa: F811
    db: Database,
) -> None:
    with served(db_url, tmp_path) as server:
        codes, r = _forged_requests(server, tokens)
    # The per-IP limit (10 a minute) counts the real peer, whatever the header says.
    assert codes[:10] == [WRONG] * 10 and LIMITED in codes[10:], codes
    assert r.status_code == 201, r.text
    assert (await latest_audit(db)).ip == "127.0.0.1"


async def test_forwarded_for_is_believed_from_a_trusted_proxy(
    db_url: str,
    tmp_path: Path,
    tokens: Tokens,  # noqa: F811
    db: Database,
) -> None:
    with served(db_url, tmp_path, CRM_TRUSTED_PROXIES="127.0.0.1") as server:
        codes, r = _forged_requests(server, tokens)
    # Behind the configured proxy every address is its own client: twelve clients, one attempt each.
    assert codes == [WRONG] * 12, codes
    assert r.status_code == 201, r.text
    assert (await latest_audit(db)).ip == "198.51.100.7"


def _log_lines(server: Served) -> list[dict[str, Any]]:
    """The server's JSON log lines (uvicorn's own plain-text lines are skipped)."""
    lines = []
    for raw in server.output().splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


def _wait_for_log(server: Served, done: Callable[[list[dict[str, Any]]], bool], deadline_s: float = 30) -> None:
    """Poll the server's log until `done` holds (the event the test waits for), or fail with the log."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if done(_log_lines(server)):
            return
        time.sleep(0.05)  # polling interval of an event wait, not a synchronisation guess
    raise AssertionError(f"not logged within {deadline_s} s:\n{server.output()[-3000:]}")


def _give_up(port: int, request: bytes) -> None:
    """Send `request` as is and close the connection without reading any answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)


HALF_BODY = (
    b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b'Content-Length: 1000\r\n\r\n{"email": "a@example.com", "passw'
)
WHOLE_THEN_GONE = (
    b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b'Content-Length: 45\r\n\r\n{"email": "a@example.com", "password": "bad"}'
)


async def test_a_client_that_gives_up_mid_request_is_a_disconnect_not_an_error(db_url: str, tmp_path: Path) -> None:
    with served(db_url, tmp_path) as server:
        for _ in range(3):
            _give_up(server.port, HALF_BODY)
        _give_up(server.port, WHOLE_THEN_GONE)

        def logins(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [x for x in lines if x.get("msg") == "request" and x.get("path") == LOGIN]

        _wait_for_log(server, lambda lines: len(logins(lines)) == 4)
        lines = _log_lines(server)
    gone = [x for x in lines if x.get("msg") == "client disconnected"]
    assert len(gone) == 3 and {x["level"] for x in gone} == {"info"} and not any("exc" in x for x in gone)
    statuses = [x["status"] for x in logins(lines)]  # three abandoned bodies, one wrong login answered as usual
    assert statuses.count(499) == 3 and len(statuses) == 4 and max(statuses) < 500, statuses
    assert not [x for x in lines if x["level"] in ("error", "critical")]
    output = server.output()
    assert "Traceback" not in output and "unhandled error" not in output and "Exception in ASGI" not in output
