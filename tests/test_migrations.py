"""Alembic `upgrade head` builds the schema on SQLite and Postgres, and it is exactly what the models declare."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ingest.core import migrate
from ingest.core.db import make_sync_engine
from ingest.core.schema import metadata
from tests.conftest import create_pg_database, drop_pg_database, pg_base_url, unique_db_name


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    if not pg_base_url():
        pytest.skip("CRM_TEST_DATABASE_URL not set")
    name = unique_db_name("migrations")
    yield create_pg_database(name)
    drop_pg_database(name)


def test_upgrade_head_matches_models(empty_db: str) -> None:
    migrate.upgrade(empty_db)
    assert migrate.current_revision(empty_db) == migrate.head_revision()
    engine = make_sync_engine(empty_db)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"
    assert {t.name for t in metadata.sorted_tables} <= tables


def test_upgrade_is_repeatable(empty_db: str) -> None:
    migrate.upgrade(empty_db)
    migrate.upgrade(empty_db)
    assert migrate.current_revision(empty_db) == migrate.head_revision()


@pytest.mark.parametrize("url", ["sqlite:///offline.sqlite3", "postgresql+psycopg://offline/none"])
def test_upgrade_head_renders_as_sql_on_both_dialects(url: str) -> None:
    """`alembic upgrade head --sql` (a script for a DBA) needs no database: every migration renders offline."""
    import io

    from alembic import command

    cfg = migrate.alembic_config(url)
    cfg.output_buffer = io.StringIO()
    command.upgrade(cfg, "head", sql=True)
    script = cfg.output_buffer.getvalue()
    for table in ("bot1_admissions_2026", "bot1_campus_tour", "bot1_foundation", "bot1_polito_academy"):
        assert f"ALTER TABLE {table} ADD COLUMN application_region_id" in script
        assert f"ix_{table}_application_region_id" in script
    assert script.count("REFERENCES catalog_item (id) ON DELETE SET NULL") >= 4
