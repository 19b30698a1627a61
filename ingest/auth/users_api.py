"""Dashboard user management for admins (`/users/`): list, create, read, change, delete (SPEC §5).

An admin cannot demote, disable or delete their own account, so there is always an active admin. Disabling a user,
changing their role or password ends their sessions (refresh tokens revoked; access tokens are re-checked against
the user: at once in this process, within `ingest.auth.guards.AUTH_CACHE_SECONDS` in others)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Router, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import Meta
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.audit.dashboard import audit_user_action
from ingest.auth.guards import current_user, forget_user, requires_admin
from ingest.auth.login_api import UserOut, user_out
from ingest.auth.passwords import hash_password
from ingest.auth.users import check_password_strength, create_user, normalize_email
from ingest.core.problems import ProblemError
from ingest.core.schema import RefreshToken, User, utcnow
from ingest.dashboard.crud import Listing, ListQuery, columns_of, flag
from ingest.http.list_filters import BoolParam
from ingest.http.pagination import DEFAULT_PAGE_SIZE, OrderingParam, Page, PageParam, PageSizeParam, SearchParam

Role = Literal["admin", "viewer"]
Name = Annotated[str, Meta(max_length=150)]
USERS_LIST = Listing(
    query=select(User),
    build=lambda row: user_out(row[0]),
    search=[User.email, User.first_name, User.last_name],
    ordering=columns_of(User.__table__, "email", "role", "created_at", "last_login_at"),
    default=["email"],
    id_column=User.id,
)


class UserCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Annotated[str, Meta(min_length=3, max_length=254)]
    password: Annotated[str, Meta(min_length=1, max_length=1024)]
    role: Role = "viewer"
    first_name: Name = ""
    last_name: Name = ""


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    email: Annotated[str, Meta(min_length=3, max_length=254)] | None = None
    password: Annotated[str, Meta(min_length=1, max_length=1024)] | None = None
    role: Role | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    is_active: bool | None = None


def _audit_view(user: User) -> dict[str, Any]:
    return {"email": user.email, "role": user.role, "is_active": user.is_active}


async def _get(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise ProblemError(404, "NOT_FOUND", f"No user with id {user_id}.")
    return user


async def end_sessions(session: AsyncSession, user_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


@get("/", summary="List dashboard users")
async def list_users(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    role: Role | None = None,
    is_active: BoolParam = None,
    search: SearchParam = None,
    ordering: OrderingParam = None,
    page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE,
) -> Page[UserOut]:
    """Filters: `role`, `is_active`; `search` over e-mail and names; `ordering`: email, role, created_at,
    last_login_at."""
    active = flag(User.is_active, is_active, "is_active")
    asked = ListQuery(search, ordering, page, page_size)
    return await USERS_LIST.page(db_session, request, asked, where=active, equal=[(User.role, role)])


@post("/", summary="Create a dashboard user")
async def create(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], data: JSONBody[UserCreate]
) -> UserOut:
    """201; 409 EMAIL_TAKEN when the e-mail exists; 400 WEAK_PASSWORD under 8 characters."""
    user = await create_user(
        db_session,
        email=data.email,
        password=data.password,
        role=data.role,
        first_name=data.first_name,
        last_name=data.last_name,
    )
    await audit_user_action(
        db_session, request, action="create", entity_table="app_user", entity_id=user.id, after=_audit_view(user)
    )
    return user_out(user)


@get("/{user_id:uuid}", summary="One dashboard user")
async def retrieve(db_session: NamedDependency[AsyncSession], user_id: uuid.UUID) -> UserOut:
    return user_out(await _get(db_session, user_id))


def _check_self_change(request: Request[Any, Any, Any], user: User, data: UserUpdate) -> None:
    if user.id != current_user(request).id:
        return
    if data.role == "viewer" or data.is_active is False:
        raise ProblemError(
            409, "SELF_LOCKOUT", "You cannot demote or disable your own account; ask another admin.", field="role"
        )


async def _apply(session: AsyncSession, user: User, data: UserUpdate) -> bool:
    """Apply the change; True when the user's sessions must end (password, role or access changed)."""
    ends_sessions = False
    if data.email is not None and normalize_email(data.email) != user.email:
        email = normalize_email(data.email)
        if "@" not in email.strip("@"):
            raise ProblemError(400, "INVALID_EMAIL", "Give an email address such as name@example.com.", field="email")
        if await session.scalar(select(func.count()).select_from(User).where(User.email == email)):
            raise ProblemError(409, "EMAIL_TAKEN", f"A user with email {email} already exists.", field="email")
        user.email = email
    if data.password is not None:
        check_password_strength(data.password)
        user.password_hash = hash_password(data.password)
        ends_sessions = True
    for name in ("first_name", "last_name"):
        if (value := getattr(data, name)) is not None:
            setattr(user, name, value)
    if data.role is not None and data.role != user.role:
        user.role = data.role
        ends_sessions = True
    if data.is_active is not None and data.is_active != user.is_active:
        user.is_active = data.is_active
        ends_sessions = ends_sessions or not data.is_active
    return ends_sessions


@patch("/{user_id:uuid}", summary="Change a dashboard user")
async def change(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    user_id: uuid.UUID,
    data: JSONBody[UserUpdate],
) -> UserOut:
    """Partial update. Changing the password or role, or disabling the user, ends their sessions."""
    user = await _get(db_session, user_id)
    _check_self_change(request, user, data)
    before = _audit_view(user)
    if await _apply(db_session, user, data):
        await end_sessions(db_session, user.id)
    forget_user(request.app, db_session, user.id)  # the guards of this process re-read the user from now on
    user.updated_at = utcnow()
    await db_session.flush()
    after = _audit_view(user) | ({"password_changed": True} if data.password is not None else {})
    await audit_user_action(
        db_session, request, action="update", entity_table="app_user", entity_id=user.id, before=before, after=after
    )
    return user_out(user)


@delete("/{user_id:uuid}", summary="Delete a dashboard user")
async def remove(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], user_id: uuid.UUID
) -> None:
    """204. Their audit rows stay (with no actor link). 409 for your own account; disabling is the gentler way."""
    user = await _get(db_session, user_id)
    if user.id == current_user(request).id:
        raise ProblemError(409, "SELF_LOCKOUT", "You cannot delete your own account; ask another admin.")
    before = _audit_view(user)
    forget_user(request.app, db_session, user.id)
    await db_session.delete(user)
    await db_session.flush()
    await audit_user_action(
        db_session, request, action="delete", entity_table="app_user", entity_id=user_id, before=before
    )


def users_router() -> Router:
    return Router(
        path="/users",
        guards=[requires_admin],
        route_handlers=[list_users, create, retrieve, change, remove],
        tags=["users (admin)"],
    )
