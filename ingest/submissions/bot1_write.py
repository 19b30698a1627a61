"""What a bot1 write stores (SPEC §3, §4.3), declared once for every dialect: the applicant's partial upsert, the
application row of each kind, the answer and the masked audit `after`.

The partial upsert: a request never erases a stored applicant value. A column's default (blank text, null, gender
`unspecified`) means "not supplied": it is what a new applicant gets, and it never replaces a stored value; among the
submissions of one call, the last supplied value of each column wins. `bot1_pg` renders the same rules as one
Postgres statement; the SQLAlchemy Core statements here serve SQLite and everything but the Postgres fast path.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import Table, func
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.audit.rows import mask_free_form, mask_pii
from ingest.contracts.api import ApplicantOut, ApplicantUpsert
from ingest.contracts.applications import ApplicationCreated
from ingest.contracts.kinds import BY_BATCH_KIND
from ingest.core.schema import APPLICATION_MODELS, Applicant
from ingest.core.upsert import dialect_insert

applicants = Applicant.__table__
APPLICATION_TABLES: dict[str, Table] = {slug: model.__table__ for slug, model in APPLICATION_MODELS.items()}

# Applicant column → its "not supplied" value (the column's default), in column order.
UPSERTED: dict[str, Any] = {
    c.name: c.default.arg if c.default is not None else None
    for c in applicants.c
    if c.name not in ("id", "created_at", "updated_at", "telegram_user_id")
}
# Columns of every application row; a kind adds its `columns` (kinds.py).
APPLICATION_COLUMNS = ("id", "created_at", "updated_at", "applicant_id", "status", "answers", "submitted_at")


def supplied_applicant_fields(body: ApplicantUpsert, region_id: uuid.UUID | None) -> dict[str, Any]:
    """The applicant fields a request actually gives (absent and blank mean "keep what is stored")."""
    fields: dict[str, Any] = {"telegram_user_id": body.telegram_user_id}
    for name in UPSERTED:
        value = region_id if name == "region_id" else getattr(body, name)
        if isinstance(value, str):
            value = value.strip()
        if value is not None and value != "":
            fields[name] = value
    return fields


def merge_applicants(supplied: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """One insert row per Telegram user (the last supplied value of each column wins), sorted by id so concurrent
    calls lock rows in the same order; unsupplied columns get their defaults, which the upsert never writes."""
    merged: dict[int, dict[str, Any]] = {}
    for fields in supplied:
        row = merged.setdefault(fields["telegram_user_id"], {})
        row.update((name, value) for name, value in fields.items() if value != UPSERTED.get(name))
    return [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "telegram_user_id": tg_id,
            **{name: merged[tg_id].get(name, absent) for name, absent in UPSERTED.items()},
        }
        for tg_id in sorted(merged)
    ]


def upsert_set(new: Any) -> dict[str, Any]:
    """The ON CONFLICT DO UPDATE assignments: each column keeps its stored value unless `new` supplies one."""
    old = applicants.c
    keep = {
        name: func.coalesce(new[name], old[name])
        if absent is None
        else func.coalesce(func.nullif(new[name], absent), old[name])
        for name, absent in UPSERTED.items()
    }
    return keep | {"updated_at": new.updated_at}


async def upsert_applicants(conn: AsyncConnection, rows: list[dict[str, Any]]) -> dict[int, Any]:
    """Telegram user id → the stored applicant row after the partial upsert."""
    if not rows:
        return {}
    stmt = dialect_insert(conn, applicants)
    stmt = stmt.on_conflict_do_update(index_elements=["telegram_user_id"], set_=upsert_set(stmt.excluded))
    result = await conn.execute(stmt.returning(*applicants.c), rows)
    return {row.telegram_user_id: row for row in result}


def applicant_out(row: Any) -> ApplicantOut:
    return ApplicantOut(**{name: getattr(row, name) for name in ApplicantOut.__struct_fields__})


def application(
    kind: str,
    body: Any,
    refs: dict[str, uuid.UUID | None],
    supplied: dict[str, Any],
    applicant_id: uuid.UUID | None,
    now: datetime,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """One submit (`kind`: its batch kind) as its insert row, its answer and its masked audit `after`."""
    row = _application_row(kind, body, refs, applicant_id, now)
    answer = msgspec.to_builtins(_application_created(kind, row, body.telegram_user_id))
    return row, answer, _application_audit(kind, row, supplied)


def _application_row(
    kind: str, body: Any, refs: dict[str, uuid.UUID | None], applicant_id: uuid.UUID | None, now: datetime
) -> dict[str, Any]:
    """Status `new` ⇔ `submitted_at` is null (SPEC §3); otherwise the moment the person confirmed, when the bot sent
    it (checked against its bounds in `write.prepare`), else now (docs/submission-time.md)."""
    declared = BY_BATCH_KIND[kind]
    confirmed = body.submitted_at.astimezone(UTC) if body.submitted_at is not None else now
    return {
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "applicant_id": applicant_id,
        "status": body.status,
        "answers": body.answers,
        "submitted_at": None if body.status == "new" else confirmed,
        **{f"{ref}_id": refs.get(ref) for ref in declared.refs},
        **{name: getattr(body, name) for name in declared.own_fields},
    }


def _application_created(kind: str, row: dict[str, Any], telegram_user_id: int) -> ApplicationCreated:
    return ApplicationCreated(
        kind=BY_BATCH_KIND[kind].slug,
        telegram_user_id=telegram_user_id,
        **{name: row[name] for name in ApplicationCreated.__struct_fields__ if name in row},
    )


def _application_audit(kind: str, row: dict[str, Any], supplied: dict[str, Any]) -> dict[str, Any]:
    """The audit `after` of a submit, masked: what `mask_pii` makes of the application and the applicant fields sent,
    built directly (only the parts that can hold personal data are walked; ids and timestamps stay native)."""
    after = {k: v for k, v in row.items() if k not in ("created_at", "updated_at", "applicant_id", "answers")}
    return {
        "kind": BY_BATCH_KIND[kind].slug,
        **after,
        "answers": mask_free_form(row["answers"]),
        "applicant": mask_pii(supplied),
    }


async def insert_applications(conn: AsyncConnection, rows_by_kind: dict[str, list[dict[str, Any]]]) -> None:
    for kind, rows in rows_by_kind.items():
        await conn.execute(APPLICATION_TABLES[BY_BATCH_KIND[kind].slug].insert(), rows)
