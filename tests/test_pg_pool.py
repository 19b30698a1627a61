"""The ingestion hot path's plain psycopg pool (Postgres only): autocommit, raw `$n` parameters, errors raised as
SQLAlchemy's classes so the app answers them like any other database error."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from ingest.core import pg_pool
from ingest.core.db import Database


@pytest.fixture
def pg_db_url(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("the plain pool serves Postgres only")
    return db_url


async def test_statements_autocommit_with_raw_parameters(pg_db_url: str) -> None:
    db = Database(pg_db_url)
    try:
        async with pg_pool.connection(db.engine) as conn:
            await conn.execute("CREATE TEMP TABLE IF NOT EXISTS t (k int PRIMARY KEY)")
            await conn.execute("INSERT INTO t VALUES ($1), ($2)", (1, 2))
            row = await (await conn.execute("SELECT count(*) AS n, $1::text AS echo FROM t", ("x",))).fetchone()
            assert row is not None and (row.n, row.echo) == (2, "x")
            assert conn.info.transaction_status.name == "IDLE"  # nothing left open: each statement committed
    finally:
        await db.dispose()


async def test_a_constraint_violation_is_sqlalchemys_integrity_error(pg_db_url: str) -> None:
    db = Database(pg_db_url)
    try:
        with pytest.raises(IntegrityError):
            async with pg_pool.connection(db.engine) as conn:
                await conn.execute("CREATE TEMP TABLE IF NOT EXISTS u (k int PRIMARY KEY)")
                await conn.execute("INSERT INTO u VALUES ($1), ($1)", (7,))
    finally:
        await db.dispose()


async def test_a_database_that_is_down_is_an_operational_error_within_the_timeout(
    pg_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pg_pool, "CHECKOUT_TIMEOUT_S", 0.5)
    db = Database("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    try:
        with pytest.raises(OperationalError):
            async with pg_pool.connection(db.engine):
                pass
    finally:
        await db.dispose()
