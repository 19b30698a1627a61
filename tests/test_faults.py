"""Fault tests (DESIGN "Testing"; marker `fault`, bounded, loopback only): keyed concurrent load with retries against a
real `crm serve`, through (a) a `kill -9` of the server and (b) an immediate restart of a Postgres instance the test
starts for itself. Both end with exact counts per idempotency key: one application row, one idempotency record, one
audit row, and every answer (first, retried, replayed) byte-equal to the first one."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import select

from ingest.auth.service_tokens import issue_token
from ingest.core import migrate
from ingest.core.db import Database
from ingest.core.schema import AuditLog, FoundationRequest, IdempotencyRecord
from tests.e2e import free_port
from tests.ingest_support import API
from tests.served import Served

pytestmark = pytest.mark.fault

FOUNDATION = f"{API}/bot1/foundation/submit"
CLIENTS = 8
KEYS = 300
FAULT_AT = KEYS // 3  # completed submissions before the fault is injected
LOAD_DEADLINE_S = 50
RETRY_PAUSE_S = 0.05  # a client's pause between retries (pacing, not synchronisation)


@dataclass
class Load:
    """Keyed load: CLIENTS tasks submit KEYS submissions, each retried until it gets a 2xx answer."""

    base: str
    token: str
    keys: list[str] = field(default_factory=lambda: [f"fault-{uuid.uuid4()}" for _ in range(KEYS)])
    answers: dict[str, list[bytes]] = field(default_factory=dict)  # every 2xx body per key, first one first
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: int = 0
    unavailable_without_retry_after: int = 0
    unexpected: list[str] = field(default_factory=list)
    completed: int = 0
    fault_point: asyncio.Event = field(default_factory=asyncio.Event)  # FAULT_AT submissions completed
    saw_503: asyncio.Event = field(default_factory=asyncio.Event)

    def body(self, index: int) -> dict[str, Any]:
        return {"telegram_user_id": 50_000 + index, "first_name": "Fault", "answers": {"n": index}}

    async def _submit(self, http: httpx.AsyncClient, index: int) -> None:
        key = self.keys[index]
        headers = {"X-SERVICE-TOKEN": self.token, "Idempotency-Key": key}
        while True:
            try:
                r = await http.post(FOUNDATION, json=self.body(index), headers=headers)
            except httpx.TransportError:
                self.transport_errors += 1  # the server is gone (killed) or restarting: send it again
                await asyncio.sleep(RETRY_PAUSE_S)
                continue
            self.statuses[r.status_code] += 1
            if r.is_success:
                self.answers.setdefault(key, []).append(r.content)
                return
            if r.status_code == 503:
                self.unavailable_without_retry_after += "retry-after" not in r.headers
                self.saw_503.set()
            elif r.status_code != 409:  # 409: the same key still in flight elsewhere; anything else is a failure
                self.unexpected.append(f"{r.status_code} {r.text[:300]}")
                return
            await asyncio.sleep(RETRY_PAUSE_S)

    async def _client(self, queue: asyncio.Queue[int]) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as http:
            while not queue.empty():
                await self._submit(http, queue.get_nowait())
                self.completed += 1
                if self.completed >= FAULT_AT:
                    self.fault_point.set()

    async def run(self) -> None:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(KEYS):
            queue.put_nowait(index)
        await asyncio.gather(*(self._client(queue) for _ in range(CLIENTS)))

    async def replay_all(self) -> list[str]:
        """Send every submission once more: each must be replayed byte-equal to its first answer."""
        wrong = []
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as http:
            for index, key in enumerate(self.keys):
                headers = {"X-SERVICE-TOKEN": self.token, "Idempotency-Key": key}
                r = await http.post(FOUNDATION, json=self.body(index), headers=headers)
                # A pooled connection that died with the database answers one 503 (its pool is then dropped),
                # which the bots retry at once like any 503; anything else must be the stored answer.
                for _ in range(3):
                    if r.status_code != 503:
                        break
                    r = await http.post(FOUNDATION, json=self.body(index), headers=headers)
                if r.status_code != 200 or r.headers.get("idempotent-replayed") != "true":
                    wrong.append(f"{key}: {r.status_code}")
                elif r.content != self.answers[key][0]:
                    wrong.append(f"{key}: {r.content!r} != {self.answers[key][0]!r}")
        return wrong


async def under_fault(load: Load, inject: Callable[[], Awaitable[None]]) -> None:
    """Run the load; when FAULT_AT submissions have completed, `inject` the fault (it also recovers from it)."""
    running = asyncio.ensure_future(load.run())
    waiting = asyncio.ensure_future(load.fault_point.wait())
    done, _ = await asyncio.wait({running, waiting}, timeout=LOAD_DEADLINE_S, return_when=asyncio.FIRST_COMPLETED)
    assert waiting in done, f"the load never reached {FAULT_AT} completed submissions"
    await inject()
    await asyncio.wait_for(running, timeout=LOAD_DEADLINE_S)


async def assert_exactly_once(load: Load, db_url: str) -> None:
    """One application row, one idempotency record and one audit row per key; every answer equal to the first."""
    assert not load.unexpected, load.unexpected[:5]
    assert sorted(load.answers) == sorted(load.keys)
    for key, bodies in load.answers.items():
        assert len(set(bodies)) == 1, (key, bodies)
    database = Database(db_url, pool_size=1)
    try:
        async with database.engine.connect() as conn:
            records = (
                await conn.execute(
                    select(IdempotencyRecord.key, IdempotencyRecord.entity_id).where(
                        IdempotencyRecord.service == "bot1"
                    )
                )
            ).all()
            rows = (await conn.execute(select(FoundationRequest.id))).scalars().all()
            audits = (
                await conn.execute(
                    select(AuditLog.entity_id, AuditLog.meta).where(
                        AuditLog.actor_service == "bot1", AuditLog.entity_table == FoundationRequest.__tablename__
                    )
                )
            ).all()
    finally:
        await database.dispose()
    assert len(records) == KEYS and {k for k, _ in records} == set(load.keys)
    assert len(rows) == KEYS and {e for _, e in records} == set(rows)
    assert len(audits) == KEYS and {a.entity_id for a in audits} == set(rows)
    assert Counter(a.meta["idempotency_key"] for a in audits) == Counter(load.keys)
    first_ids = {key: httpx.Response(200, content=bodies[0]).json()["id"] for key, bodies in load.answers.items()}
    assert first_ids == {k: str(e) for k, e in records}
    assert await load.replay_all() == []


async def bot1_token(db_url: str) -> str:
    database = Database(db_url, pool_size=1)
    try:
        async with database.sessionmaker() as session:
            _, raw = await issue_token(session, "bot1", name="fault")
            await session.commit()
    finally:
        await database.dispose()
    return raw


async def served_load(db_url: str, tmp_path: Path) -> tuple[Served, Load]:
    """A started `crm serve` on `db_url` (migrated) and a keyed load for it, with a new bot1 token."""
    token = await bot1_token(db_url)
    (tmp_path / "data").mkdir()
    server = Served(db_url, tmp_path / "data", tmp_path / "serve.log")
    await asyncio.to_thread(server.start)
    return server, Load(server.base, token)


# --- (a) kill -9 of the API under load ---------------------------------------------------------------------------


async def test_kill_9_of_the_api_under_keyed_load_loses_and_duplicates_nothing(db_url: str, tmp_path: Path) -> None:
    server, load = await served_load(db_url, tmp_path)

    async def kill_and_restart() -> None:
        server.kill()  # SIGKILL: requests in flight are cut, some after their transaction committed
        await asyncio.to_thread(server.start)  # same port; ready when /healthz answers

    try:
        await under_fault(load, kill_and_restart)
        await assert_exactly_once(load, db_url)
    finally:
        server.stop()
    assert load.transport_errors > 0  # the kill really cut requests off


# --- (b) an immediate restart of Postgres under load -------------------------------------------------------------


def postgres_bin() -> Path | None:
    """The newest Postgres server binaries on this machine (Debian/Ubuntu layout, or on PATH)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


class OwnPostgres:
    """A throw-away Postgres cluster in a temporary folder on a free loopback port (trust auth, user `postgres`).
    As root, the server binaries run as the `postgres` user, who owns the folder."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="crm-fault-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def _command(self, tool: str, *args: str) -> list[str]:
        cmd = [str(self.bindir / tool), *args]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_root else cmd

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(self._command(tool, *args), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"{tool} failed: {done.stdout}{done.stderr}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "pg.log"), "-w", "start")

    def stop_immediately(self) -> None:
        """`-m immediate`: every backend is killed, no checkpoint; the next start runs crash recovery."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            stop = self._command("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
            subprocess.run(stop, capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("no Postgres server binaries (initdb, pg_ctl) on this machine")
    if os.geteuid() == 0 and not shutil.which("runuser"):
        pytest.skip("running as root without runuser: cannot start Postgres as the postgres user")
    pg = OwnPostgres(bindir)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.remove()


async def test_immediate_postgres_restart_under_keyed_load(own_postgres: OwnPostgres, tmp_path: Path) -> None:
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{own_postgres.port}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE crm_fault")
    db_url = own_postgres.url("crm_fault")
    await asyncio.to_thread(migrate.upgrade, db_url)
    server, load = await served_load(db_url, tmp_path)

    async def restart_postgres() -> None:
        await asyncio.to_thread(own_postgres.stop_immediately)
        # clients keep sending: wait until they have been told 503, then bring the database back
        await asyncio.wait_for(load.saw_503.wait(), timeout=LOAD_DEADLINE_S)
        await asyncio.to_thread(own_postgres.start)

    try:
        await under_fault(load, restart_postgres)
        await assert_exactly_once(load, db_url)
    finally:
        server.stop()
    assert load.statuses[503] > 0 and load.unavailable_without_retry_after == 0
    assert not [s for s in load.statuses if s >= 500 and s != 503], load.statuses
    assert "unhandled error" not in server.output()
