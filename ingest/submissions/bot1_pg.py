"""Postgres: bot1 application submits written in ONE statement per call, whatever the number of submissions.

Each round trip costs far more than the work on a busy server, so a call (one request, a gathered group of
concurrent requests, or a batch) is a single autocommitted statement: the rows travel as one JSON document, and
data-modifying CTEs chain the steps, each reading the previous one's RETURNING:

1. `lk`: a transaction-scoped advisory lock per key (singles only): a key already locked is in flight (409);
2. `claimed`: the idempotency records, inserted first with ON CONFLICT DO NOTHING, so a key that exists (or is
   being written by a concurrent batch, which is waited for) claims nothing and writes nothing else;
3. `merged` / `app`: one partial upsert per applicant (last supplied value of each column among the claimed items);
4. one INSERT per application table, then the audit rows;
5. the final SELECT says, per item, whether it was written, and the stored answer of keys that were not.

Nothing here is typed twice: the rows, answers and audit `after` come from `bot1_write`, the upsert's assignments
are `bot1_write.upsert_set` compiled for Postgres, and the input record's columns are the tables' own.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import msgspec
from sqlalchemy import Column, literal
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from ingest.contracts.kinds import APPLICATION_KINDS, BY_BATCH_KIND
from ingest.core import pg_pool
from ingest.core.schema import utcnow
from ingest.submissions import bot1_write, idempotency

_PG = postgresql.dialect()
_APPLICANT = ("telegram_user_id", *bot1_write.UPSERTED)
# Application columns as the input record names them (`app_id`: `id` would be ambiguous beside the applicant's).
_APPLICATION = {"app_id": "id", "status": "status", "answers": "answers", "submitted_at": "submitted_at"}
_KIND_COLUMNS = tuple(dict.fromkeys(c for k in APPLICATION_KINDS for c in k.columns))
_CONTROL = {
    "ord": "int",
    "key": "text",
    "lock": "bigint",
    "hash": "text",
    "tbl": "text",
    "body": "jsonb",
    "audit_after": "jsonb",
    "audit_meta": "jsonb",
    "ip": "text",
    "ua": "text",
    "rid": "text",
}


def _sql(clause: Any) -> str:
    return str(clause.compile(dialect=_PG, compile_kwargs={"literal_binds": True}))


def _type(column: Column[Any]) -> str:
    return str(column.type.compile(dialect=_PG))


def _record() -> str:
    """The input record: control columns, then the applicant's and the applications' columns with their types."""
    table = bot1_write.APPLICATION_TABLES[APPLICATION_KINDS[0].slug]
    kind_types = {c.name: _type(c) for t in bot1_write.APPLICATION_TABLES.values() for c in t.c}
    columns = {
        **_CONTROL,
        **{name: _type(bot1_write.applicants.c[name]) for name in _APPLICANT},
        **{name: _type(table.c[column]) for name, column in _APPLICATION.items()},
        **{name: kind_types[name] for name in _KIND_COLUMNS},
    }
    return ", ".join(f"{name} {type_}" for name, type_ in columns.items())


def _merged(name: str, absent: Any) -> str:
    """The call's last supplied value of an applicant column (its default when none was)."""
    supplied = f"{name} IS NOT NULL" if absent is None else f"{name} <> {_sql(literal(absent))}"
    last = f"(array_agg({name} ORDER BY ord DESC) FILTER (WHERE {supplied}))[1]"
    return f"  {last} AS {name}" if absent is None else f"  COALESCE({last}, {_sql(literal(absent))}) AS {name}"


def _insert_cte(table: str, columns: tuple[str, ...]) -> str:
    extra_c = "".join(f", {c}" for c in columns)
    extra_v = "".join(f", t.{c}" for c in columns)
    return (
        f"ins_{table} AS (\n"
        f"  INSERT INTO {table}\n"
        f"    (id, created_at, updated_at, applicant_id, status, answers, submitted_at{extra_c})\n"
        f"  SELECT t.app_id, $2, $2, a.id, t.status, t.answers, t.submitted_at{extra_v}\n"
        f"  FROM todo t JOIN app a ON a.telegram_user_id = t.telegram_user_id WHERE t.tbl = '{table}'\n)"
    )


@lru_cache(maxsize=32)
def statement(kinds: frozenset[str], lock_keys: bool) -> str:
    """The statement for a call holding these application kinds (slugs)."""
    lock = "(key IS NULL OR pg_try_advisory_xact_lock(lock))" if lock_keys else "true"
    merged = ",\n".join(_merged(name, absent) for name, absent in bot1_write.UPSERTED.items())
    upserted = ", ".join(bot1_write.UPSERTED)
    stmt = postgresql.insert(bot1_write.applicants)
    keep = ",\n".join(f"  {name} = {_sql(value)}" for name, value in bot1_write.upsert_set(stmt.excluded).items())
    inserts = ",\n".join(_insert_cte(k.table, k.columns) for k in APPLICATION_KINDS if k.slug in kinds)
    return f"""
WITH input AS MATERIALIZED (
  SELECT * FROM json_to_recordset($1::json) AS t({_record()})
),
lk AS MATERIALIZED (SELECT ord, {lock} AS got FROM input),
claimed AS (
  INSERT INTO idempotency_record (id, created_at, updated_at, service, key, request_hash, state, response_status,
                                  response_body, entity_table, entity_id)
  SELECT gen_random_uuid(), $2, $2, $3, i.key, i.hash, 'done', 201, i.body, i.tbl, i.app_id
  FROM input i JOIN lk USING (ord) WHERE lk.got AND i.key IS NOT NULL
  ON CONFLICT (service, key) DO NOTHING
  RETURNING key
),
todo AS MATERIALIZED (
  SELECT i.* FROM input i JOIN lk USING (ord)
  WHERE lk.got AND (i.key IS NULL OR i.key IN (SELECT key FROM claimed))
),
merged AS (
  SELECT telegram_user_id,
{merged}
  FROM todo GROUP BY telegram_user_id
),
app AS (
  INSERT INTO bot1_applicant (id, created_at, updated_at, telegram_user_id, {upserted})
  SELECT gen_random_uuid(), $2, $2, telegram_user_id, {upserted}
  FROM merged ORDER BY telegram_user_id
  ON CONFLICT (telegram_user_id) DO UPDATE SET
{keep}
  RETURNING id, telegram_user_id
),
{inserts},
aud AS (
  INSERT INTO audit_log (id, created_at, updated_at, actor_type, actor_service, action, entity_table, entity_id,
                         before_data, after_data, meta, ip, user_agent, request_id)
  SELECT gen_random_uuid(), $2, $2, 'service', $3, 'create', t.tbl, t.app_id,
         '{{}}'::jsonb, t.audit_after, t.audit_meta, t.ip, t.ua, t.rid
  FROM todo t
)
SELECT i.ord, lk.got, (i.key IS NULL OR i.key IN (SELECT key FROM claimed)) AS created,
       r.request_hash, r.response_body, r.entity_id
FROM input i JOIN lk USING (ord)
LEFT JOIN LATERAL (  -- one index probe per key; LIMIT keeps the planner from flattening this into a hash join
  SELECT request_hash, response_body, entity_id FROM idempotency_record  -- over every key the service ever sent
  WHERE service = $3 AND key = i.key LIMIT 1
) r ON true
ORDER BY i.ord
"""


def input_row(ord_: int, sub: Any, service: str, now: Any) -> dict[str, Any]:
    """One submission as a record of the statement's input; its answer and id are set on `sub` if it is written."""
    supplied = bot1_write.supplied_applicant_fields(sub.body, sub.refs.get("region"))
    row, answer, after = bot1_write.application(sub.kind, sub.body, sub.refs, supplied, None, now)  # applicant: SQL
    audit = sub.audit(service, "create", row["id"], None)
    return {
        "ord": ord_,
        "key": sub.key,
        "lock": idempotency.lock_id(service, sub.key) if sub.key else None,
        "hash": sub.request_hash,
        "tbl": audit["entity_table"],
        **{name: supplied.get(name, absent) for name, absent in bot1_write.UPSERTED.items()},
        "telegram_user_id": sub.body.telegram_user_id,
        **{name: row.get(column) for name, column in _APPLICATION.items()},
        **{name: row.get(name) for name in _KIND_COLUMNS},
        "body": answer,
        "audit_after": after,
        "audit_meta": audit["meta"],
        "ip": audit["ip"],
        "ua": audit["user_agent"],
        "rid": audit["request_id"],
    }


async def write_applications(engine: AsyncEngine, service: str, subs: list[Any], *, lock_keys: bool) -> list[Any]:
    """Run the statement for `subs` (distinct keys, prepared, all bot1 application kinds) on a plain autocommit
    connection (ingest.core.pg_pool: the statement is its own transaction, so BEGIN and COMMIT cost no round trips)
    and settle each submission; returns those to write again (stored by a transaction that committed after this
    statement began)."""
    now = utcnow()
    rows = [input_row(i, sub, service, now) for i, sub in enumerate(subs)]
    # One JSON document for all rows: msgspec encodes it in C and the server parses it in C (json_to_recordset),
    # far cheaper than adapting dozens of Python arrays element by element.
    params = (msgspec.json.encode(rows).decode(), now, service)
    sql = statement(frozenset(BY_BATCH_KIND[s.kind].slug for s in subs), lock_keys)
    async with pg_pool.connection(engine) as conn:
        result = await (await conn.execute(sql, params)).fetchall()
    lost = []
    for sub, row, r in zip(subs, rows, result, strict=True):
        if not r.got:
            sub.fail(idempotency.in_flight_problem())
        elif r.created:
            sub.create(201, row["body"], row["app_id"])
        elif r.request_hash is None:
            lost.append(sub)
        else:
            sub.settle_stored(r.request_hash, r.response_body, r.entity_id)
    return lost
