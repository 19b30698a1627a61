"""The operational schema (SPEC §3): every table, with its constraints, CHECKs and indexes, for SQLite and Postgres.

Fixes over the reference (RS §13): real trilingual name columns, one code per (type, code) and never NULL,
course years 1..5 checked by the database, the `submitted_at` rule enforced by a CHECK, indexes on `submitted_at`
and `status`, RESTRICT (never CASCADE) from survey data to the roster, and `updated_at` indexes so the warehouse can
extract incrementally.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ingest.contracts.fields import STATUSES
from ingest.contracts.kinds import APPLICATION_KINDS

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CATALOG_TYPES = ("program", "direction", "subject", "track", "region", "other")
RELATION_TYPES = ("program_direction", "program_track", "subject_prereq", "custom")
GENDERS = ("male", "female", "other", "unspecified")
ROLES = ("admin", "viewer")
SERVICES = ("bot1", "bot2")
AUDIT_ACTIONS = ("create", "update", "delete", "login", "logout", "other")
ACTOR_TYPES = ("user", "service", "system")
COURSE_YEARS = range(1, 6)  # 5 = graduated


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


COURSE_YEAR_CHECK = "course_year BETWEEN 1 AND 5"
SUBMITTED_AT_RULE = "(status = 'new') = (submitted_at IS NULL)"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTimeUTC(timezone=True), dict[str, Any]: JsonB}


class Entity(Base):
    """UUID primary key plus UTC `created_at` / `updated_at` (SPEC §3: every table)."""

    __abstract__ = True

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- catalog -----------------------------------------------------------------------------------------------------


class CatalogItem(Entity):
    __tablename__ = "catalog_item"
    __table_args__ = (
        UniqueConstraint("type", "code"),
        CheckConstraint(_in("type", CATALOG_TYPES), name="type"),
        CheckConstraint("code <> ''", name="code_not_blank"),
        Index(None, "type", "is_active", "sort_order"),
        Index(None, "parent_id"),
    )

    type: Mapped[str] = mapped_column(String(50))
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(255))
    name_uz: Mapped[str] = mapped_column(String(255), default="")
    name_ru: Mapped[str] = mapped_column(String(255), default="")
    name_en: Mapped[str] = mapped_column(String(255), default="")
    # Free text the reference dashboard edits (RS §3.4 has no such column; its clients send it: SPEC §5).
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("catalog_item.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # `metadata` is reserved on declarative classes, so the attribute is `meta` over a column named metadata.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)


class CatalogRelation(Entity):
    __tablename__ = "catalog_relation"
    __table_args__ = (
        UniqueConstraint("from_item_id", "to_item_id", "relation_type"),
        CheckConstraint(_in("relation_type", RELATION_TYPES), name="relation_type"),
        CheckConstraint("from_item_id <> to_item_id", name="not_self"),
        Index(None, "to_item_id"),
    )

    from_item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalog_item.id", ondelete="CASCADE"))
    to_item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalog_item.id", ondelete="CASCADE"))
    relation_type: Mapped[str] = mapped_column(String(100), default="custom")
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


# --- users and credentials ---------------------------------------------------------------------------------------


class User(Entity):
    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="viewer")
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[datetime | None]


class RefreshToken(Entity):
    """One issued refresh token (id = its jti). Rotation marks it used; reuse of a used token revokes its family."""

    __tablename__ = "auth_refresh_token"
    __table_args__ = (Index(None, "family_id"), Index(None, "user_id"), Index(None, "expires_at"))

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class RevokedToken(Entity):
    """Denylist of access-token jtis revoked before they expire (logout); rows past `expires_at` can be pruned."""

    __tablename__ = "auth_revoked_token"
    __table_args__ = (
        CheckConstraint("token_type IN ('access', 'refresh')", name="token_type"),
        Index(None, "expires_at"),
    )

    jti: Mapped[str] = mapped_column(String(64), unique=True)
    token_type: Mapped[str] = mapped_column(String(16))
    expires_at: Mapped[datetime]


class ServiceToken(Entity):
    """A bot credential: only the sha256 of the raw token is stored."""

    __tablename__ = "service_token"
    __table_args__ = (CheckConstraint(_in("service", SERVICES), name="service"), Index(None, "service"))

    service: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


# --- bot1: applicants and four kinds of application --------------------------------------------------------------


class Applicant(Entity):
    __tablename__ = "bot1_applicant"
    __table_args__ = (
        CheckConstraint(_in("gender", GENDERS), name="gender"),
        Index(None, "updated_at"),
        Index(None, "region_id"),
    )

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    telegram_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str] = mapped_column(String(150), default="")
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    gender: Mapped[str] = mapped_column(String(20), default="unspecified")
    birth_date: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str] = mapped_column(String(8), default="")
    region_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("catalog_item.id", ondelete="SET NULL"))


class _Application(Entity):
    """Columns shared by the four application tables; status `new` ⇔ `submitted_at` is null (a DB CHECK).
    `application_region_id`: the region this application is made from (null: the applicant's), SET NULL like the
    applicant's region."""

    __abstract__ = True

    status: Mapped[str] = mapped_column(String(32), default="submitted")
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    submitted_at: Mapped[datetime | None]
    application_region_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("catalog_item.id", ondelete="SET NULL"))


def _application_args(table: str) -> tuple[Any, ...]:
    return (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(SUBMITTED_AT_RULE, name="submitted_at_rule"),
        Index(None, "submitted_at"),
        Index(None, "status"),
        Index(None, "applicant_id"),
        Index(None, "application_region_id"),
        Index(f"ix_{table}_updated_at_id", "updated_at", "id"),
    )


def _applicant_fk() -> Mapped[uuid.UUID]:
    return mapped_column(ForeignKey("bot1_applicant.id", ondelete="CASCADE"))


def _catalog_fk(nullable: bool) -> Any:
    return mapped_column(ForeignKey("catalog_item.id", ondelete="RESTRICT"), nullable=nullable)


class Admissions2026Application(_Application):
    __tablename__ = "bot1_admissions_2026"
    __table_args__ = (*_application_args(__tablename__), Index(None, "direction_id"), Index(None, "track_id"))

    applicant_id: Mapped[uuid.UUID] = _applicant_fk()
    direction_id: Mapped[uuid.UUID] = _catalog_fk(nullable=False)
    track_id: Mapped[uuid.UUID | None] = _catalog_fk(nullable=True)


class CampusTourRequest(_Application):
    __tablename__ = "bot1_campus_tour"
    __table_args__ = (*_application_args(__tablename__), Index(None, "preferred_date"))

    applicant_id: Mapped[uuid.UUID] = _applicant_fk()
    preferred_date: Mapped[date | None] = mapped_column(Date)


class FoundationRequest(_Application):
    __tablename__ = "bot1_foundation"
    __table_args__ = _application_args(__tablename__)

    applicant_id: Mapped[uuid.UUID] = _applicant_fk()


class PolitoAcademyRequest(_Application):
    __tablename__ = "bot1_polito_academy"
    __table_args__ = (*_application_args(__tablename__), Index(None, "subject_id"))

    applicant_id: Mapped[uuid.UUID] = _applicant_fk()
    subject_id: Mapped[uuid.UUID | None] = _catalog_fk(nullable=True)


# Slug → model, in the registry's order (ingest.contracts.kinds names each kind's table).
APPLICATION_MODELS: dict[str, type[_Application]] = {
    k.slug: next(m for m in _Application.__subclasses__() if m.__tablename__ == k.table) for k in APPLICATION_KINDS
}


# --- bot2: roster, students, survey responses, planned headcounts ------------------------------------------------


class RosterEntry(Entity):
    """The official student list: source of truth for program and course year, and the coverage denominator."""

    __tablename__ = "bot2_roster"
    __table_args__ = (
        CheckConstraint(COURSE_YEAR_CHECK, name="course_year"),
        Index(None, "roster_campaign", "is_active"),
        Index(None, "program_id", "course_year"),
        Index(None, "updated_at", "id"),
    )

    student_external_id: Mapped[str] = mapped_column(String(100), unique=True)
    roster_campaign: Mapped[str] = mapped_column(String(64), default="default")
    program_id: Mapped[uuid.UUID] = _catalog_fk(nullable=False)
    course_year: Mapped[int] = mapped_column(SmallInteger)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)


class Student(Entity):
    """A person who used bot2, bound to one roster row by `student_external_id`."""

    __tablename__ = "bot2_student"
    __table_args__ = (
        CheckConstraint(_in("gender", GENDERS), name="gender"),
        Index(None, "roster_id"),
        Index(None, "region_id"),
        Index(None, "updated_at", "id"),
    )

    student_external_id: Mapped[str] = mapped_column(String(100), unique=True)
    roster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bot2_roster.id", ondelete="RESTRICT"))
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    username: Mapped[str] = mapped_column(String(150), default="")
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    gender: Mapped[str] = mapped_column(String(20), default="unspecified")
    phone: Mapped[str] = mapped_column(String(50), default="")
    region_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("catalog_item.id", ondelete="SET NULL"))


class SurveyResponse(Entity):
    """Append-only: every submission is a row; analytics use the latest per student and campaign."""

    __tablename__ = "bot2_survey_response"
    __table_args__ = (
        CheckConstraint(COURSE_YEAR_CHECK, name="course_year"),
        Index(None, "survey_campaign", "student_id", "submitted_at"),
        Index(None, "submitted_at"),
        Index(None, "roster_id"),
        Index(None, "program_id"),
        Index(None, "updated_at", "id"),
    )

    student_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bot2_student.id", ondelete="RESTRICT"))
    roster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bot2_roster.id", ondelete="RESTRICT"))
    program_id: Mapped[uuid.UUID] = _catalog_fk(nullable=False)
    course_year: Mapped[int] = mapped_column(SmallInteger)
    survey_campaign: Mapped[str] = mapped_column(String(64), default="default")
    # the language the survey was answered in (uz/ru/en; "" when the bot did not say); added by 0002_survey_language
    language: Mapped[str] = mapped_column(String(8), default="", server_default="")
    employment_status: Mapped[str] = mapped_column(String(100), default="")
    employment_company: Mapped[str] = mapped_column(String(255), default="")
    employment_role: Mapped[str] = mapped_column(String(255), default="")
    suggestions: Mapped[str] = mapped_column(Text, default="")
    consents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    submitted_at: Mapped[datetime]


# Student ids match in any case (issue 15: `se54321` is roster row `SE54321`): unique by lower(id), the spelling
# stored is the roster's. The exact UNIQUE of 0001 stays (implied by this one; SQLite could only drop it by
# rebuilding tables that survey data references).
for _table in (RosterEntry.__table__, Student.__table__):
    Index(f"uq_{_table.name}_student_key", func.lower(_table.c.student_external_id), unique=True)


class EnrollmentHeadcount(Entity):
    """Planned headcounts per program and year, reported beside roster totals (never instead of them)."""

    __tablename__ = "bot2_enrollment"
    __table_args__ = (
        UniqueConstraint("program_id", "course_year", "academic_year", "campaign"),
        CheckConstraint(COURSE_YEAR_CHECK, name="course_year"),
        CheckConstraint("student_count >= 0", name="student_count"),
        Index(None, "campaign", "is_active"),
    )

    program_id: Mapped[uuid.UUID] = _catalog_fk(nullable=False)
    course_year: Mapped[int] = mapped_column(SmallInteger)
    student_count: Mapped[int] = mapped_column(Integer, default=0)
    academic_year: Mapped[str] = mapped_column(String(20), default="2025-2026")
    campaign: Mapped[str] = mapped_column(String(64), default="default")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    notes: Mapped[str] = mapped_column(Text, default="")


# --- audit and idempotency ---------------------------------------------------------------------------------------


class AuditLog(Entity):
    """Who changed what; PII is masked before it is written (ingest.audit.rows)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(_in("actor_type", ACTOR_TYPES), name="actor_type"),
        CheckConstraint(_in("action", AUDIT_ACTIONS), name="action"),
        Index(None, "created_at"),
        Index(None, "entity_table", "entity_id"),
        Index(None, "actor_user_id"),
    )

    actor_type: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    actor_service: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(20), default="other")
    entity_table: Mapped[str] = mapped_column(String(255))
    entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    before_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after_data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    meta: Mapped[dict[str, Any]] = mapped_column("meta", default=dict)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")


class IdempotencyRecord(Entity):
    """The stored answer to one keyed service request, written in the same transaction as the data it guards."""

    __tablename__ = "idempotency_record"
    __table_args__ = (
        UniqueConstraint("service", "key"),
        CheckConstraint("state IN ('in_flight', 'done')", name="state"),
        Index(None, "created_at"),
    )

    service: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="done")
    response_status: Mapped[int] = mapped_column(SmallInteger, default=0)
    response_body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    entity_table: Mapped[str] = mapped_column(String(255), default="")
    entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


metadata = Base.metadata
