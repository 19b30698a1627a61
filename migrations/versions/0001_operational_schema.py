"""operational schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 18:45:42.931014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC, JsonB
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_user",
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("first_name", sa.String(length=150), nullable=False),
        sa.Column("last_name", sa.String(length=150), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_login_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'viewer')", name=op.f("ck_app_user_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_user")),
        sa.UniqueConstraint("email", name=op.f("uq_app_user_email")),
    )
    op.create_table(
        "auth_revoked_token",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("token_type", sa.String(length=16), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("token_type IN ('access', 'refresh')", name=op.f("ck_auth_revoked_token_token_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_revoked_token")),
        sa.UniqueConstraint("jti", name=op.f("uq_auth_revoked_token_jti")),
    )
    with op.batch_alter_table("auth_revoked_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_revoked_token_expires_at"), ["expires_at"], unique=False)

    op.create_table(
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
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("code <> ''", name=op.f("ck_catalog_item_code_not_blank")),
        sa.CheckConstraint(
            "type IN ('program', 'direction', 'subject', 'track', 'region', 'other')",
            name=op.f("ck_catalog_item_type"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["catalog_item.id"],
            name=op.f("fk_catalog_item_parent_id_catalog_item"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_item")),
        sa.UniqueConstraint("type", "code", name=op.f("uq_catalog_item_type_code")),
    )
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_item_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_catalog_item_type_is_active_sort_order"),
            ["type", "is_active", "sort_order"],
            unique=False,
        )

    op.create_table(
        "idempotency_record",
        sa.Column("service", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.SmallInteger(), nullable=False),
        sa.Column("response_body", JsonB, nullable=False),
        sa.Column("entity_table", sa.String(length=255), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('in_flight', 'done')", name=op.f("ck_idempotency_record_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_record")),
        sa.UniqueConstraint("service", "key", name=op.f("uq_idempotency_record_service_key")),
    )
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_record_created_at"), ["created_at"], unique=False)

    op.create_table(
        "service_token",
        sa.Column("service", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("last_used_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("service IN ('bot1', 'bot2')", name=op.f("ck_service_token_service")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_service_token_token_hash")),
    )
    with op.batch_alter_table("service_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_token_service"), ["service"], unique=False)

    op.create_table(
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
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('create', 'update', 'delete', 'login', 'logout', 'other')",
            name=op.f("ck_audit_log_action"),
        ),
        sa.CheckConstraint("actor_type IN ('user', 'service', 'system')", name=op.f("ck_audit_log_actor_type")),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["app_user.id"],
            name=op.f("fk_audit_log_actor_user_id_app_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor_user_id"), ["actor_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_log_entity_table_entity_id"), ["entity_table", "entity_id"], unique=False
        )

    op.create_table(
        "auth_refresh_token",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("used_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
            name=op.f("fk_auth_refresh_token_user_id_app_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_refresh_token")),
    )
    with op.batch_alter_table("auth_refresh_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_refresh_token_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_refresh_token_family_id"), ["family_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_auth_refresh_token_user_id"), ["user_id"], unique=False)

    op.create_table(
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
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "gender IN ('male', 'female', 'other', 'unspecified')", name=op.f("ck_bot1_applicant_gender")
        ),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["catalog_item.id"],
            name=op.f("fk_bot1_applicant_region_id_catalog_item"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot1_applicant")),
        sa.UniqueConstraint("telegram_user_id", name=op.f("uq_bot1_applicant_telegram_user_id")),
    )
    with op.batch_alter_table("bot1_applicant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot1_applicant_region_id"), ["region_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_applicant_updated_at"), ["updated_at"], unique=False)

    op.create_table(
        "bot2_enrollment",
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("course_year", sa.SmallInteger(), nullable=False),
        sa.Column("student_count", sa.Integer(), nullable=False),
        sa.Column("academic_year", sa.String(length=20), nullable=False),
        sa.Column("campaign", sa.String(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("course_year BETWEEN 1 AND 5", name=op.f("ck_bot2_enrollment_course_year")),
        sa.CheckConstraint("student_count >= 0", name=op.f("ck_bot2_enrollment_student_count")),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["catalog_item.id"],
            name=op.f("fk_bot2_enrollment_program_id_catalog_item"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot2_enrollment")),
        sa.UniqueConstraint(
            "program_id",
            "course_year",
            "academic_year",
            "campaign",
            name=op.f("uq_bot2_enrollment_program_id_course_year_academic_year_campaign"),
        ),
    )
    with op.batch_alter_table("bot2_enrollment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bot2_enrollment_campaign_is_active"), ["campaign", "is_active"], unique=False
        )

    op.create_table(
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
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("course_year BETWEEN 1 AND 5", name=op.f("ck_bot2_roster_course_year")),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["catalog_item.id"],
            name=op.f("fk_bot2_roster_program_id_catalog_item"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot2_roster")),
        sa.UniqueConstraint("student_external_id", name=op.f("uq_bot2_roster_student_external_id")),
    )
    with op.batch_alter_table("bot2_roster", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bot2_roster_program_id_course_year"), ["program_id", "course_year"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_bot2_roster_roster_campaign_is_active"),
            ["roster_campaign", "is_active"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_bot2_roster_updated_at_id"), ["updated_at", "id"], unique=False)

    op.create_table(
        "catalog_relation",
        sa.Column("from_item_id", sa.Uuid(), nullable=False),
        sa.Column("to_item_id", sa.Uuid(), nullable=False),
        sa.Column("relation_type", sa.String(length=100), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "relation_type IN ('program_direction', 'program_track', 'subject_prereq', 'custom')",
            name=op.f("ck_catalog_relation_relation_type"),
        ),
        sa.CheckConstraint("from_item_id <> to_item_id", name=op.f("ck_catalog_relation_not_self")),
        sa.ForeignKeyConstraint(
            ["from_item_id"],
            ["catalog_item.id"],
            name=op.f("fk_catalog_relation_from_item_id_catalog_item"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["to_item_id"],
            ["catalog_item.id"],
            name=op.f("fk_catalog_relation_to_item_id_catalog_item"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_relation")),
        sa.UniqueConstraint(
            "from_item_id",
            "to_item_id",
            "relation_type",
            name=op.f("uq_catalog_relation_from_item_id_to_item_id_relation_type"),
        ),
    )
    with op.batch_alter_table("catalog_relation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_catalog_relation_to_item_id"), ["to_item_id"], unique=False)

    op.create_table(
        "bot1_admissions_2026",
        sa.Column("applicant_id", sa.Uuid(), nullable=False),
        sa.Column("direction_id", sa.Uuid(), nullable=False),
        sa.Column("track_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("answers", JsonB, nullable=False),
        sa.Column("submitted_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'new') = (submitted_at IS NULL)",
            name=op.f("ck_bot1_admissions_2026_submitted_at_rule"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'submitted', 'in_progress', 'approved', 'rejected')",
            name=op.f("ck_bot1_admissions_2026_status"),
        ),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["bot1_applicant.id"],
            name=op.f("fk_bot1_admissions_2026_applicant_id_bot1_applicant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["direction_id"],
            ["catalog_item.id"],
            name=op.f("fk_bot1_admissions_2026_direction_id_catalog_item"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["catalog_item.id"],
            name=op.f("fk_bot1_admissions_2026_track_id_catalog_item"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot1_admissions_2026")),
    )
    with op.batch_alter_table("bot1_admissions_2026", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot1_admissions_2026_applicant_id"), ["applicant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_admissions_2026_direction_id"), ["direction_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_admissions_2026_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_admissions_2026_submitted_at"), ["submitted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_admissions_2026_track_id"), ["track_id"], unique=False)
        batch_op.create_index("ix_bot1_admissions_2026_updated_at_id", ["updated_at", "id"], unique=False)

    op.create_table(
        "bot1_campus_tour",
        sa.Column("applicant_id", sa.Uuid(), nullable=False),
        sa.Column("preferred_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("answers", JsonB, nullable=False),
        sa.Column("submitted_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'new') = (submitted_at IS NULL)", name=op.f("ck_bot1_campus_tour_submitted_at_rule")
        ),
        sa.CheckConstraint(
            "status IN ('new', 'submitted', 'in_progress', 'approved', 'rejected')",
            name=op.f("ck_bot1_campus_tour_status"),
        ),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["bot1_applicant.id"],
            name=op.f("fk_bot1_campus_tour_applicant_id_bot1_applicant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot1_campus_tour")),
    )
    with op.batch_alter_table("bot1_campus_tour", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot1_campus_tour_applicant_id"), ["applicant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_campus_tour_preferred_date"), ["preferred_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_campus_tour_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_campus_tour_submitted_at"), ["submitted_at"], unique=False)
        batch_op.create_index("ix_bot1_campus_tour_updated_at_id", ["updated_at", "id"], unique=False)

    op.create_table(
        "bot1_foundation",
        sa.Column("applicant_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("answers", JsonB, nullable=False),
        sa.Column("submitted_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'new') = (submitted_at IS NULL)", name=op.f("ck_bot1_foundation_submitted_at_rule")
        ),
        sa.CheckConstraint(
            "status IN ('new', 'submitted', 'in_progress', 'approved', 'rejected')",
            name=op.f("ck_bot1_foundation_status"),
        ),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["bot1_applicant.id"],
            name=op.f("fk_bot1_foundation_applicant_id_bot1_applicant"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot1_foundation")),
    )
    with op.batch_alter_table("bot1_foundation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot1_foundation_applicant_id"), ["applicant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_foundation_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_foundation_submitted_at"), ["submitted_at"], unique=False)
        batch_op.create_index("ix_bot1_foundation_updated_at_id", ["updated_at", "id"], unique=False)

    op.create_table(
        "bot1_polito_academy",
        sa.Column("applicant_id", sa.Uuid(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("answers", JsonB, nullable=False),
        sa.Column("submitted_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'new') = (submitted_at IS NULL)", name=op.f("ck_bot1_polito_academy_submitted_at_rule")
        ),
        sa.CheckConstraint(
            "status IN ('new', 'submitted', 'in_progress', 'approved', 'rejected')",
            name=op.f("ck_bot1_polito_academy_status"),
        ),
        sa.ForeignKeyConstraint(
            ["applicant_id"],
            ["bot1_applicant.id"],
            name=op.f("fk_bot1_polito_academy_applicant_id_bot1_applicant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["catalog_item.id"],
            name=op.f("fk_bot1_polito_academy_subject_id_catalog_item"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot1_polito_academy")),
    )
    with op.batch_alter_table("bot1_polito_academy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot1_polito_academy_applicant_id"), ["applicant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_polito_academy_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_polito_academy_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot1_polito_academy_submitted_at"), ["submitted_at"], unique=False)
        batch_op.create_index("ix_bot1_polito_academy_updated_at_id", ["updated_at", "id"], unique=False)

    op.create_table(
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
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("gender IN ('male', 'female', 'other', 'unspecified')", name=op.f("ck_bot2_student_gender")),
        sa.ForeignKeyConstraint(
            ["region_id"],
            ["catalog_item.id"],
            name=op.f("fk_bot2_student_region_id_catalog_item"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["roster_id"],
            ["bot2_roster.id"],
            name=op.f("fk_bot2_student_roster_id_bot2_roster"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot2_student")),
        sa.UniqueConstraint("student_external_id", name=op.f("uq_bot2_student_student_external_id")),
        sa.UniqueConstraint("telegram_user_id", name=op.f("uq_bot2_student_telegram_user_id")),
    )
    with op.batch_alter_table("bot2_student", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot2_student_region_id"), ["region_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot2_student_roster_id"), ["roster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot2_student_updated_at_id"), ["updated_at", "id"], unique=False)

    op.create_table(
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
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.CheckConstraint("course_year BETWEEN 1 AND 5", name=op.f("ck_bot2_survey_response_course_year")),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["catalog_item.id"],
            name=op.f("fk_bot2_survey_response_program_id_catalog_item"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["roster_id"],
            ["bot2_roster.id"],
            name=op.f("fk_bot2_survey_response_roster_id_bot2_roster"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["bot2_student.id"],
            name=op.f("fk_bot2_survey_response_student_id_bot2_student"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot2_survey_response")),
    )
    with op.batch_alter_table("bot2_survey_response", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot2_survey_response_program_id"), ["program_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot2_survey_response_roster_id"), ["roster_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_bot2_survey_response_submitted_at"), ["submitted_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_bot2_survey_response_survey_campaign_student_id_submitted_at"),
            ["survey_campaign", "student_id", "submitted_at"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_bot2_survey_response_updated_at_id"), ["updated_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bot2_survey_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot2_survey_response_updated_at_id"))
        batch_op.drop_index(batch_op.f("ix_bot2_survey_response_survey_campaign_student_id_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_bot2_survey_response_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_bot2_survey_response_roster_id"))
        batch_op.drop_index(batch_op.f("ix_bot2_survey_response_program_id"))

    op.drop_table("bot2_survey_response")
    with op.batch_alter_table("bot2_student", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot2_student_updated_at_id"))
        batch_op.drop_index(batch_op.f("ix_bot2_student_roster_id"))
        batch_op.drop_index(batch_op.f("ix_bot2_student_region_id"))

    op.drop_table("bot2_student")
    with op.batch_alter_table("bot1_polito_academy", schema=None) as batch_op:
        batch_op.drop_index("ix_bot1_polito_academy_updated_at_id")
        batch_op.drop_index(batch_op.f("ix_bot1_polito_academy_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_bot1_polito_academy_subject_id"))
        batch_op.drop_index(batch_op.f("ix_bot1_polito_academy_status"))
        batch_op.drop_index(batch_op.f("ix_bot1_polito_academy_applicant_id"))

    op.drop_table("bot1_polito_academy")
    with op.batch_alter_table("bot1_foundation", schema=None) as batch_op:
        batch_op.drop_index("ix_bot1_foundation_updated_at_id")
        batch_op.drop_index(batch_op.f("ix_bot1_foundation_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_bot1_foundation_status"))
        batch_op.drop_index(batch_op.f("ix_bot1_foundation_applicant_id"))

    op.drop_table("bot1_foundation")
    with op.batch_alter_table("bot1_campus_tour", schema=None) as batch_op:
        batch_op.drop_index("ix_bot1_campus_tour_updated_at_id")
        batch_op.drop_index(batch_op.f("ix_bot1_campus_tour_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_bot1_campus_tour_status"))
        batch_op.drop_index(batch_op.f("ix_bot1_campus_tour_preferred_date"))
        batch_op.drop_index(batch_op.f("ix_bot1_campus_tour_applicant_id"))

    op.drop_table("bot1_campus_tour")
    with op.batch_alter_table("bot1_admissions_2026", schema=None) as batch_op:
        batch_op.drop_index("ix_bot1_admissions_2026_updated_at_id")
        batch_op.drop_index(batch_op.f("ix_bot1_admissions_2026_track_id"))
        batch_op.drop_index(batch_op.f("ix_bot1_admissions_2026_submitted_at"))
        batch_op.drop_index(batch_op.f("ix_bot1_admissions_2026_status"))
        batch_op.drop_index(batch_op.f("ix_bot1_admissions_2026_direction_id"))
        batch_op.drop_index(batch_op.f("ix_bot1_admissions_2026_applicant_id"))

    op.drop_table("bot1_admissions_2026")
    with op.batch_alter_table("catalog_relation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_relation_to_item_id"))

    op.drop_table("catalog_relation")
    with op.batch_alter_table("bot2_roster", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot2_roster_updated_at_id"))
        batch_op.drop_index(batch_op.f("ix_bot2_roster_roster_campaign_is_active"))
        batch_op.drop_index(batch_op.f("ix_bot2_roster_program_id_course_year"))

    op.drop_table("bot2_roster")
    with op.batch_alter_table("bot2_enrollment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot2_enrollment_campaign_is_active"))

    op.drop_table("bot2_enrollment")
    with op.batch_alter_table("bot1_applicant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot1_applicant_updated_at"))
        batch_op.drop_index(batch_op.f("ix_bot1_applicant_region_id"))

    op.drop_table("bot1_applicant")
    with op.batch_alter_table("auth_refresh_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_refresh_token_user_id"))
        batch_op.drop_index(batch_op.f("ix_auth_refresh_token_family_id"))
        batch_op.drop_index(batch_op.f("ix_auth_refresh_token_expires_at"))

    op.drop_table("auth_refresh_token")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_entity_table_entity_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_created_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_user_id"))

    op.drop_table("audit_log")
    with op.batch_alter_table("service_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_token_service"))

    op.drop_table("service_token")
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_record_created_at"))

    op.drop_table("idempotency_record")
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_catalog_item_type_is_active_sort_order"))
        batch_op.drop_index(batch_op.f("ix_catalog_item_parent_id"))

    op.drop_table("catalog_item")
    with op.batch_alter_table("auth_revoked_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_revoked_token_expires_at"))

    op.drop_table("auth_revoked_token")
    op.drop_table("app_user")
