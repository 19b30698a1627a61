"""`crm up --demo` on a fresh directory with nothing configured: embedded SQLite, migrated, seeded, serving."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e import clean_env, crm_process, free_port, wait_ready

pytestmark = pytest.mark.e2e


def test_up_demo_on_a_fresh_directory_is_ready_within_60s(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "up.log"
    with crm_process(["up", "--demo", "--port", str(port)], cwd=tmp_path, env=clean_env(), log=log) as proc:
        took = wait_ready(base, proc, deadline_s=60)
        ready = httpx.get(f"{base}/readyz").json()
        docs = httpx.get(f"{base}/schema/openapi.json")
    output = log.read_text()
    assert took < 60
    assert ready["database"]["dialect"] == "sqlite" and ready["database"]["ok"] is True
    assert docs.status_code == 200
    assert (tmp_path / "data" / "crm.sqlite3").exists()
    assert "admin@example.com" in output and "viewer@example.com" in output
    assert "bot1_" in output and "bot2_" in output


def test_up_demo_twice_keeps_the_same_logins(tmp_path: Path) -> None:
    outputs = []
    for run in range(2):
        port = free_port()
        log = tmp_path / f"up{run}.log"
        with crm_process(["up", "--demo", "--port", str(port)], cwd=tmp_path, env=clean_env(), log=log) as proc:
            wait_ready(f"http://127.0.0.1:{port}", proc, deadline_s=60)
        outputs.append([line for line in log.read_text().splitlines() if "password:" in line or "bot1_" in line])
    assert outputs[0] == outputs[1] and len(outputs[0]) == 3
