"""Writing bot submissions: any number of them (one request, a batch, or concurrent requests gathered together) in
one transaction, set-based, with their idempotency records and audit rows beside the data.

Each submission ends `created`, `replayed` or `error` with a problem. Validation problems (catalog references,
missing fields, reused keys) touch nothing and never stop the others. A database error that fails the whole
transaction makes the call fall back to one transaction per submission, so valid ones are still stored.

On Postgres the bot1 application submits (the hot path) go through `ingest.submissions.pg_write`: one statement
per call.
Everything else (SQLite, applicant upserts, surveys) runs here as a few set-based statements in one transaction.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ingest.audit.rows import audit_values
from ingest.catalog.refs import CatalogRefs, Ref
from ingest.contracts.api import (
    Admissions2026Submit,
    ApplicantUpsert,
    PolitoAcademySubmit,
    SurveySubmit,
)
from ingest.core.problems import ProblemError
from ingest.core.schema import AuditLog, utcnow
from ingest.submissions import bot1_sql as bot1_writes
from ingest.submissions import bot2_sql as bot2_writes
from ingest.submissions import idempotency
from ingest.submissions import pg_write as pg_submissions

log = logging.getLogger("crm.ingest")

MAX_ATTEMPTS = 4
MAX_NESTING = 32
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock: the transaction can simply run again
_audit_table = AuditLog.__table__
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


@dataclass(eq=False)
class Submission:
    """One submission in, its outcome out (`outcome`, `status`, `answer`, `entity_id` or `problem`)."""

    kind: str
    body: Any
    key: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    request_hash: str = ""
    refs: dict[str, uuid.UUID | None] = field(default_factory=dict)
    outcome: str = ""
    status: int = 0
    answer: dict[str, Any] | None = None
    entity_id: uuid.UUID | None = None
    problem: ProblemError | None = None

    @property
    def done(self) -> bool:
        return bool(self.outcome)

    def fail(self, problem: ProblemError) -> None:
        self.outcome, self.status, self.problem = "error", problem.status, problem

    def replay(self, answer: dict[str, Any], entity_id: Any) -> None:
        self.outcome, self.status, self.answer, self.entity_id = "replayed", 200, answer, entity_id


class _LostRace(Exception):
    """A concurrent transaction stored one of our keys first: run again, and replay its answer."""


# --- preparation (no database writes) ----------------------------------------------------------------------------


def _text_problem(value: Any, path: str) -> ProblemError | None:
    """The slow, exact check behind `_checked_hash`: names the field holding a NUL or a lone surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _BAD_TEXT.search(item):
                return ProblemError(
                    400,
                    "VALIDATION_ERROR",
                    f"{path} contains a NUL character or an unpaired surrogate (\\ud800-\\udfff).",
                    field=path,
                )
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            return True
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _checked_hash(sub: Submission) -> ProblemError | None:
    """Set the request hash; refuse (400) what neither database stores the same way: nesting deeper than
    MAX_NESTING, NUL characters and lone surrogates (from `\\ud800` escapes). The canonical encoding made for the
    hash reveals both text problems, so clean bodies (nearly all) cost no extra walk."""
    for name in ("answers", "consents"):
        if _too_deep(getattr(sub.body, name, None)):
            detail = f"$.{name} is nested more than {MAX_NESTING} levels deep."
            return ProblemError(400, "VALIDATION_ERROR", detail, field=f"$.{name}")
    try:
        encoded = msgspec.json.encode(sub.body, order="sorted")
    except UnicodeEncodeError:
        encoded = b"\\u0000"  # fall through to the exact check
    if b"\\u0000" in encoded:
        for name in sub.body.__struct_fields__:
            if problem := _text_problem(getattr(sub.body, name), f"$.{name}"):
                return problem
    sub.request_hash = idempotency.hash_encoded(sub.kind, encoded)
    return None


def _refs_of(body: Any) -> list[Ref]:
    refs = [Ref("region", ("region",), body.region_id, body.region_code)]
    if isinstance(body, Admissions2026Submit):
        refs += [
            Ref("direction", ("direction",), body.direction_id, body.direction_code),
            Ref("track", ("track",), body.track_id, body.track_code),
        ]
    elif isinstance(body, PolitoAcademySubmit):
        refs.append(Ref("subject", ("subject",), body.subject_id, body.subject_code))
    elif isinstance(body, SurveySubmit):
        refs.append(Ref("program", ("program", "direction"), body.program_id, body.program_code))
    return refs


async def prepare(subs: list[Submission], catalog: CatalogRefs) -> None:
    """Check and hash each request, and resolve its catalog references (one cache lookup for all)."""
    pending: list[tuple[Submission, list[Ref]]] = []
    for sub in subs:
        if (problem := _checked_hash(sub)) is not None:
            sub.fail(problem)
        else:
            pending.append((sub, _refs_of(sub.body)))
    flat = [ref for _, refs in pending for ref in refs]
    resolved = iter(await catalog.resolve_all(flat) if flat else [])
    for sub, refs in pending:
        for ref in refs:
            value = next(resolved)
            if isinstance(value, ProblemError):
                if not sub.done:
                    sub.fail(value)
            else:
                sub.refs[ref.base] = value
        if not sub.done and isinstance(sub.body, Admissions2026Submit) and sub.refs.get("direction") is None:
            sub.fail(
                ProblemError(
                    400,
                    "VALIDATION_ERROR",
                    "direction_id or direction_code is required.",
                    field="$.direction_id",
                )
            )


# --- one transaction ---------------------------------------------------------------------------------------------


@dataclass
class _Result:
    outcome: str
    status: int
    answer: dict[str, Any] | None = None
    entity_id: Any = None
    problem: ProblemError | None = None


async def _claim(
    conn: AsyncConnection, service: str, subs: list[Submission], lock_keys: bool, results: dict[int, _Result]
) -> list[Submission]:
    """Settle keyed submissions that are in flight elsewhere or already answered; the rest are to be written."""
    keyed = [s for s in subs if s.key]
    free = await idempotency.try_lock_keys(conn, service, [s.key for s in keyed]) if lock_keys else None
    stored = await idempotency.stored_answers(conn, service, [s.key for s in keyed])
    todo, owners = [], {}
    for sub in subs:
        if not sub.key:
            todo.append(sub)
        elif free is not None and sub.key not in free:
            results[id(sub)] = _Result("error", 409, problem=idempotency.in_flight_problem())
        elif (prior := stored.get(sub.key)) is not None:
            if prior.request_hash == sub.request_hash:
                results[id(sub)] = _Result("replayed", 200, prior.body, prior.entity_id)
            else:
                results[id(sub)] = _Result("error", 422, problem=idempotency.reused_problem())
        elif sub.key in owners:
            continue  # a repeated key inside this call: settled from its first occurrence below
        else:
            owners[sub.key] = sub
            todo.append(sub)
    return todo


def _audit(service: str, sub: Submission, action: str, table: str, entity_id: Any, after: dict[str, Any]) -> dict:
    return audit_values(
        actor_type="service",
        actor_service=service,
        action=action,
        entity_table=table,
        entity_id=entity_id,
        after=after,
        meta={"kind": sub.kind, "idempotency_key": sub.key} if sub.key else {"kind": sub.kind},
        **sub.context,
    )


async def _write_bot1(
    conn: AsyncConnection, service: str, subs: list[Submission], results: dict[int, _Result], audits: list[dict]
) -> None:
    now = utcnow()
    supplied = {id(s): bot1_writes.supplied_applicant_fields(s.body, s.refs.get("region")) for s in subs}
    stored = await bot1_writes.upsert_applicants(conn, bot1_writes.merge_applicants(list(supplied.values()), now))
    rows_by_kind: dict[str, list[dict[str, Any]]] = {}
    for sub in subs:
        applicant = stored[sub.body.telegram_user_id]
        if sub.kind == "bot1.applicant":
            created = applicant.created_at == now
            answer = msgspec.to_builtins(bot1_writes.applicant_out(applicant))
            results[id(sub)] = _Result("created", 201 if created else 200, answer, applicant.id)
            audits.append(
                _audit(
                    service, sub, "create" if created else "update", "bot1_applicant", applicant.id, supplied[id(sub)]
                )
            )
            continue
        row = bot1_writes.application_row(sub.kind, sub.body, sub.refs, applicant.id, now)
        rows_by_kind.setdefault(sub.kind, []).append(row)
        answer = msgspec.to_builtins(bot1_writes.application_created(sub.kind, row, sub.body.telegram_user_id))
        results[id(sub)] = _Result("created", 201, answer, row["id"])
        table = bot1_writes.APPLICATION_TABLES[bot1_writes.APPLICATION_KINDS[sub.kind]].name
        audits.append(
            _audit(
                service,
                sub,
                "create",
                table,
                row["id"],
                bot1_writes.application_audit(sub.kind, row, supplied[id(sub)]),
            )
        )
    await bot1_writes.insert_applications(conn, rows_by_kind)


async def _write_surveys(
    conn: AsyncConnection, service: str, subs: list[Submission], results: dict[int, _Result], audits: list[dict]
) -> None:
    for sub in subs:
        try:
            async with conn.begin_nested():
                answer, after = await bot2_writes.write_survey(conn, sub.body, sub.refs, utcnow())
        except ProblemError as problem:
            results[id(sub)] = _Result("error", problem.status, problem=problem)
            continue
        except IntegrityError:
            conflict = ProblemError(
                409, "CONFLICT", "A concurrent submission changed this student; retry.", field="$.student_external_id"
            )
            results[id(sub)] = _Result("error", 409, problem=conflict)
            continue
        results[id(sub)] = _Result("created", 201, msgspec.to_builtins(answer), answer.response_id)
        audits.append(_audit(service, sub, "create", bot2_writes.responses.name, answer.response_id, after))


def _entity_table(sub: Submission) -> str:
    if sub.kind == "bot1.applicant":
        return "bot1_applicant"
    if sub.kind == "bot2.survey":
        return bot2_writes.responses.name
    return bot1_writes.APPLICATION_TABLES[bot1_writes.APPLICATION_KINDS[sub.kind]].name


async def _write_once(
    conn: AsyncConnection, service: str, subs: list[Submission], lock_keys: bool
) -> dict[int, _Result]:
    results: dict[int, _Result] = {}
    todo = await _claim(conn, service, subs, lock_keys, results)
    audits: list[dict[str, Any]] = []
    bot1 = [s for s in todo if isinstance(s.body, ApplicantUpsert)]
    if bot1:
        await _write_bot1(conn, service, bot1, results, audits)
    surveys = [s for s in todo if isinstance(s.body, SurveySubmit)]
    if surveys:
        await _write_surveys(conn, service, surveys, results, audits)
    if audits:
        await conn.execute(insert(_audit_table), audits)
    records = [
        idempotency.record_row(
            service=service,
            key=s.key,
            request_hash=s.request_hash,
            status=results[id(s)].status,
            body=results[id(s)].answer or {},
            entity_table=_entity_table(s),
            entity_id=results[id(s)].entity_id,
        )
        for s in todo
        if s.key and results[id(s)].outcome == "created"
    ]
    if await idempotency.insert_records(conn, records) < len(records):
        raise _LostRace
    return results


def _settle_repeats(subs: list[Submission]) -> None:
    """Later occurrences of a key within one call get the first occurrence's answer (or a reuse error)."""
    first: dict[str, Submission] = {}
    for sub in subs:
        if not sub.key:
            continue
        owner = first.setdefault(sub.key, sub)
        if owner is sub or sub.done:
            continue
        if owner.request_hash != sub.request_hash:
            sub.fail(idempotency.reused_problem())
        elif owner.outcome == "error" and owner.problem is not None:
            sub.fail(owner.problem)
        else:
            sub.replay(owner.answer or {}, owner.entity_id)


def _retryable(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _RETRY_SQLSTATES


def _database_problem(exc: DBAPIError) -> ProblemError:
    if isinstance(exc, IntegrityError):
        return ProblemError(409, "CONFLICT", "The submission conflicts with existing data (a catalog item removed?).")
    if isinstance(exc, OperationalError):
        return ProblemError(
            503, "DATABASE_UNAVAILABLE", "The database is unavailable; retry later.", headers={"Retry-After": "5"}
        )
    return ProblemError(400, "VALIDATION_ERROR", "The database refused a value of this submission.")


async def write(
    engine: AsyncEngine, catalog: CatalogRefs, service: str, subs: list[Submission], *, lock_keys: bool
) -> None:
    """Store the submissions of one bot; every one ends with an outcome. `lock_keys`: a key being processed by
    another transaction answers 409 at once (single requests) instead of waiting for it (batches)."""
    await prepare(subs, catalog)
    if engine.dialect.name == "postgresql":
        fast = [s for s in subs if not s.done and s.kind in bot1_writes.APPLICATION_KINDS]
        await _write_fast(engine, catalog, service, _first_per_key(fast), lock_keys=lock_keys)
        subs_left = [s for s in subs if s.kind not in bot1_writes.APPLICATION_KINDS]
    else:
        subs_left = subs
    await _write_prepared(engine, catalog, service, subs_left, lock_keys=lock_keys)
    _settle_repeats(subs)


def _first_per_key(subs: list[Submission]) -> list[Submission]:
    seen: set[str] = set()
    firsts = []
    for sub in subs:
        if sub.key is None or sub.key not in seen:
            firsts.append(sub)
            if sub.key is not None:
                seen.add(sub.key)
    return firsts


async def _write_fast(
    engine: AsyncEngine, catalog: CatalogRefs, service: str, subs: list[Submission], *, lock_keys: bool
) -> None:
    """Postgres, bot1 application submits: one statement per call (ingest.submissions.pg_write)."""
    pending = subs
    attempt = 0
    while pending and attempt < MAX_ATTEMPTS:
        attempt += 1
        try:
            outcomes = await pg_submissions.write_applications(engine, service, pending, utcnow(), lock_keys=lock_keys)
        except DBAPIError as exc:
            if _retryable(exc):
                continue
            if isinstance(exc, IntegrityError):
                catalog.invalidate()
            if len(pending) > 1:
                log.info("call fell back to one statement per submission", extra={"error": type(exc.orig).__name__})
                for sub in pending:
                    await _write_fast(engine, catalog, service, [sub], lock_keys=lock_keys)
                return
            pending[0].fail(_database_problem(exc))
            return
        lost = []
        for sub, out in zip(pending, outcomes, strict=True):
            if out.created:
                sub.outcome, sub.status, sub.answer, sub.entity_id = "created", 201, out.answer, out.entity_id
            elif out.in_flight:
                sub.fail(idempotency.in_flight_problem())
            elif out.stored_hash is None:
                lost.append(sub)  # stored by a transaction that committed after this statement began: look again
            elif out.stored_hash == sub.request_hash:
                sub.replay(out.stored_body or {}, out.stored_entity)
            else:
                sub.fail(idempotency.reused_problem())
        pending = lost
    for sub in pending:
        sub.fail(idempotency.in_flight_problem())


async def _write_prepared(
    engine: AsyncEngine, catalog: CatalogRefs, service: str, subs: list[Submission], *, lock_keys: bool
) -> None:
    pending = [s for s in subs if not s.done]
    if not pending:
        return
    for attempt in range(MAX_ATTEMPTS):
        try:
            async with engine.begin() as conn:
                results = await _write_once(conn, service, pending, lock_keys)
        except _LostRace:
            continue
        except DBAPIError as exc:
            if _retryable(exc) and attempt + 1 < MAX_ATTEMPTS:
                continue
            if isinstance(exc, IntegrityError):
                catalog.invalidate()
            if len(pending) > 1:
                log.info("batch fell back to one transaction per submission", extra={"error": type(exc.orig).__name__})
                for sub in pending:
                    await _write_prepared(engine, catalog, service, [sub], lock_keys=lock_keys)
                return
            pending[0].fail(_database_problem(exc))
            return
        for sub in pending:
            result = results.get(id(sub))
            if result is not None:
                sub.outcome, sub.status, sub.answer = result.outcome, result.status, result.answer
                sub.entity_id, sub.problem = result.entity_id, result.problem
        return
    for sub in pending:
        sub.fail(idempotency.in_flight_problem())
