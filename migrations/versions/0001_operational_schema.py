"""operational schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:45:42.931014

Every table ends with the same `id` / `created_at` / `updated_at` columns and names its constraints and indexes by the
naming convention, so `_create_table` writes those parts once; the four bot1 application tables share their columns,
rules and indexes, so `_create_application_table` writes them once. `_INDEXES` lists every table in creation order
with its indexes: `upgrade` creates them, `downgrade` drops them in reverse. This revision is frozen: it spells out
the schema as it was, it does not import the models.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC, JsonB
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = "status IN ('new', 'submitted', 'in_progress', 'approved', 'rejected')"
_GENDERS = "gender IN ('male', 'female', 'other', 'unspecified')"
_COURSE_YEARS = "course_year BETWEEN 1 AND 5"

# Every table in creation order, each with its indexes (their columns) in creation order.
_INDEXES: dict[str, tuple[tuple[str, ...], ...]] = {
    "app_user": (),
    "auth_revoked_token": (("expires_at",),),
    "catalog_item": (("parent_id",), ("type", "is_active", "sort_order")),
    "idempotency_record": (("created_at",),),
    "service_token": (("service",),),
    "audit_log": (("actor_user_id",), ("created_at",), ("entity_table", "entity_id")),
    "auth_refresh_token": (("expires_at",), ("family_id",), ("user_id",)),
    "bot1_applicant": (("region_id",), ("updated_at",)),
    "bot2_enrollment": (("campaign", "is_active"),),
    "bot2_roster": (("program_id", "course_year"), ("roster_campaign", "is_active"), ("updated_at", "id")),
    "catalog_relation": (("to_item_id",),),
    "bot1_admissions_2026": (
        ("applicant_id",),
        ("direction_id",),
        ("status",),
        ("submitted_at",),
        ("track_id",),
        ("updated_at", "id"),
    ),
    "bot1_campus_tour": (("applicant_id",), ("preferred_date",), ("status",), ("submitted_at",), ("updated_at", "id")),
    "bot1_foundation": (("applicant_id",), ("status",), ("submitted_at",), ("updated_at", "id")),
    "bot1_polito_academy": (("applicant_id",), ("status",), ("subject_id",), ("submitted_at",), ("updated_at", "id")),
    "bot2_student": (("region_id",), ("roster_id",), ("updated_at", "id")),
    "bot2_survey_response": (
        ("program_id",),
        ("roster_id",),
        ("submitted_at",),
        ("survey_campaign", "student_id", "submitted_at"),
        ("updated_at", "id"),
    ),
}


def _index_name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def _create_table(
    table: str,
    *columns: sa.Column,
    checks: Sequence[tuple[str, str]] = (),
    foreign_keys: Sequence[tuple[str, str, str]] = (),
    unique: Sequence[tuple[str, ...]] = (),
) -> None:
    """One table: its columns, then the columns and primary key every table has; `checks` are (name, condition),
    `foreign_keys` (column, referred table, ondelete); then its indexes from `_INDEXES`."""
    op.create_table(
        table,
        *columns,
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        *(sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}")) for name, condition in checks),
        *(
            sa.ForeignKeyConstraint(
                [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
            )
            for column, target, ondelete in foreign_keys
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        *(sa.UniqueConstraint(*keys, name=op.f(f"uq_{table}_{'_'.join(keys)}")) for keys in unique),
    )
    if not _INDEXES[table]:
        return
    with op.batch_alter_table(table, schema=None) as batch_op:
        for index in _INDEXES[table]:
            batch_op.create_index(batch_op.f(_index_name(table, index)), list(index), unique=False)


def _create_application_table(table: str, *columns: sa.Column, references: Sequence[str] = ()) -> None:
    """A bot1 application table: its applicant, its own columns, the status workflow and its answers; `references`
    are its catalog item columns."""
    _create_table(
        table,
        sa.Column("applicant_id", sa.Uuid(), nullable=False),
        *columns,
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("answers", JsonB, nullable=False),
        sa.Column("submitted_at", DateTimeUTC(timezone=True), nullable=True),
        checks=[("submitted_at_rule", "(status = 'new') = (submitted_at IS NULL)"), ("status", _STATUSES)],
        foreign_keys=[
            ("applicant_id", "bot1_applicant", "CASCADE"),
            *((column, "catalog_item", "RESTRICT") for column in references),
        ],
    )


def upgrade() -> None:
    _create_table(
        "app_user",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("first_name", sa.String(length=150), nullable=False),
        sa.Column("last_name", sa.String(length=150), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_login_at", DateTimeUTC(timezone=True), nullable=True),
        checks=[("role", "role IN ('admin', 'viewer')")],
        unique=[("email",)],
    )
    _create_table(
        "auth_revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("token_type", sa.String(length=16), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        checks=[("token_type", "token_type IN ('access', 'refresh')")],
        unique=[("jti",)],
    )
    _create_table(
        "catalog_item",
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("name_uz", sa.String(length=255), nullable=False),
        sa.Column("name_ru", sa.String(length=255), nullable=False),
        sa.Column("name_en", sa.String(length=255), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("metadata", JsonB, nullable=False),
        checks=[
            ("code_not_blank", "code <> ''"),
            ("type", "type IN ('program', 'direction', 'subject', 'track', 'region', 'other')"),
        ],
        foreign_keys=[("parent_id", "catalog_item", "SET NULL")],
        unique=[("type", "code")],
    )
    _create_table(
        "idempotency_record",
        sa.Column("service", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.SmallInteger(), nullable=False),
        sa.Column("response_body", JsonB, nullable=False),
        sa.Column("entity_table", sa.String(length=255), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        checks=[("state", "state IN ('in_flight', 'done')")],
        unique=[("service", "key")],
    )
    _create_table(
        "service_token",
        sa.Column("service", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("last_used_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_at", DateTimeUTC(timezone=True), nullable=True),
        checks=[("service", "service IN ('bot1', 'bot2')")],
        unique=[("token_hash",)],
    )
    _create_table(
        "audit_log",
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_service", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("entity_table", sa.String(length=255), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column("before_data", JsonB, nullable=False),
        sa.Column("after_data", JsonB, nullable=False),
        sa.Column("meta", JsonB, nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        checks=[
            ("action", "action IN ('create', 'update', 'delete', 'login', 'logout', 'other')"),
            ("actor_type", "actor_type IN ('user', 'service', 'system')"),
        ],
        foreign_keys=[("actor_user_id", "app_user", "SET NULL")],
    )
    _create_table(
        "auth_refresh_token",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("used_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_at", DateTimeUTC(timezone=True), nullable=True),
        foreign_keys=[("user_id", "app_user", "CASCADE")],
    )
    _create_table(
        "bot1_applicant",
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("first_name", sa.String(length=150), nullable=False),
        sa.Column("last_name", sa.String(length=150), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("gender", sa.String(length=20), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("region_id", sa.Uuid(), nullable=True),
        checks=[("gender", _GENDERS)],
        foreign_keys=[("region_id", "catalog_item", "SET NULL")],
        unique=[("telegram_user_id",)],
    )
    _create_table(
        "bot2_enrollment",
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("course_year", sa.SmallInteger(), nullable=False),
        sa.Column("student_count", sa.Integer(), nullable=False),
        sa.Column("academic_year", sa.String(length=20), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        checks=[("course_year", _COURSE_YEARS), ("student_count", "student_count >= 0")],
        foreign_keys=[("program_id", "catalog_item", "RESTRICT")],
        unique=[("program_id", "course_year", "academic_year", "campaign")],
    )
    _create_table(
        "bot2_roster",
        sa.Column("student_external_id", sa.String(length=100), nullable=False),
        sa.Column("roster_campaign", sa.String(length=64), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("course_year", sa.SmallInteger(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("first_name", sa.String(length=150), nullable=False),
        sa.Column("last_name", sa.String(length=150), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("metadata", JsonB, nullable=False),
        checks=[("course_year", _COURSE_YEARS)],
        foreign_keys=[("program_id", "catalog_item", "RESTRICT")],
        unique=[("student_external_id",)],
    )
    _create_table(
        "catalog_relation",
        sa.Column("from_item_id", sa.Uuid(), nullable=False),
        sa.Column("to_item_id", sa.Uuid(), nullable=False),
        sa.Column("relation_type", sa.String(length=100), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        checks=[
            (
                "relation_type",
                "relation_type IN ('program_direction', 'program_track', 'subject_prereq', 'custom')",
            ),
            ("not_self", "from_item_id <> to_item_id"),
        ],
        foreign_keys=[("from_item_id", "catalog_item", "CASCADE"), ("to_item_id", "catalog_item", "CASCADE")],
        unique=[("from_item_id", "to_item_id", "relation_type")],
    )
    _create_application_table(
        "bot1_admissions_2026",
        sa.Column("direction_id", sa.Uuid(), nullable=False),
        sa.Column("track_id", sa.Uuid(), nullable=True),
        references=["direction_id", "track_id"],
    )
    _create_application_table("bot1_campus_tour", sa.Column("preferred_date", sa.Date(), nullable=True))
    _create_application_table("bot1_foundation")
    _create_application_table(
        "bot1_polito_academy", sa.Column("subject_id", sa.Uuid(), nullable=True), references=["subject_id"]
    )
    _create_table(
        "bot2_student",
        sa.Column("student_external_id", sa.String(length=100), nullable=False),
        sa.Column("roster_id", sa.Uuid(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("first_name", sa.String(length=150), nullable=False),
        sa.Column("last_name", sa.String(length=150), nullable=False),
        sa.Column("gender", sa.String(length=20), nullable=False),
        sa.Column("phone", sa.String(length=50), nullable=False),
        sa.Column("region_id", sa.Uuid(), nullable=True),
        checks=[("gender", _GENDERS)],
        foreign_keys=[("region_id", "catalog_item", "SET NULL"), ("roster_id", "bot2_roster", "RESTRICT")],
        unique=[("student_external_id",), ("telegram_user_id",)],
    )
    _create_table(
        "bot2_survey_response",
        sa.Column("student_id", sa.Uuid(), nullable=False),
        sa.Column("roster_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("course_year", sa.SmallInteger(), nullable=False),
        sa.Column("survey_campaign", sa.String(length=64), nullable=False),
        sa.Column("employment_status", sa.String(length=100), nullable=False),
        sa.Column("employment_company", sa.String(length=255), nullable=False),
        sa.Column("employment_role", sa.String(length=255), nullable=False),
        sa.Column("suggestions", sa.Text(), nullable=False),
        sa.Column("consents", JsonB, nullable=False),
        sa.Column("answers", JsonB, nullable=False),
        sa.Column("submitted_at", DateTimeUTC(timezone=True), nullable=False),
        checks=[("course_year", _COURSE_YEARS)],
        foreign_keys=[
            ("program_id", "catalog_item", "RESTRICT"),
            ("roster_id", "bot2_roster", "RESTRICT"),
            ("student_id", "bot2_student", "RESTRICT"),
        ],
    )


def downgrade() -> None:
    for table, indexes in reversed(_INDEXES.items()):
        if indexes:
            with op.batch_alter_table(table, schema=None) as batch_op:
                for index in reversed(indexes):
                    batch_op.drop_index(batch_op.f(_index_name(table, index)))
        op.drop_table(table)
