"""The application status workflow (SPEC §5): PATCH /bot1/applications/{kind}/{id}, transitions, submitted_at rule,
audit, roles."""

from __future__ import annotations

import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.schema import Applicant, AuditLog, FoundationRequest
from tests.dashboard_support import API, Account, admin, viewer

__all__ = ["admin", "viewer"]


async def new_foundation(session: AsyncSession, status: str = "new") -> uuid.UUID:
    person = Applicant(telegram_user_id=42, first_name="Ali")
    session.add(person)
    await session.flush()
    request = FoundationRequest(
        applicant_id=person.id, status=status, submitted_at=None if status == "new" else person.created_at
    )
    session.add(request)
    await session.commit()
    return request.id


async def move(
    client: AsyncTestClient[Litestar], account: Account, app_id: uuid.UUID, status: str, kind: str = "foundation"
) -> object:
    return await client.patch(f"{API}/bot1/applications/{kind}/{app_id}", json={"status": status}, headers=account.auth)


async def test_full_workflow_sets_submitted_at_and_audits(
    client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account
) -> None:
    app_id = await new_foundation(session)
    submitted = await move(client, admin, app_id, "submitted")
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["status"] == "submitted" and body["submitted_at"] is not None
    stamp = body["submitted_at"]
    for status in ("in_progress", "approved"):
        response = await move(client, admin, app_id, status)
        assert response.status_code == 200 and response.json()["status"] == status
        assert response.json()["submitted_at"] == stamp  # only leaving `new` stamps it
    audit = (
        await session.execute(
            select(AuditLog.before_data, AuditLog.after_data, AuditLog.actor_user_id)
            .where(AuditLog.entity_id == app_id)
            .order_by(AuditLog.created_at)
        )
    ).all()
    assert [(b["status"], a["status"]) for b, a, _ in audit] == [
        ("new", "submitted"),
        ("submitted", "in_progress"),
        ("in_progress", "approved"),
    ]
    assert {u for _, _, u in audit} == {admin.id}


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("new", "in_progress"),
        ("new", "approved"),
        ("submitted", "approved"),
        ("submitted", "new"),
        ("in_progress", "submitted"),
        ("approved", "rejected"),
        ("rejected", "in_progress"),
    ],
)
async def test_invalid_transitions_are_409(
    client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account, start: str, target: str
) -> None:
    app_id = await new_foundation(session, start)
    response = await move(client, admin, app_id, target)
    assert response.status_code == 409
    assert response.json()["code"] == "INVALID_TRANSITION"
    stored = await session.scalar(select(FoundationRequest.status).where(FoundationRequest.id == app_id))
    assert stored == start


async def test_same_status_changes_nothing(
    client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account
) -> None:
    app_id = await new_foundation(session, "submitted")
    response = await move(client, admin, app_id, "submitted")
    assert response.status_code == 200
    assert await session.scalar(select(AuditLog.id).where(AuditLog.entity_id == app_id)) is None


async def test_rejections_and_bad_requests(
    client: AsyncTestClient[Litestar], session: AsyncSession, admin: Account, viewer: Account
) -> None:
    app_id = await new_foundation(session, "in_progress")
    assert (await move(client, viewer, app_id, "approved")).status_code == 403
    assert (
        await client.patch(f"{API}/bot1/applications/foundation/{app_id}", json={"status": "approved"})
    ).status_code == 401
    bad = await move(client, admin, app_id, "done")
    assert bad.status_code == 400 and bad.json()["field"] == "$.status"
    extra = await client.patch(
        f"{API}/bot1/applications/foundation/{app_id}", json={"status": "rejected", "note": "x"}, headers=admin.auth
    )
    assert extra.status_code == 400 and extra.json()["field"] == "$.note"
    assert (await move(client, admin, uuid.uuid4(), "approved")).status_code == 404
    assert (await move(client, admin, app_id, "approved", kind="visa")).status_code == 404
    assert (await move(client, admin, app_id, "rejected")).json()["status"] == "rejected"
