"""survey language: the language a bot2 survey was answered in

Revision ID: 0002_survey_language
Revises: 0001
Create Date: 2026-12-08 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_survey_language"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Responses stored before this column existed were answered in a language nobody recorded: "".
    with op.batch_alter_table("bot2_survey_response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("bot2_survey_response", schema=None) as batch_op:
        batch_op.drop_column("language")
