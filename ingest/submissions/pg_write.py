"""Postgres: bot1 application submits written in ONE statement per call, whatever the number of submissions.

Each round trip costs far more than the work on a busy server, so a call (one request, a gathered group of
concurrent requests, or a batch) is a single autocommitted statement: the rows travel as one JSON document, and
data-modifying CTEs chain the steps, each reading the previous one's RETURNING:

1. `lk`: a transaction-scoped advisory lock per key (singles only): a key already locked is in flight (409);
2. `claimed`: the idempotency records, inserted first with ON CONFLICT DO NOTHING, so a key that exists (or is
   being written by a concurrent batch, which is waited for) claims nothing and writes nothing else;
3. `merged` / `app`: one partial upsert per applicant (last non-blank value of each field among the claimed items);
4. one INSERT per application table, then the audit rows;
5. the final SELECT says, per item, whether it was written, and the stored answer of keys that were not.

Semantics are exactly those of `ingest.submissions.write` (the generic path, used for SQLite and the other kinds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from ingest.audit.rows import MAX_USER_AGENT, mask_free_form, mask_pii
from ingest.core import pg_pool
from ingest.submissions import bot1_sql as bot1_writes
from ingest.submissions import idempotency

_TEXT = ("username", "first_name", "last_name", "phone", "email", "language")

_INPUT_COLUMNS = {
    "ord": "int",
    "key": "text",
    "lock": "bigint",
    "hash": "text",
    "tg": "bigint",
    "chat": "bigint",
    **{name: "text" for name in _TEXT},
    "gender": "text",
    "birth": "date",
    "region": "uuid",
    "kind": "text",
    "tbl": "text",
    "app_id": "uuid",
    "status": "text",
    "answers": "jsonb",
    "submitted_at": "timestamptz",
    "direction": "uuid",
    "track": "uuid",
    "subject": "uuid",
    "pdate": "date",
    "body": "jsonb",
    "audit_after": "jsonb",
    "audit_meta": "jsonb",
    "ip": "text",
    "ua": "text",
    "rid": "text",
}

_KIND_INSERTS = {
    "admissions-2026": ("direction_id, track_id", "t.direction, t.track"),
    "campus-tour": ("preferred_date", "t.pdate"),
    "foundation": ("", ""),
    "polito-academy": ("subject_id", "t.subject"),
}


def _last(column: str, keep: str) -> str:
    return f"(array_agg({column} ORDER BY ord DESC) FILTER (WHERE {keep}))[1]"


@lru_cache(maxsize=32)
def statement(kinds: frozenset[str], lock_keys: bool) -> str:
    """The statement for a call holding these application kinds."""
    record = ", ".join(f"{name} {kind}" for name, kind in _INPUT_COLUMNS.items())
    lock = "(key IS NULL OR pg_try_advisory_xact_lock(lock))" if lock_keys else "true"
    merged = ",\n".join(
        [
            f"  {_last('chat', 'chat IS NOT NULL')} AS chat",
            *(f"  COALESCE({_last(n, f'{n} <> {chr(39)}{chr(39)}')}, '') AS {n}" for n in _TEXT),
            f"  COALESCE({_last('gender', chr(39) + 'unspecified' + chr(39) + ' <> gender')}, 'unspecified') AS gender",
            f"  {_last('birth', 'birth IS NOT NULL')} AS birth",
            f"  {_last('region', 'region IS NOT NULL')} AS region",
        ]
    )
    keep = ",\n".join(
        [
            *(f"  {n} = COALESCE(NULLIF(EXCLUDED.{n}, ''), bot1_applicant.{n})" for n in _TEXT),
            "  telegram_chat_id = COALESCE(EXCLUDED.telegram_chat_id, bot1_applicant.telegram_chat_id)",
            "  birth_date = COALESCE(EXCLUDED.birth_date, bot1_applicant.birth_date)",
            "  region_id = COALESCE(EXCLUDED.region_id, bot1_applicant.region_id)",
            "  gender = CASE WHEN EXCLUDED.gender = 'unspecified' THEN bot1_applicant.gender ELSE EXCLUDED.gender END",
            "  updated_at = EXCLUDED.updated_at",
        ]
    )
    inserts = []
    for kind in sorted(kinds):
        table = bot1_writes.APPLICATION_TABLES[kind].name
        columns, values = _KIND_INSERTS[kind]
        extra_c, extra_v = (f", {columns}", f", {values}") if columns else ("", "")
        inserts.append(
            f"ins_{table} AS (\n"
            f"  INSERT INTO {table}\n"
            f"    (id, created_at, updated_at, applicant_id, status, answers, submitted_at{extra_c})\n"
            f"  SELECT t.app_id, $2, $2, a.id, t.status, t.answers, t.submitted_at{extra_v}\n"
            f"  FROM todo t JOIN app a ON a.telegram_user_id = t.tg WHERE t.kind = '{kind}'\n)"
        )
    insert_ctes = ",\n".join(inserts)
    return f"""
WITH input AS MATERIALIZED (
  SELECT * FROM json_to_recordset($1::json) AS t({record})
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
  SELECT tg,
{merged}
  FROM todo GROUP BY tg
),
app AS (
  INSERT INTO bot1_applicant (id, created_at, updated_at, telegram_user_id, telegram_chat_id, {", ".join(_TEXT)},
                              gender, birth_date, region_id)
  SELECT gen_random_uuid(), $2, $2, tg, chat, {", ".join(_TEXT)}, gender, birth, region
  FROM merged ORDER BY tg
  ON CONFLICT (telegram_user_id) DO UPDATE SET
{keep}
  RETURNING id, telegram_user_id
),
{insert_ctes},
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


@dataclass
class Outcome:
    answer: dict[str, Any]
    entity_id: Any
    created: bool
    in_flight: bool
    stored_hash: str | None
    stored_body: dict[str, Any] | None
    stored_entity: Any


def _audit_after(kind: str, row: dict[str, Any], supplied: dict[str, Any]) -> dict[str, Any]:
    """What `mask_pii(bot1_writes.application_audit(...))` gives, built directly: only the parts that can hold
    personal data are walked; ids and timestamps stay native (the JSON encoder writes them as strings)."""
    after = {k: v for k, v in row.items() if k not in ("created_at", "updated_at", "applicant_id", "answers")}
    after["kind"] = kind
    after["answers"] = mask_free_form(row["answers"])
    after["applicant"] = mask_pii(supplied)
    return after


def _rows(subs: list[Any], service: str, now: datetime) -> tuple[list[dict[str, Any]], list[tuple[dict, Any]]]:
    """The input records of the call's submissions, and the (answer, id) each gets if written."""
    rows: list[dict[str, Any]] = []
    answers: list[tuple[dict, Any]] = []
    for ord_, sub in enumerate(subs):
        body, kind = sub.body, bot1_writes.APPLICATION_KINDS[sub.kind]
        supplied = bot1_writes.supplied_applicant_fields(body, sub.refs.get("region"))
        row = bot1_writes.application_row(sub.kind, body, sub.refs, None, now)  # the applicant id comes from SQL
        answer = msgspec.to_builtins(bot1_writes.application_created(sub.kind, row, body.telegram_user_id))
        answers.append((answer, row["id"]))
        context = sub.context
        rows.append(
            {
                "ord": ord_,
                "key": sub.key,
                "lock": idempotency.lock_id(service, sub.key) if sub.key else None,
                "hash": sub.request_hash,
                "tg": body.telegram_user_id,
                "chat": supplied.get("telegram_chat_id"),
                **{name: supplied.get(name, "") for name in _TEXT},
                "gender": supplied.get("gender", "unspecified"),
                "birth": supplied.get("birth_date"),
                "region": supplied.get("region_id"),
                "kind": kind,
                "tbl": str(bot1_writes.APPLICATION_TABLES[kind].name),
                "app_id": row["id"],
                "status": row["status"],
                "answers": row["answers"],
                "submitted_at": row["submitted_at"],
                "direction": row.get("direction_id"),
                "track": row.get("track_id"),
                "subject": row.get("subject_id"),
                "pdate": row.get("preferred_date"),
                "body": answer,
                "audit_after": _audit_after(kind, row, supplied),
                "audit_meta": {"kind": sub.kind, "idempotency_key": sub.key} if sub.key else {"kind": sub.kind},
                "ip": (context.get("ip") or "")[:45] or None,
                "ua": (context.get("user_agent") or "")[:MAX_USER_AGENT],
                "rid": (context.get("request_id") or "")[:64],
            }
        )
    return rows, answers


async def write_applications(
    engine: AsyncEngine, service: str, subs: list[Any], now: datetime, *, lock_keys: bool
) -> list[Outcome]:
    """Run the statement for `subs` (distinct keys, prepared, all bot1 application kinds) on a plain autocommit
    connection (ingest.core.pg_pool): the statement is its own transaction, so BEGIN and COMMIT cost no round trips."""
    rows, answers = _rows(subs, service, now)
    # One JSON document for all rows: msgspec encodes it in C and the server parses it in C (json_to_recordset),
    # far cheaper than adapting dozens of Python arrays element by element.
    params = (msgspec.json.encode(rows).decode(), now, service)
    sql = statement(frozenset(bot1_writes.APPLICATION_KINDS[s.kind] for s in subs), lock_keys)
    async with pg_pool.connection(engine) as conn:
        result = await (await conn.execute(sql, params)).fetchall()
    return [
        Outcome(
            answer=answer,
            entity_id=entity_id,
            created=bool(r.created) and bool(r.got),
            in_flight=not r.got,
            stored_hash=r.request_hash,
            stored_body=r.response_body,
            stored_entity=r.entity_id,
        )
        for r, (answer, entity_id) in zip(result, answers, strict=True)
    ]
