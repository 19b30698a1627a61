"""student ids unique in any case

Revision ID: 0004_student_id_ci
Revises: 0003_catalog_description
Create Date: 2026-12-07

Issue 15: a student id matches in any case (`se54321` is roster row `SE54321`), so each table that holds one per
row is unique by lower(student_external_id). Rows that differ only in case, which the old exact constraint allowed
(a bot2 auto-enrolment of `se54321` beside roster row `SE54321`), are merged first: the kept roster row is the
imported one (not campaign `bot2_auto`), else the oldest; the kept student the oldest, taking the other's Telegram
id when it has none; students and survey responses are re-pointed, and students take their roster row's spelling.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

revision: str = "0004_student_id_ci"
down_revision: str | None = "0003_catalog_description"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = "lower(student_external_id)"


def _duplicates(conn: sa.Connection, table: str, columns: str, order: str) -> list[list[sa.Row]]:
    """Groups of rows sharing one id in another case, each in keeping order (the first is kept)."""
    rows = conn.execute(
        sa.text(
            f"SELECT {columns}, {_KEY} AS k FROM {table} WHERE {_KEY} IN "
            f"(SELECT {_KEY} FROM {table} GROUP BY {_KEY} HAVING count(*) > 1) ORDER BY k, {order}"
        )
    ).all()
    groups: dict[str, list[sa.Row]] = {}
    for row in rows:
        groups.setdefault(row.k, []).append(row)
    return list(groups.values())


def _merge(conn: sa.Connection) -> None:
    now = datetime.now(UTC)
    rosters = _duplicates(
        conn,
        "bot2_roster",
        "id",
        "CASE WHEN roster_campaign = 'bot2_auto' THEN 1 ELSE 0 END, created_at, id",
    )
    for keep, *others in rosters:
        for other in others:
            for table in ("bot2_student", "bot2_survey_response"):
                conn.execute(
                    sa.text(f"UPDATE {table} SET roster_id = :keep, updated_at = :now WHERE roster_id = :other"),
                    {"keep": keep.id, "other": other.id, "now": now},
                )
            conn.execute(sa.text("DELETE FROM bot2_roster WHERE id = :id"), {"id": other.id})
    for keep, *others in _duplicates(conn, "bot2_student", "id, telegram_user_id", "created_at, id"):
        telegram = keep.telegram_user_id
        for other in others:
            conn.execute(
                sa.text("UPDATE bot2_survey_response SET student_id = :keep, updated_at = :now WHERE student_id = :o"),
                {"keep": keep.id, "o": other.id, "now": now},
            )
            conn.execute(sa.text("DELETE FROM bot2_student WHERE id = :id"), {"id": other.id})
            telegram = telegram if telegram is not None else other.telegram_user_id
        conn.execute(
            sa.text("UPDATE bot2_student SET telegram_user_id = :tg, updated_at = :now WHERE id = :id"),
            {"tg": telegram, "id": keep.id, "now": now},
        )
    conn.execute(
        sa.text(
            "UPDATE bot2_student SET student_external_id = (SELECT r.student_external_id FROM bot2_roster r"
            " WHERE r.id = bot2_student.roster_id), updated_at = :now WHERE student_external_id <>"
            " (SELECT r.student_external_id FROM bot2_roster r WHERE r.id = bot2_student.roster_id)"
            f" AND {_KEY} = (SELECT lower(r.student_external_id) FROM bot2_roster r"
            " WHERE r.id = bot2_student.roster_id)"
        ),
        {"now": now},
    )


def upgrade() -> None:
    # `alembic upgrade --sql` cannot read the rows to merge: its script assumes none (the unique index then says so).
    if not context.is_offline_mode():
        _merge(op.get_bind())
    for table in ("bot2_roster", "bot2_student"):
        op.create_index(f"uq_{table}_student_key", table, [sa.text(_KEY)], unique=True)


def downgrade() -> None:
    for table in ("bot2_roster", "bot2_student"):
        op.drop_index(f"uq_{table}_student_key", table_name=table)
