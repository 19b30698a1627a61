"""catalog item description

The reference dashboard (176e7eb) creates and edits catalog items with a free-text `description` (SPEC §5: its
writes are accepted and what carries meaning is stored). Existing rows get an empty description.

Revision ID: 0003_catalog_description
Revises: 0002_survey_language
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_catalog_description"
down_revision: str | None = "0002_survey_language"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("catalog_item", schema=None) as batch_op:
        batch_op.drop_column("description")
