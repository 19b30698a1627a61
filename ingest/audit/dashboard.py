"""Audit rows for dashboard writes: the acting user, the request's IP, user agent and id, in the write's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.audit.rows import record_audit, request_context
from ingest.auth.guards import current_user


async def audit_user_action(
    session: AsyncSession,
    request: Request[Any, Any, Any],
    *,
    action: str,
    entity_table: str,
    entity_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    actor_user_id: uuid.UUID | None = None,
) -> None:
    """One masked audit row by the request's user (or `actor_user_id` where no guard ran, e.g. login)."""
    await record_audit(
        session,
        actor_type="user",
        action=action,
        entity_table=entity_table,
        entity_id=entity_id,
        actor_user_id=actor_user_id or current_user(request).id,
        before=before,
        after=after,
        meta=meta,
        **request_context(request, request.app.state.settings),
    )
