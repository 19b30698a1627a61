"""Alembic environment: one set of migrations for SQLite and Postgres, run through the blocking driver."""

from __future__ import annotations

from alembic import context

from ingest.core.db import make_sync_engine
from ingest.core.schema import metadata
from ingest.core.settings import get_settings

config = context.config


def _url() -> str:
    return (
        config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url") or get_settings().database_url
    )


def run_migrations_offline() -> None:
    context.configure(url=str(_url()), target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_sync_engine(_url())
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    # Batch mode lets later ALTERs work on SQLite, which rebuilds tables instead of altering them.
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
