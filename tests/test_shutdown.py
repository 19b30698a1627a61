"""Graceful shutdown: SIGTERM lets a request in flight finish (a real `crm serve` process), a stopping worker starts
no new job and lets a running one finish (the scheduler in-process, and a real `crm worker`), and a stopping bot
finishes the updates in hand. Every wait is on an event or an observable state, never a sleep."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from aiogram import Dispatcher
from aiogram.types import Chat, Message, Update, User
from prometheus_client.parser import text_string_to_metric_families

from bots.inflight import InFlight
from crm.worker import make_scheduler, run_scheduler
from ingest.auth.service_tokens import issue_token
from ingest.core.db import Database
from ingest.core.jobs import JobSpec
from ingest.core.settings import Settings
from tests.bots.mocked_bot import MockedBot
from tests.e2e import clean_env, free_port, wait_ready

UPSERT = "/api/v1/bot1/applicants/upsert"


def _in_progress(base: str, path: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=5).text
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "crm_http_requests_in_progress" and s.labels.get("path") == path
    )


@pytest.mark.e2e
async def test_sigterm_lets_a_request_in_flight_finish(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url, pool_size=1)
    async with db.sessionmaker() as s, s.begin():
        _, token = await issue_token(s, "bot1", name="shutdown")
    await db.dispose()
    port, log = free_port(), tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    env = clean_env(CRM_DATABASE_URL=db_url, CRM_DATA_DIR=str(tmp_path / "data"), CRM_METRICS="true")
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crm", "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=out, stderr=out
        )
        try:
            wait_ready(base, proc, deadline_s=120)
            body = json.dumps({"telegram_user_id": 777, "first_name": "Aziz"}).encode()
            head = (
                f"POST {UPSERT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\nX-SERVICE-TOKEN: {token}\r\n\r\n"
            ).encode()
            with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
                conn.sendall(head + body[:10])  # the request is in the handler, waiting for the rest of its body
                deadline = time.monotonic() + 60
                while _in_progress(base, UPSERT) < 1:  # the server's own count of requests in flight
                    assert time.monotonic() < deadline, "the request never reached the app"
                proc.send_signal(signal.SIGTERM)
                conn.sendall(body[10:])
                answer = b""
                while chunk := conn.recv(65536):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
            assert b'"telegram_user_id":777' in answer
            assert proc.wait(timeout=60) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)


async def test_a_stopping_worker_lets_the_running_job_finish_and_starts_no_other(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    started, release, finished, runs = asyncio.Event(), asyncio.Event(), asyncio.Event(), []

    async def slow_job(_settings: Settings) -> None:
        runs.append(datetime.now(UTC))
        started.set()
        await release.wait()
        finished.set()

    stop = asyncio.Event()
    scheduler = make_scheduler(settings, [JobSpec("slow", "a slow build", slow_job, 1, start_now=True)])
    worker = asyncio.create_task(run_scheduler(scheduler, stop, grace_seconds=60))
    await started.wait()
    stop.set()
    done, _ = await asyncio.wait([worker], timeout=0.5)  # bounded check that it is still waiting, not a sync point
    assert not done and not finished.is_set()
    release.set()
    await worker
    assert finished.is_set() and len(runs) == 1


async def test_a_stopping_worker_gives_up_on_a_job_after_its_grace(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def stuck(_settings: Settings) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    stop = asyncio.Event()
    scheduler = make_scheduler(settings, [JobSpec("stuck", "a stuck job", stuck, 3600, start_now=True)])
    worker = asyncio.create_task(run_scheduler(scheduler, stop, grace_seconds=0.2))
    await started.wait()
    stop.set()
    await worker
    await asyncio.wait_for(cancelled.wait(), 5)


@pytest.mark.e2e
def test_crm_worker_publishes_the_build_it_was_running_when_sigterm_came(tmp_path: Path) -> None:
    db_file = tmp_path / "crm.sqlite3"
    env = clean_env(CRM_DATABASE_URL=f"sqlite+aiosqlite:///{db_file}", CRM_DATA_DIR=str(tmp_path / "data"))
    subprocess.run([sys.executable, "-m", "crm", "db", "upgrade"], cwd=tmp_path, env=env, check=True, timeout=300)
    proc = subprocess.Popen(
        [sys.executable, "-m", "crm", "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the scheduler logs each job as it starts it
            lines.append(line)
            if "Running job" in line and "build the marts" in line:
                proc.send_signal(signal.SIGTERM)
                break
        else:
            raise AssertionError("".join(lines))
        rest, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "".join(lines) + rest
    assert proc.returncode == 0, output
    assert "warehouse: published" in output and "worker stopped" in output
    assert (tmp_path / "data" / "warehouse" / "current.json").is_file()


async def test_a_stopping_bot_finishes_the_update_in_hand() -> None:
    dp, in_flight = Dispatcher(), InFlight()
    dp.update.outer_middleware(in_flight)
    entered, release, answered = asyncio.Event(), asyncio.Event(), asyncio.Event()

    @dp.message()
    async def slow(message: Message) -> None:
        entered.set()
        await release.wait()
        answered.set()

    user = User(id=1, is_bot=False, first_name="A")
    message = Message(message_id=1, date=datetime.now(UTC), chat=Chat(id=1, type="private"), from_user=user, text="x")
    handling = asyncio.create_task(dp.feed_update(MockedBot(), Update(update_id=1, message=message)))
    await entered.wait()
    waiting = asyncio.create_task(in_flight.wait_idle(grace_seconds=60))
    done, _ = await asyncio.wait([waiting], timeout=0.2)
    assert not done
    release.set()
    assert await waiting is True and answered.is_set()
    await handling
