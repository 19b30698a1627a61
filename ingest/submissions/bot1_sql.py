"""Bot1 writes, set-based: one partial upsert of all applicants of a call, one insert per application table."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Table, case, func
from sqlalchemy.ext.asyncio import AsyncConnection

from ingest.contracts.api import (
    Admissions2026Submit,
    ApplicantOut,
    ApplicantUpsert,
    ApplicationCreated,
    CampusTourSubmit,
    PolitoAcademySubmit,
)
from ingest.core.schema import APPLICATION_MODELS, Applicant
from ingest.core.upsert import dialect_insert

applicants = Applicant.__table__

# Batch kind → (application kind of SPEC §4.3 paths, its table); the applicant upsert has no application table.
APPLICATION_KINDS: dict[str, str] = {
    "bot1.admissions_2026": "admissions-2026",
    "bot1.campus_tour": "campus-tour",
    "bot1.foundation": "foundation",
    "bot1.polito_academy": "polito-academy",
}
APPLICATION_TABLES: dict[str, Table] = {k: m.__table__ for k, m in APPLICATION_MODELS.items()}

_TEXT_FIELDS = ("username", "first_name", "last_name", "phone", "email", "language")
_NULLABLE_FIELDS = ("telegram_chat_id", "birth_date")


def supplied_applicant_fields(body: ApplicantUpsert, region_id: uuid.UUID | None) -> dict[str, Any]:
    """The applicant fields a request actually gives (absent and blank mean "keep what is stored")."""
    fields: dict[str, Any] = {"telegram_user_id": body.telegram_user_id}
    for name in _TEXT_FIELDS:
        value = getattr(body, name).strip()
        if value:
            fields[name] = value
    for name in _NULLABLE_FIELDS:
        if getattr(body, name) is not None:
            fields[name] = getattr(body, name)
    if body.gender:
        fields["gender"] = body.gender
    if region_id is not None:
        fields["region_id"] = region_id
    return fields


def merge_applicants(supplied: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """One insert row per Telegram user (later non-blank values win), sorted by id so concurrent calls lock rows in
    the same order. Unsupplied fields get the column defaults, which the upsert below never writes over data."""
    merged: dict[int, dict[str, Any]] = {}
    for fields in supplied:
        merged.setdefault(fields["telegram_user_id"], {}).update(fields)
    rows = []
    for tg_id in sorted(merged):
        fields = merged[tg_id]
        row = {name: fields.get(name, "") for name in _TEXT_FIELDS}
        row |= {name: fields.get(name) for name in (*_NULLABLE_FIELDS, "region_id")}
        row |= {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "telegram_user_id": tg_id,
            "gender": fields.get("gender", "unspecified"),
        }
        rows.append(row)
    return rows


def _partial_upsert(conn: AsyncConnection) -> Any:
    stmt = dialect_insert(conn, applicants)
    new, old = stmt.excluded, applicants.c
    keep: dict[str, Any] = {name: func.coalesce(func.nullif(new[name], ""), old[name]) for name in _TEXT_FIELDS}
    keep |= {name: func.coalesce(new[name], old[name]) for name in (*_NULLABLE_FIELDS, "region_id")}
    # "unspecified" is the insert default, so it never replaces a gender the applicant gave before.
    keep["gender"] = case((new.gender == "unspecified", old.gender), else_=new.gender)
    keep["updated_at"] = new.updated_at
    return stmt.on_conflict_do_update(index_elements=["telegram_user_id"], set_=keep).returning(*applicants.c)


async def upsert_applicants(conn: AsyncConnection, rows: list[dict[str, Any]]) -> dict[int, Any]:
    """Telegram user id → the stored applicant row after the partial upsert."""
    if not rows:
        return {}
    result = await conn.execute(_partial_upsert(conn), rows)
    return {row.telegram_user_id: row for row in result}


def applicant_out(row: Any) -> ApplicantOut:
    return ApplicantOut(
        id=row.id,
        telegram_user_id=row.telegram_user_id,
        telegram_chat_id=row.telegram_chat_id,
        username=row.username,
        first_name=row.first_name,
        last_name=row.last_name,
        phone=row.phone,
        email=row.email,
        gender=row.gender,
        birth_date=row.birth_date,
        language=row.language,
        region_id=row.region_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def application_row(
    kind: str, body: Any, refs: dict[str, uuid.UUID | None], applicant_id: uuid.UUID | None, now: datetime
) -> dict[str, Any]:
    """The insert row of one submit; status `new` ⇔ `submitted_at` is null (SPEC §3)."""
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "applicant_id": applicant_id,
        "status": body.status,
        "answers": body.answers,
        "submitted_at": None if body.status == "new" else now,
    }
    if isinstance(body, Admissions2026Submit):
        row |= {"direction_id": refs["direction"], "track_id": refs.get("track")}
    elif isinstance(body, CampusTourSubmit):
        row["preferred_date"] = body.preferred_date
    elif isinstance(body, PolitoAcademySubmit):
        row["subject_id"] = refs.get("subject")
    return row


def application_created(kind: str, row: dict[str, Any], telegram_user_id: int) -> ApplicationCreated:
    return ApplicationCreated(
        id=row["id"],
        kind=APPLICATION_KINDS[kind],  # type: ignore[arg-type]
        telegram_user_id=telegram_user_id,
        status=row["status"],
        submitted_at=row["submitted_at"],
        created_at=row["created_at"],
        direction_id=row.get("direction_id"),
        track_id=row.get("track_id"),
        subject_id=row.get("subject_id"),
        preferred_date=row.get("preferred_date"),
    )


def application_audit(kind: str, row: dict[str, Any], applicant_fields: dict[str, Any]) -> dict[str, Any]:
    """The audit `after` of a submit (masked by the audit module): the application and the applicant fields sent."""
    after = {k: v for k, v in row.items() if k not in ("created_at", "updated_at", "applicant_id")}
    return {"kind": APPLICATION_KINDS[kind], **after, "applicant": applicant_fields}


async def insert_applications(conn: AsyncConnection, rows_by_kind: dict[str, list[dict[str, Any]]]) -> None:
    for kind, rows in rows_by_kind.items():
        if rows:
            await conn.execute(APPLICATION_TABLES[APPLICATION_KINDS[kind]].insert(), rows)
