"""Attacks that need a real server (issue 17), sent as an attacker sends them to `crm serve` over loopback HTTP:
forged `X-Forwarded-For` from a loopback client, and clients that give up half-way through a request."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ingest.core.db import Database
from tests.ingest_support import API, Tokens, applicant, catalog, latest_audit, tokens  # noqa: F401
from tests.served import served

pytestmark = pytest.mark.e2e

LOGIN = f"{API}/auth/login"
FOUNDATION = f"{API}/bot1/foundation/submit"


def _failed_logins(base: str, forwarded: list[str]) -> list[int]:
    """One wrong login per forged address, each with another e-mail (so only a per-IP limit can stop them)."""
    statuses = []
    with httpx.Client(base_url=base, timeout=30) as http:
        for i, ip in enumerate(forwarded):
            body = {"email": f"guess{i}@example.com", "password": "not-the-password"}
            statuses.append(http.post(LOGIN, json=body, headers={"X-Forwarded-For": ip}).status_code)
    return statuses


async def test_loopback_client_cannot_pick_its_ip_with_forwarded_for(
    db_url: str,
    tmp_path: Path,
    tokens: Tokens,  # noqa: F811
    db: Database,
) -> None:
    forged = [f"203.0.113.{i}" for i in range(1, 13)]
    with served(db_url, tmp_path) as server:
        statuses = _failed_logins(server.base, forged)
        r = httpx.post(
            server.base + FOUNDATION, json=applicant(), headers=tokens.h1(**{"X-Forwarded-For": "198.51.100.7"})
        )
    # The per-IP limit (10 a minute) counts the real peer, whatever the header says.
    assert statuses[:10] == [401] * 10 and 429 in statuses[10:], statuses
    assert r.status_code == 201, r.text
    assert (await latest_audit(db)).ip == "127.0.0.1"


async def test_forwarded_for_is_believed_from_a_trusted_proxy(
    db_url: str,
    tmp_path: Path,
    tokens: Tokens,  # noqa: F811
    db: Database,
) -> None:
    forged = [f"203.0.113.{i}" for i in range(1, 13)]
    with served(db_url, tmp_path, CRM_TRUSTED_PROXIES="127.0.0.1") as server:
        statuses = _failed_logins(server.base, forged)
        r = httpx.post(
            server.base + FOUNDATION, json=applicant(), headers=tokens.h1(**{"X-Forwarded-For": "198.51.100.7"})
        )
    # Behind the configured proxy every address is its own client: twelve clients, one attempt each.
    assert statuses == [401] * 12, statuses
    assert r.status_code == 201, r.text
    assert (await latest_audit(db)).ip == "198.51.100.7"
