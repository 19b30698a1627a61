"""Ingestion benchmark (SPEC §13, issue 3): single admissions submissions/s at N concurrent clients and batch rows/s
against a running `crm serve`, each beside the database's physical floors measured in the same run (bench.floors),
and on Postgres beside the floor of the same work: pgbench issuing the very statement one submit issues.

    uv run python -m bench.ingest --db postgres --workers 2 --seconds 10
    uv run python -m bench.ingest --db sqlite --seconds 10

Postgres uses a dedicated database (`--pg-db`, dropped and recreated) on the server of `--pg-url`; SQLite a file in a
temporary folder. The load generator is a minimal keep-alive HTTP/1.1 client (httpx costs more CPU per request than
the server under test on a 2-core machine). Prints a table, then one JSON object (also written to `--json`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import psycopg
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.cpu import postgres_backends_cpu, process_tree_cpu
from bench.floors import measure_floors, pgbench_rate
from crm.context import in_session
from ingest.auth.service_tokens import issue_token
from ingest.catalog.seed import seed_catalog
from ingest.contracts.api import Admissions2026Submit
from ingest.core import migrate
from ingest.core.schema import CatalogItem
from ingest.core.settings import Settings
from ingest.submissions import bot1_pg, idempotency
from ingest.submissions.write import Submission

console = Console(stderr=True)


# --- a minimal HTTP/1.1 keep-alive client ------------------------------------------------------------------------


class RawClient:
    """One keep-alive connection; `post` returns (status, body). Enough for a server that answers with
    Content-Length, which uvicorn does for these endpoints."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.prefix = f"Host: {host}:{port}\r\nX-Service-Token: {token}\r\nContent-Type: application/json\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes, extra_headers: str = "", method: str = "POST") -> tuple[int, bytes]:
        if self.writer is None:
            await self._connect()
        assert self.reader is not None and self.writer is not None
        length = f"Content-Length: {len(body)}\r\n" if method == "POST" else ""
        head = f"{method} {path} HTTP/1.1\r\n{self.prefix}{extra_headers}{length}\r\n"
        self.writer.write(head.encode() + body)
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            self.writer = None
            raise
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next((int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0)
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# --- setup -------------------------------------------------------------------------------------------------------


def _cpu_meter(server_pid: int, pg_url: str | None) -> Any:
    """Call once before a phase; the returned function gives the (server, Postgres) CPU milliseconds per request."""
    database = make_url(pg_url).database if pg_url else None
    server0 = process_tree_cpu(server_pid)
    db0 = postgres_backends_cpu(database) if database else 0.0

    def per_request(requests: float) -> tuple[float, float | None]:
        server = (process_tree_cpu(server_pid) - server0) * 1000 / max(requests, 1)
        db = (postgres_backends_cpu(database) - db0) * 1000 / max(requests, 1) if database else None
        return round(server, 3), (round(db, 3) if db is not None else None)

    return per_request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_database(pg_url: str, name: str) -> str:
    admin = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(pg_url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)


async def prepare(url: str, clients: int) -> dict[str, Any]:
    """Seed the catalog and issue one bot1 token per client (the per-token limit, SPEC §11, is one bot's share, not
    the server's capacity: 16 clients on one token would measure 429s); returns the tokens and the codes used."""
    settings = Settings(database_url=url)

    async def work(session: Any) -> dict[str, Any]:
        await seed_catalog(session)
        tokens = [(await issue_token(session, "bot1", name=f"bench-{n}"))[1] for n in range(clients)]
        directions = list(await session.scalars(select(CatalogItem.code).where(CatalogItem.type == "direction")))
        tracks = list(await session.scalars(select(CatalogItem.code).where(CatalogItem.type == "track")))
        regions = list(await session.scalars(select(CatalogItem.code).where(CatalogItem.type == "region")))
        return {"tokens": tokens, "directions": directions, "tracks": tracks, "regions": regions}

    return await in_session(settings, work)


def start_server(url: str, data_dir: Path, port: int, workers: int, log_level: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CRM_DATABASE_URL": url,
        "CRM_DATA_DIR": str(data_dir),
        "CRM_ENV": "test",
        "CRM_SECRET_KEY": "bench-secret-key-bench-secret-key-bench-secret",
        "CRM_LOG_LEVEL": log_level,
    }
    args = [sys.executable, "-m", "crm", "serve", "--host", "127.0.0.1", "--port", str(port)]
    args += ["--workers", str(workers)]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("crm serve exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("crm serve did not become ready")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


# --- load --------------------------------------------------------------------------------------------------------


def admissions_payload(rng: random.Random, refs: dict[str, Any]) -> dict[str, Any]:
    return {
        "telegram_user_id": rng.randint(1, 50_000),
        "first_name": "Bench",
        "phone": f"+99890{rng.randint(1_000_000, 9_999_999)}",
        "region_code": rng.choice(refs["regions"]),
        "direction_code": rng.choice(refs["directions"]),
        "track_code": rng.choice(refs["tracks"]),
        "answers": {"gender": "female", "birth_date": "2007-05-01", "second_phone": "+998901112233"},
    }


async def run_singles(port: int, refs: dict[str, Any], clients: int, seconds: float, warmup: float) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    t0 = time.perf_counter()
    start, stop = t0 + warmup, t0 + warmup + seconds

    async def client(n: int) -> None:
        rng = random.Random(n)
        http = RawClient("127.0.0.1", port, refs["tokens"][n % len(refs["tokens"])])
        try:
            while (now := time.perf_counter()) < stop:
                body = json.dumps(admissions_payload(rng, refs)).encode()
                status, _ = await http.post(
                    "/api/v1/bot1/admissions-2026/submit", body, f"Idempotency-Key: {uuid.uuid4()}\r\n"
                )
                if now >= start:
                    statuses[status] += 1
                    latencies.append(time.perf_counter() - now)
        finally:
            await http.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    total = sum(statuses.values())
    latencies.sort()
    return {
        "requests": total,
        "per_s": total / seconds,
        "errors": total - statuses.get(201, 0),
        "statuses": dict(statuses),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2) if latencies else None,
        "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2) if latencies else None,
    }


async def run_batches(port: int, refs: dict[str, Any], batches: int, size: int, clients: int) -> dict[str, Any]:
    rng = random.Random(7)
    bodies = []
    for _ in range(batches):
        items = [
            {
                "kind": "bot1.admissions_2026",
                "idempotency_key": str(uuid.uuid4()),
                "payload": admissions_payload(rng, refs),
            }
            for _ in range(size)
        ]
        bodies.append(json.dumps({"items": items}).encode())
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    outcomes: Counter[str] = Counter()

    async def client(n: int) -> None:
        http = RawClient("127.0.0.1", port, refs["tokens"][n % len(refs["tokens"])])
        try:
            while not queue.empty():
                status, raw = await http.post("/api/v1/ingest/batch", queue.get_nowait())
                if status != 200:
                    outcomes[f"http_{status}"] += size
                    continue
                outcomes.update(r["status"] for r in json.loads(raw)["results"])
        finally:
            await http.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    rows = batches * size
    return {
        "rows": rows,
        "per_s": rows / elapsed,
        "seconds": round(elapsed, 2),
        "errors": rows - outcomes.get("created", 0),
        "outcomes": dict(outcomes),
    }


# --- the batch's own floor ---------------------------------------------------------------------------------------

# Each table a bot1 application writes, with the columns a copy must change so it does not collide with the original.
_SAME_ROWS = {
    "idempotency_record": {"id": "gen_random_uuid()", "key": "key || '#floor'"},
    "bot1_applicant": {"id": "gen_random_uuid()", "telegram_user_id": "telegram_user_id + 1000000000000"},
    "bot1_admissions_2026": {"id": "gen_random_uuid()"},
    "audit_log": {"id": "gen_random_uuid()"},
}


def same_rows_floor(url: str) -> dict[str, Any]:
    """Items/s at which Postgres itself writes again every row the run wrote (per item: an idempotency record, an
    applicant, an application and an audit row, with all their indexes, foreign keys and checks), set-based in one
    transaction: no HTTP, no JSON, no client at all. No batch path that keeps those four rows can beat it."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        items = conn.execute("SELECT count(*) FROM bot1_admissions_2026").fetchone()[0]  # type: ignore[index]
        started = time.perf_counter()
        for table, changed in _SAME_ROWS.items():
            columns = [
                row[0]
                for row in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                    "AND table_name = %s ORDER BY ordinal_position",
                    (table,),
                )
            ]
            values = ", ".join(changed.get(c, c) for c in columns)
            conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {table}")  # type: ignore[arg-type]
        conn.commit()
        elapsed = time.perf_counter() - started
    return {"items": items, "seconds": round(elapsed, 2), "per_s": items / elapsed}


# --- the single submit's own floor -------------------------------------------------------------------------------

# Stand-ins in one submit's input document for what must differ between calls (a fresh key, application id and
# lock; a random applicant, as in the load), replaced inside the statement from pgbench's bound variables.
_KEY, _TG = "@floor-key@", 987_654_321_012


def _submit_document(dsn: str, service: str) -> tuple[str, dict[str, str]]:
    """The JSON document one admissions submit sends (ingest.submissions.bot1_pg.input_row of a real, prepared
    Submission), and the SQL expression each of its stand-ins is replaced by."""
    with psycopg.connect(dsn) as conn:
        ids = {
            t: conn.execute("SELECT id FROM catalog_item WHERE type = %s ORDER BY code LIMIT 1", (t,)).fetchone()[0]  # type: ignore[index]
            for t in ("region", "direction", "track")
        }
    payload = admissions_payload(random.Random(1), {"regions": ["R"], "directions": ["D"], "tracks": ["T"]})
    body = msgspec.convert({**payload, "telegram_user_id": _TG}, Admissions2026Submit)
    sub = Submission(kind="bot1.admissions_2026", body=body, key=_KEY, context={"ip": "127.0.0.1", "user_agent": "b"})
    sub.refs, sub.request_hash = ids, idempotency.request_hash(sub.kind, body)
    row = bot1_pg.input_row(0, sub, service, datetime.now(UTC))
    stand_ins = {  # innermost first: the applicant's stand-in cannot be met inside a spliced-in random number
        str(_TG): ":tg::text",
        str(row["app_id"]): "gen_random_uuid()::text",
        _KEY: "'floor-' || :n::text",
        f'"lock":{row["lock"]}': "'\"lock\":' || :n::text",
    }
    return msgspec.json.encode([row]).decode(), stand_ins


def submit_statement_floor(url: str, clients: int, seconds: float) -> dict[str, Any]:
    """Submits/s at which Postgres itself runs the statement one single submit issues (ingest.submissions.bot1_pg,
    one item, key locked), from pgbench's `clients` prepared connections with the app pool's generic plans, on the
    run's own database (same schema, indexes and rows): no HTTP, no Python. Each call binds a fresh key and a random
    applicant (pgbench variables spliced into the same JSON document), so every call writes its four rows."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    document, stand_ins = _submit_document(dsn, "bot1")
    expression = ":doc::text"  # bound like the app's $1 (pgbench would read the `:` inside a JSON literal as variables)
    for stand_in, value in stand_ins.items():
        expression = f"replace({expression}, '{stand_in}', {value})"
    sql = bot1_pg.statement(frozenset({"admissions-2026"}), True)
    sql = sql.replace("$1", f"({expression})").replace("$2", "now()").replace("$3", "'bot1'")
    script = f"\\set n random(1, 9000000000000000000)\n\\set tg random(1, 50000)\n{sql.strip()};"
    generic_plans = "-c plan_cache_mode=force_generic_plan"  # as ingest.core.pg_pool configures its connections
    rate = pgbench_rate(
        dsn, script, clients, seconds, protocol="prepared", options=generic_plans, variables={"doc": document}
    )
    return {"clients": clients, "per_s": rate, "method": "pgbench -M prepared"}


# --- main --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pg-db", default="crm_bench_ingest")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--batch-clients", type=int, default=2)
    parser.add_argument("--floor-seconds", type=float, default=5)
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--json", type=Path, help="also write the JSON result to this file")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    url = (
        pg_database(args.pg_url, args.pg_db) if args.db == "postgres" else f"sqlite+aiosqlite:///{tmp / 'crm.sqlite3'}"
    )
    migrate.upgrade(url)
    refs = asyncio.run(prepare(url, max(args.clients, args.batch_clients)))
    port = free_port()
    proc = start_server(url, tmp / "data", port, args.workers, args.log_level)
    try:
        wait_ready(port, proc)
        console.print(f"[bold]crm serve[/] on {args.db}, {args.workers} worker(s); {args.clients} clients")
        cpu = _cpu_meter(proc.pid, url if args.db == "postgres" else None)
        singles = asyncio.run(run_singles(port, refs, args.clients, args.seconds, args.warmup))
        # CPU is read around the whole phase, warm-up included: requests are scaled to the same span (same rate).
        singles["cpu_ms_per_request"] = cpu(singles["requests"] * (args.seconds + args.warmup) / args.seconds)
        batches = asyncio.run(run_batches(port, refs, args.batches, args.batch_size, args.batch_clients))
    finally:
        stop_server(proc)
    statement = submit_statement_floor(url, args.clients, args.floor_seconds) if args.db == "postgres" else None
    same_rows = same_rows_floor(url) if args.db == "postgres" else None
    floor_url = url if args.db == "postgres" else f"sqlite:///{tmp / 'floor.sqlite3'}"
    floors = measure_floors(floor_url, clients=args.clients, seconds=args.floor_seconds)
    result = {
        "db": args.db,
        "workers": args.workers,
        "clients": args.clients,
        "single_submissions": singles,
        "batch": batches,
        "floors": floors.as_dict(),
        "single_vs_insert_floor": round(singles["per_s"] / floors.insert_rows_per_s, 3),
        "single_statement_floor": statement,
        "single_vs_statement_floor": round(singles["per_s"] / statement["per_s"], 3) if statement else None,
        "batch_vs_copy_floor": round(batches["per_s"] / floors.copy_rows_per_s, 3),
        "batch_same_rows_floor": same_rows,
    }
    table = Table(title=f"Ingestion on {args.db} ({args.workers} worker(s), {args.clients} clients)")
    for column in ("measure", "rate /s", "floor /s", "ratio", "errors"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    table.add_row(
        "single admissions submits",
        f"{singles['per_s']:,.0f}",
        f"{floors.insert_rows_per_s:,.0f} (single-row INSERT, {floors.insert_method})",
        f"{result['single_vs_insert_floor']:.3f}",
        str(singles["errors"]),
    )
    if statement:
        table.add_row(
            "  floor of one submit's statement",
            "",
            f"{statement['per_s']:,.0f} (the same statement, pgbench, {statement['clients']} clients)",
            f"{result['single_vs_statement_floor']:.3f}",
            "",
        )
    table.add_row(
        f"batch rows ({args.batch_size}/batch)",
        f"{batches['per_s']:,.0f}",
        f"{floors.copy_rows_per_s:,.0f} ({floors.copy_method})",
        f"{result['batch_vs_copy_floor']:.3f}",
        str(batches["errors"]),
    )
    if same_rows:
        table.add_row(
            "  floor of the batch's own rows",
            "",
            f"{same_rows['per_s']:,.0f} (Postgres re-writing the run's rows, set-based)",
            f"{batches['per_s'] / same_rows['per_s']:.3f}",
            "",
        )
    Console().print(table)
    server_ms, db_ms = singles["cpu_ms_per_request"]
    console.print(f"CPU per single submit: server {server_ms:.3f} ms" + (f", Postgres {db_ms:.3f} ms" if db_ms else ""))
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
