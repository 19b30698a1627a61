"""The application status workflow (SPEC §5): new → submitted → in_progress → approved | rejected, moved by admins
with `PATCH /bot1/applications/{kind}/{id}`; leaving `new` stamps `submitted_at` (status new ⇔ no submitted_at)."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, Router, patch
from litestar.di import NamedDependency
from litestar.params import JSONBody
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.audit.dashboard import audit_user_action
from ingest.auth.guards import requires_admin
from ingest.contracts.fields import Status
from ingest.core.problems import ProblemError
from ingest.core.schema import utcnow
from ingest.dashboard.applications_api import ApplicationRow, load_application, table_of

# The workflow's moves; a status of `ingest.contracts.kinds.STATUSES` that has none here is final.
NEXT_STATUSES: dict[str, tuple[str, ...]] = {
    "new": ("submitted",),
    "submitted": ("in_progress",),
    "in_progress": ("approved", "rejected"),
}


class StatusChange(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    status: Status


def check_transition(current: str, wanted: str) -> None:
    """409 INVALID_TRANSITION unless `wanted` is a next step of `current`."""
    allowed = NEXT_STATUSES.get(current, ())
    if wanted not in allowed:
        after = " or ".join(allowed) if allowed else "nothing (it is final)"
        raise ProblemError(
            409,
            "INVALID_TRANSITION",
            f"An application in status {current} can move to {after}, not to {wanted}.",
            field="$.status",
        )


@patch(
    "/applications/{kind:str}/{application_id:uuid}", guards=[requires_admin], summary="Move an application's status"
)
async def change_status(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    kind: str,
    application_id: uuid.UUID,
    data: JSONBody[StatusChange],
) -> ApplicationRow:
    """new → submitted → in_progress → approved | rejected; any other move is 409 INVALID_TRANSITION. Asking for
    the current status changes nothing. Audited."""
    table = table_of(kind)
    row = (
        await db_session.execute(select(table.c.status, table.c.submitted_at).where(table.c.id == application_id))
    ).first()
    if row is None:
        raise ProblemError(404, "NOT_FOUND", f"No {kind} application with id {application_id}.")
    if row.status == data.status:
        return await load_application(db_session, kind, application_id)
    check_transition(row.status, data.status)
    now = utcnow()
    values: dict[str, Any] = {"status": data.status, "updated_at": now}
    if row.submitted_at is None:
        values["submitted_at"] = now
    # Conditional on the status read above: two admins moving the same application cannot both win.
    result = await db_session.execute(
        update(table).where(table.c.id == application_id, table.c.status == row.status).values(**values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise ProblemError(409, "CONFLICT", "The application changed meanwhile; reload it and try again.")
    await audit_user_action(
        db_session,
        request,
        action="update",
        entity_table=table.name,
        entity_id=application_id,
        before={"status": row.status},
        after={"status": data.status},
        meta={"type": "status_change", "kind": kind},
    )
    return await load_application(db_session, kind, application_id)


def status_router() -> Router:
    """Beside the bot1 lists under /bot1 (same tag): the workflow is its own module, so it mounts its own router."""
    return Router(path="/bot1", route_handlers=[change_status], tags=["bot1 (dashboard)"])
