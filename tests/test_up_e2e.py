"""`crm up --demo` on a fresh directory with nothing configured: embedded SQLite, migrated, seeded, serving."""

from __future__ import annotations

import time
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


def _snapshot_id(base: str) -> str:
    return httpx.get(f"{base}/readyz").json()["snapshot"]["id"]


def test_up_demo_twice_keeps_the_same_logins(tmp_path: Path) -> None:
    """The restart serves the snapshot it has at once and its worker publishes a new one beside the server; the
    printed demo password still logs in (it is not hashed again on each start unless it was changed)."""
    outputs, snapshots = [], []
    for run in range(2):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = tmp_path / f"up{run}.log"
        with crm_process(["up", "--demo", "--port", str(port)], cwd=tmp_path, env=clean_env(), log=log) as proc:
            wait_ready(base, proc, deadline_s=60)
            snapshots.append(_snapshot_id(base))
            lines = [line for line in log.read_text().splitlines() if "password:" in line or "bot1_" in line]
            password = next(line for line in lines if "admin@example.com" in line).split("password:")[1].strip()
            login = httpx.post(
                f"{base}/api/v1/auth/login", json={"email": "admin@example.com", "password": password}, timeout=30
            )
            assert login.status_code == 200, login.text
            if run == 1:
                deadline = time.monotonic() + 60
                while _snapshot_id(base) == snapshots[0]:  # the worker's build after the restart lands
                    assert time.monotonic() < deadline, "no build after the restart"
                    time.sleep(0.1)
        outputs.append(lines)
    assert outputs[0] == outputs[1] and len(outputs[0]) == 3
    assert snapshots[1] == snapshots[0]  # ready on the snapshot it had
    assert "marts published" not in (tmp_path / "up1.log").read_text().split("Serving")[0]
