"""application region: the region each application is made from

Revision ID: 0005_application_region
Revises: 0004_student_id_ci
Create Date: 2026-12-09

Issue 15: a person may apply from elsewhere than their profile says (RS §9 asks the region again on each
application). Each application table gets a nullable `application_region_id` (a region of the catalog, SET NULL
like the applicant's region). Existing rows get NULL: they are counted by their applicant's region, as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0005_application_region"
down_revision: str | None = "0004_student_id_ci"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("bot1_admissions_2026", "bot1_campus_tour", "bot1_foundation", "bot1_polito_academy")
_COLUMN = "application_region_id"


def upgrade() -> None:
    sqlite = op.get_context().dialect.name == "sqlite"
    for table in _TABLES:
        name = f"fk_{table}_{_COLUMN}_catalog_item"
        if not sqlite:
            op.add_column(table, sa.Column(_COLUMN, sa.Uuid(), nullable=True))
            op.create_foreign_key(name, table, "catalog_item", [_COLUMN], ["id"], ondelete="SET NULL")
        elif context.is_offline_mode():
            # `alembic upgrade --sql` cannot rebuild a table it cannot read: SQLite takes the reference inline
            # (the same rule, without the constraint's name).
            fk = sa.ForeignKey("catalog_item.id", name=name, ondelete="SET NULL")
            op.add_column(table, sa.Column(_COLUMN, sa.Uuid(), fk, nullable=True), inline_references=True)
        else:
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.add_column(sa.Column(_COLUMN, sa.Uuid(), nullable=True))
                batch_op.create_foreign_key(name, "catalog_item", [_COLUMN], ["id"], ondelete="SET NULL")
        op.create_index(f"ix_{table}_{_COLUMN}", table, [_COLUMN], unique=False)


def downgrade() -> None:
    for table in _TABLES:
        op.drop_index(f"ix_{table}_{_COLUMN}", table_name=table)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f"fk_{table}_{_COLUMN}_catalog_item", type_="foreignkey")
            batch_op.drop_column(_COLUMN)
