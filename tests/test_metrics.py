"""`GET /metrics` through the real app, parsed with prometheus-client's own parser: HTTP requests by route template
(never the raw path), ingestion outcomes by kind, the published snapshot and report runs; off unless enabled."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from crm.app import create_app
from crm.cli import cli
from ingest.core.settings import Settings
from tests.ingest_support import API, applicant, catalog, key, tokens  # noqa: F401
from warehouse.build import build


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
    return out


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for ls, v in found.get(name, []) if all(ls.get(k) == want for k, want in labels.items()))


async def test_metrics_scrape_through_the_real_app(settings: Settings, tokens) -> None:  # noqa: F811
    settings = msgspec.structs.replace(settings, metrics=True)
    published = await asyncio.to_thread(build, settings)
    async with AsyncTestClient(app=create_app(settings)) as client:
        before = samples((await client.get("/metrics")).text)
        h = tokens.h1()
        assert (
            await client.post(f"{API}/bot1/applicants/upsert", json=applicant(tg=4242), headers=h)
        ).status_code == 201
        body, idem = {"telegram_user_id": 4242}, key()
        url = f"{API}/bot1/campus-tour/submit"
        for expect in (201, 200):
            r = await client.post(url, json={**body, "preferred_date": "2031-05-01"}, headers={**h, **idem})
            assert r.status_code == expect, r.text
        bad = await client.post(url, json={"telegram_user_id": "x"}, headers={**h, **key()})
        assert bad.status_code == 400
        assert (await client.get(f"{API}/users/{'0' * 8}-0000-0000-0000-{'0' * 12}")).status_code in (401, 403)
        scrape = await client.get("/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    found = samples(scrape.text)

    created = "crm_ingest_submissions_total"
    kind = "bot1.campus_tour"

    def grew(outcome: str, code: str = "") -> float:
        labels = {"kind": kind, "outcome": outcome, "code": code}
        return value(found, created, **labels) - value(before, created, **labels)

    assert grew("created") == 1 and grew("replayed") == 1 and grew("rejected", "VALIDATION_ERROR") == 1
    assert value(found, "crm_ingest_in_flight", kind=kind) == 0

    paths = {ls["path"] for ls, _ in found["crm_http_requests_total"]}
    assert f"{API}/users/{{user_id}}" in paths, paths
    assert not any("0000-0000" in p for p in paths)  # the template, never the raw path
    submit = {"path": f"{API}/bot1/campus-tour/submit", "status_code": "201"}  # counters are per process: differences
    assert value(found, "crm_http_requests_total", **submit) - value(before, "crm_http_requests_total", **submit) == 1
    assert value(found, "crm_http_request_duration_seconds_count", path=f"{API}/bot1/applicants/upsert") >= 1
    assert "/metrics" not in paths

    assert value(found, "crm_snapshot_info", id=published.snapshot_id) == 1
    assert value(found, "crm_snapshot_age_seconds") >= 0
    assert found["crm_mart_rows"] and all(ls["mart"] for ls, _ in found["crm_mart_rows"])
    assert value(found, "crm_build_last_failure_timestamp_seconds") == 0
    assert {ls["status"] for ls, _ in found["crm_report_runs"]} == {"running", "succeeded", "failed"}


async def test_metrics_are_off_unless_enabled(settings: Settings) -> None:
    assert settings.env == "test" and not settings.metrics_enabled
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert (await client.get("/metrics")).status_code == 404
    assert Settings(env="dev").metrics_enabled and not Settings(env="production").metrics_enabled
    assert Settings(env="production", metrics=True).metrics_enabled


def test_bot_status_writes_a_prometheus_textfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from bots.outbox import Outbox

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "data"))

    async def queue_one() -> None:
        outbox = await Outbox.open(tmp_path / "data" / "bots" / "bot2" / "outbox.sqlite3")
        await outbox.put("bot2.survey", {"telegram_user_id": 1}, chat_id=1, user_id=1, lang="uz")
        await outbox.close()

    asyncio.run(queue_one())
    out = tmp_path / "textfile" / "crm_bot2.prom"
    out.parent.mkdir()
    result = CliRunner().invoke(cli, ["bot", "status", "bot2", "--prometheus", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    found = samples(out.read_text())
    assert value(found, "crm_bot_outbox_queued", bot="bot2") == 1
    assert value(found, "crm_bot_outbox_dead_letters", bot="bot2") == 0


@pytest.mark.e2e
def test_metrics_of_several_worker_processes_are_summed(tmp_path: Path) -> None:
    import subprocess

    import httpx

    from tests.e2e import clean_env, crm_process, free_port, wait_ready

    db = f"sqlite+aiosqlite:///{tmp_path / 'crm.sqlite3'}"
    env = clean_env(CRM_DATABASE_URL=db, CRM_DATA_DIR=str(tmp_path / "data"), CRM_METRICS="true")
    subprocess.run([sys.executable, "-m", "crm", "db", "upgrade"], cwd=tmp_path, env=env, check=True, timeout=300)
    stale = tmp_path / "data" / "prometheus" / "counter_1.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by a previous run")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = ["serve", "--workers", "2", "--port", str(port)]
    with crm_process(args, cwd=tmp_path, env=env, log=tmp_path / "serve.log") as proc:
        wait_ready(base, proc, deadline_s=180)
        before = value(samples(httpx.get(f"{base}/metrics").text), "crm_http_requests_total", path="/healthz")
        for _ in range(40):  # new connections: uvicorn's processes share the listening socket, so both serve some
            assert httpx.get(f"{base}/healthz").status_code == 200
        after = value(samples(httpx.get(f"{base}/metrics").text), "crm_http_requests_total", path="/healthz")
        files = sorted(p.name for p in (tmp_path / "data" / "prometheus").iterdir())
    assert after - before == 40
    assert not stale.exists() and any(name.startswith("counter_") for name in files)


def test_a_dead_workers_in_flight_gauge_is_forgotten(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker killed mid-request leaves its live gauge file behind; the next scrape drops it, so in-flight counts
    only what live processes hold."""
    import subprocess

    from crm.metrics import exposition

    directory = tmp_path / "prometheus"
    directory.mkdir()
    worker = (
        "from prometheus_client import Gauge; "
        "Gauge('crm_ingest_in_flight', 'x', ['kind'], multiprocess_mode='livesum').labels('campus_tour').inc(3)"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-c", worker], env=env, check=True, timeout=60)  # it exits: its pid is dead
    assert list(directory.glob("gauge_livesum_*.db"))
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    found = samples(exposition(Settings(data_dir=tmp_path / "data", env="test")).decode())
    assert value(found, "crm_ingest_in_flight", kind="campus_tour") == 0
    assert not list(directory.glob("gauge_livesum_*.db"))
