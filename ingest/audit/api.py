"""The audit log for admins (`/audit-log/`): who changed what and when, with PII already masked at write time."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import msgspec
from litestar import Request, Router, get
from litestar.di import NamedDependency
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.auth.guards import requires_admin
from ingest.core.schema import AuditLog, User
from ingest.dashboard.crud import LIST_QUERY, Listing, ListQuery, columns_of, within
from ingest.http.pagination import Page
from ingest.http.windows import FromParam, ToParam

_audit = AuditLog.__table__
_users = User.__table__
Action = Literal["create", "update", "delete", "login", "logout", "other"]
ActorType = Literal["user", "service", "system"]


class AuditRow(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    created_at: datetime
    actor_type: str
    actor_user_id: uuid.UUID | None
    actor_email: str | None
    actor_service: str
    action: str
    entity_table: str
    entity_id: uuid.UUID | None
    before_data: dict[str, Any]
    after_data: dict[str, Any]
    meta: dict[str, Any]
    ip: str | None
    user_agent: str
    request_id: str


def audit_of(row: Any) -> AuditRow:
    m = row._mapping
    fields = {f: m[f] for f in AuditRow.__struct_fields__}
    for key in ("before_data", "after_data", "meta"):
        fields[key] = fields[key] or {}
    return AuditRow(**fields)


AUDIT_LIST = Listing(
    query=select(_audit, _users.c.email.label("actor_email")).select_from(
        _audit.outerjoin(_users, _users.c.id == _audit.c.actor_user_id)
    ),
    build=audit_of,
    search=[_audit.c.entity_table, _audit.c.actor_service, _audit.c.request_id],
    ordering=columns_of(_audit, "created_at"),
    default=["-created_at"],
    id_column=_audit.c.id,
)


@get("/", dependencies=LIST_QUERY, summary="List the audit log (admin)")
async def list_audit(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    action: Action | None = None,
    actor_type: ActorType | None = None,
    actor_user: uuid.UUID | None = None,
    actor_service: str | None = None,
    entity_table: str | None = None,
    entity_id: uuid.UUID | None = None,
    from_: FromParam = None,
    to: ToParam = None,
    *,
    asked: ListQuery,
) -> Page[AuditRow]:
    """Filters: `action`, `actor_type`, `actor_user`, `actor_service`, `entity_table`, `entity_id`, `from`/`to` on
    created_at; `search` over the entity table, service and request id; `ordering`: created_at (default newest)."""
    equal = [
        (_audit.c.action, action),
        (_audit.c.actor_type, actor_type),
        (_audit.c.actor_user_id, actor_user),
        (_audit.c.actor_service, actor_service),
        (_audit.c.entity_table, entity_table),
        (_audit.c.entity_id, entity_id),
    ]
    window = within(request, _audit.c.created_at, from_, to)
    return await AUDIT_LIST.page(db_session, request, asked, where=window, equal=equal)


@get("/{entry_id:uuid}", summary="One audit log entry (admin)")
async def retrieve_audit(db_session: NamedDependency[AsyncSession], entry_id: uuid.UUID) -> AuditRow:
    return await AUDIT_LIST.one(db_session, entry_id, f"No audit entry with id {entry_id}.")


def audit_router() -> Router:
    return Router(
        path="/audit-log", guards=[requires_admin], route_handlers=[list_audit, retrieve_audit], tags=["audit (admin)"]
    )
