"""Writing bot submissions: any number of them (one request, a batch, or concurrent requests gathered together) in
one transaction, set-based, with their idempotency records and audit rows beside the data.

Each submission ends `created`, `replayed` or `error` with a problem. Validation problems (catalog references,
missing fields, reused keys) touch nothing and never stop the others. A database error that fails the whole
write makes the call fall back to one write per submission, so valid ones are still stored.

On Postgres the bot1 application submits (the hot path) go through `ingest.submissions.bot1_pg`: one statement
per call. Everything else (SQLite, applicant upserts, surveys) runs here as a few set-based statements in one
transaction. Both run under the same retry loop and settle the same `Submission`s.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import msgspec
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ingest.audit.rows import audit_values
from ingest.catalog.refs import CatalogRefs, Ref, retired_problem
from ingest.contracts.fields import (
    SUBMITTED_AT_MAX_AGE,
    SUBMITTED_AT_SKEW,
    normalise_student_id,
    submitted_at_in_bounds,
)
from ingest.contracts.kinds import APPLICANT, BATCH_KINDS, BY_BATCH_KIND, SURVEY, ref_type
from ingest.core.problems import ProblemError
from ingest.core.schema import AuditLog, utcnow
from ingest.submissions import bot1_write, bot2_write, idempotency

log = logging.getLogger("crm.ingest")

MAX_ATTEMPTS = 4
MAX_NESTING = 32
_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock: the transaction can simply run again
_audit_table = AuditLog.__table__
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")


@dataclass(eq=False)
class Submission:
    """One submission in, its outcome out (`outcome`, `status`, `answer`, `entity_id` or `problem`): the one result
    of every write path. A write that rolls back clears what it settled."""

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
    # Refuses a new write but not the replay of a stored key: a time out of bounds, an item no longer offered.
    new_only: ProblemError | None = None

    @property
    def done(self) -> bool:
        return bool(self.outcome)

    def create(self, status: int, answer: dict[str, Any], entity_id: Any) -> None:
        self.outcome, self.status, self.answer, self.entity_id = "created", status, answer, entity_id

    def replay(self, answer: dict[str, Any], entity_id: Any) -> None:
        self.outcome, self.status, self.answer, self.entity_id = "replayed", 200, answer, entity_id

    def fail(self, problem: ProblemError) -> None:
        self.outcome, self.status, self.problem = "error", problem.status, problem

    def clear(self) -> None:
        self.outcome, self.status, self.answer, self.entity_id, self.problem = "", 0, None, None, None

    def settle_stored(self, request_hash: str, answer: dict[str, Any], entity_id: Any) -> None:
        """Its key was answered before: replay that answer, or 422 when the key came with another request."""
        if request_hash == self.request_hash:
            self.replay(answer or {}, entity_id)
        else:
            self.fail(idempotency.reused_problem())

    def audit(self, service: str, action: str, entity_id: Any, after: dict[str, Any] | None) -> dict[str, Any]:
        """Its audit row (masked by `audit_values`)."""
        return audit_values(
            actor_type="service",
            actor_service=service,
            action=action,
            entity_table=BATCH_KINDS[self.kind].table,
            entity_id=entity_id,
            after=after,
            meta={"kind": self.kind, "idempotency_key": self.key} if self.key else {"kind": self.kind},
            **self.context,
        )


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
    body = sub.body
    if getattr(body, "submitted_at", None) is not None:  # when it was made is not what it is: a retry may differ
        body = msgspec.structs.replace(body, submitted_at=None)
    try:
        encoded = msgspec.json.encode(body, order="sorted")
    except UnicodeEncodeError:
        encoded = b"\\u0000"  # fall through to the exact check
    if b"\\u0000" in encoded:
        for name in sub.body.__struct_fields__:
            if problem := _text_problem(getattr(sub.body, name), f"$.{name}"):
                return problem
    sub.request_hash = idempotency.hash_encoded(sub.kind, encoded)
    return None


def _refs_of(sub: Submission) -> list[Ref]:
    body = sub.body
    refs = [Ref("region", ("region",), body.region_id, body.region_code)]
    if (kind := BY_BATCH_KIND.get(sub.kind)) is not None:
        refs += [Ref(r, (ref_type(r),), getattr(body, f"{r}_id"), getattr(body, f"{r}_code")) for r in kind.refs]
    elif sub.kind == SURVEY:
        refs.append(Ref("program", ("program", "direction"), body.program_id, body.program_code))
    return refs


def _chosen(sub: Submission, ref: Ref) -> bool:
    """Whether the reference is a choice made for this submission, which an inactive item cannot be. An
    application's `region` is the applicant's profile, chosen at registration: a region retired since then never
    blocks the person's applications (its `application_region` is chosen for it, like a direction)."""
    return not (ref.base == "region" and sub.kind in BY_BATCH_KIND)


def _missing_problem(sub: Submission) -> ProblemError | None:
    kind = BY_BATCH_KIND.get(sub.kind)
    missing = next((r for r in kind.required if sub.refs.get(r) is None), None) if kind else None
    if missing is None:
        return None
    return ProblemError(
        400, "VALIDATION_ERROR", f"{missing}_id or {missing}_code is required.", field=f"$.{missing}_id"
    )


def _student_id_problem(sub: Submission) -> ProblemError | None:
    """A survey's student id must follow the one rule the bots apply (`contracts.fields.normalise_student_id`)."""
    if sub.kind != SURVEY or normalise_student_id(sub.body.student_external_id) is not None:
        return None
    return ProblemError(
        400,
        "VALIDATION_ERROR",
        "$.student_external_id is not a student id: letters and digits, parts joined by - / or . (SE54321, S1-000001).",
        field="$.student_external_id",
    )


def _time_problem(sub: Submission, now: Any) -> ProblemError | None:
    """A bot's `submitted_at` (the moment the person confirmed) out of bounds (docs/submission-time.md)."""
    value = getattr(sub.body, "submitted_at", None)
    if value is None or submitted_at_in_bounds(value, now):
        return None
    return ProblemError(
        400,
        "VALIDATION_ERROR",
        f"$.submitted_at must lie between {SUBMITTED_AT_MAX_AGE.days} days ago and "
        f"{int(SUBMITTED_AT_SKEW.total_seconds() // 60)} minutes from now.",
        field="$.submitted_at",
    )


async def prepare(subs: list[Submission], catalog: CatalogRefs) -> None:
    """Check and hash each request, and resolve its catalog references (one cache lookup for all)."""
    pending: list[tuple[Submission, list[Ref]]] = []
    now = utcnow()
    for sub in subs:
        if (problem := _checked_hash(sub) or _student_id_problem(sub)) is not None:
            sub.fail(problem)
        else:
            sub.new_only = _time_problem(sub, now)
            pending.append((sub, _refs_of(sub)))
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
                if value is not None and sub.new_only is None and _chosen(sub, ref) and catalog.retired(value):
                    sub.new_only = retired_problem(ref)
        if not sub.done and (problem := _missing_problem(sub)) is not None:
            sub.fail(problem)


async def _refuse_new(engine: AsyncEngine, service: str, subs: list[Submission]) -> None:
    """Settle the submissions a new write would refuse (`new_only`): a stored key is replayed, the rest fail."""
    refused = [s for s in subs if s.new_only is not None and not s.done]
    if not refused:
        return
    async with engine.connect() as conn:
        stored = await idempotency.stored_answers(conn, service, [s.key for s in refused if s.key])
    for sub in refused:
        if sub.key and (prior := stored.get(sub.key)) is not None:
            sub.settle_stored(prior.request_hash, prior.body, prior.entity_id)
        else:
            sub.fail(sub.new_only)  # type: ignore[arg-type]


# --- one transaction (any dialect) -------------------------------------------------------------------------------


async def _claim(conn: AsyncConnection, service: str, subs: list[Submission], lock_keys: bool) -> list[Submission]:
    """Settle keyed submissions that are in flight elsewhere or already answered; the rest are to be written."""
    keys = [s.key for s in subs if s.key]
    free = await idempotency.try_lock_keys(conn, service, keys) if lock_keys else None
    stored = await idempotency.stored_answers(conn, service, keys)
    todo = []
    for sub in subs:
        if sub.key and free is not None and sub.key not in free:
            sub.fail(idempotency.in_flight_problem())
        elif sub.key and (prior := stored.get(sub.key)) is not None:
            sub.settle_stored(prior.request_hash, prior.body, prior.entity_id)
        else:
            todo.append(sub)
    return todo


async def _write_bot1(conn: AsyncConnection, service: str, subs: list[Submission], audits: list[dict]) -> None:
    now = utcnow()
    supplied = {id(s): bot1_write.supplied_applicant_fields(s.body, s.refs.get("region")) for s in subs}
    stored = await bot1_write.upsert_applicants(conn, bot1_write.merge_applicants(list(supplied.values()), now))
    rows_by_kind: dict[str, list[dict[str, Any]]] = {}
    for sub in subs:
        applicant = stored[sub.body.telegram_user_id]
        if sub.kind == APPLICANT:
            created = applicant.created_at == now
            sub.create(201 if created else 200, msgspec.to_builtins(bot1_write.applicant_out(applicant)), applicant.id)
            audits.append(sub.audit(service, "create" if created else "update", applicant.id, supplied[id(sub)]))
            continue
        row, answer, after = bot1_write.application(sub.kind, sub.body, sub.refs, supplied[id(sub)], applicant.id, now)
        rows_by_kind.setdefault(sub.kind, []).append(row)
        sub.create(201, answer, row["id"])
        audits.append(sub.audit(service, "create", row["id"], after))
    await bot1_write.insert_applications(conn, rows_by_kind)


async def _write_surveys(conn: AsyncConnection, service: str, subs: list[Submission], audits: list[dict]) -> None:
    for sub in subs:
        try:
            async with conn.begin_nested():
                answer, after = await bot2_write.write_survey(conn, sub.body, sub.refs, utcnow())
        except ProblemError as problem:
            sub.fail(problem)
            continue
        except IntegrityError:
            sub.fail(
                ProblemError(
                    409,
                    "CONFLICT",
                    "A concurrent submission changed this student; retry.",
                    field="$.student_external_id",
                )
            )
            continue
        sub.create(201, msgspec.to_builtins(answer), answer.response_id)
        audits.append(sub.audit(service, "create", answer.response_id, after))


async def _write_in(conn: AsyncConnection, service: str, subs: list[Submission], lock_keys: bool) -> None:
    todo = await _claim(conn, service, subs, lock_keys)
    audits: list[dict[str, Any]] = []
    if bot1 := [s for s in todo if s.kind != SURVEY]:
        await _write_bot1(conn, service, bot1, audits)
    if surveys := [s for s in todo if s.kind == SURVEY]:
        await _write_surveys(conn, service, surveys, audits)
    if audits:
        await conn.execute(insert(_audit_table), audits)
    records = [
        idempotency.record_row(
            service=service,
            key=s.key,
            request_hash=s.request_hash,
            status=s.status,
            body=s.answer or {},
            entity_table=BATCH_KINDS[s.kind].table,
            entity_id=s.entity_id,
        )
        for s in todo
        if s.key and s.outcome == "created"
    ]
    if await idempotency.insert_records(conn, records) < len(records):
        raise _LostRace


async def _write_transaction(engine: AsyncEngine, service: str, subs: list[Submission], *, lock_keys: bool) -> list:
    """One transaction for `subs`; returns them all to write again when a concurrent one stored a key first."""
    try:
        async with engine.begin() as conn:
            await _write_in(conn, service, subs, lock_keys)
    except _LostRace:
        for sub in subs:
            sub.clear()
        return subs
    return []


# --- the call ----------------------------------------------------------------------------------------------------

Attempt = Callable[[list[Submission]], Awaitable[list[Submission]]]


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


async def _write_retrying(attempt: Attempt, catalog: CatalogRefs, subs: list[Submission]) -> None:
    """Run `attempt` (which settles what it writes and returns what to write again) until every submission is
    settled: a serialization failure or deadlock runs again; another database error, when it fails several
    submissions together, falls back to one attempt per submission so the valid ones are still stored."""
    pending = subs
    for n in range(MAX_ATTEMPTS):
        if not pending:
            return
        try:
            pending = await attempt(pending)
        except DBAPIError as exc:
            for sub in pending:
                sub.clear()
            if _retryable(exc) and n + 1 < MAX_ATTEMPTS:
                continue
            if isinstance(exc, IntegrityError):
                catalog.invalidate()
            if len(pending) > 1:
                log.info("call fell back to one write per submission", extra={"error": type(exc.orig).__name__})
                for sub in pending:
                    await _write_retrying(attempt, catalog, [sub])
            else:
                pending[0].fail(_database_problem(exc))
            return
    for sub in pending:
        sub.fail(idempotency.in_flight_problem())


def _first_per_key(subs: list[Submission]) -> list[Submission]:
    seen: set[str] = set()
    firsts = []
    for sub in subs:
        if sub.key is None or sub.key not in seen:
            firsts.append(sub)
            if sub.key is not None:
                seen.add(sub.key)
    return firsts


def _postgres_applications_write() -> Any:
    """The single-statement path (`bot1_pg`, and psycopg with it) is imported on Postgres only, so a SQLite process
    never loads the driver at start-up."""
    from ingest.submissions import bot1_pg

    return bot1_pg.write_applications


async def write(
    engine: AsyncEngine, catalog: CatalogRefs, service: str, subs: list[Submission], *, lock_keys: bool
) -> None:
    """Store the submissions of one bot; every one ends with an outcome. `lock_keys`: a key being processed by
    another transaction answers 409 at once (single requests) instead of waiting for it (batches)."""
    await prepare(subs, catalog)
    await _refuse_new(engine, service, subs)
    firsts = _first_per_key([s for s in subs if not s.done])
    fast = _postgres_applications_write() if engine.dialect.name == "postgresql" else None
    paths = (
        (fast, [s for s in firsts if fast and s.kind in BY_BATCH_KIND]),
        (_write_transaction, [s for s in firsts if not (fast and s.kind in BY_BATCH_KIND)]),
    )
    for path, chosen in paths:
        if chosen:
            await _write_retrying(partial(path, engine, service, lock_keys=lock_keys), catalog, chosen)
    _settle_repeats(subs)
