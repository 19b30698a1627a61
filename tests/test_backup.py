"""`crm backup` / `crm restore`: a backup taken while the real app takes writes restores into an empty data dir with
the same rows, the same snapshot and the same secret key, and the restored app answers /readyz with that snapshot."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from bots.outbox import Outbox
from crm.app import create_app
from crm.backup import BackupError, backup, restore, table_rows
from crm.cli import cli
from ingest.core.settings import Settings
from reports.schedule.runs import RunStore
from tests.ingest_support import API, applicant, catalog, live, tokens  # noqa: F401
from warehouse.build import build


async def test_backup_under_write_load_restores_the_same_rows_and_snapshot(
    live,  # noqa: F811
    tokens,  # noqa: F811
    settings: Settings,
    tmp_path: Path,
) -> None:
    published = await asyncio.to_thread(build, settings)
    assert published.status == "published", published.error
    outbox = await Outbox.open(settings.data_dir / "bots" / "bot1" / "outbox.sqlite3")
    await outbox.put("applicant", {"telegram_user_id": 7}, chat_id=7, user_id=7, lang="uz")
    await outbox.close()
    run = RunStore(settings).start("weekly", "schedule", None, None)

    written, first, stop = 0, asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        nonlocal written
        while not stop.is_set():
            r = await live.post(
                f"{API}/bot1/applicants/upsert", json=applicant(tg=10_000 + written), headers=tokens.h1()
            )
            assert r.status_code == 201, r.text
            written += 1
            first.set()

    task = asyncio.create_task(writer())
    await first.wait()
    dest = tmp_path / "backup"
    try:
        outcome = await asyncio.to_thread(backup, settings, dest)
    finally:
        stop.set()
        await task
    assert outcome.snapshot_id == published.snapshot_id
    assert (dest / "data" / "bots" / "bot1" / "outbox.sqlite3").is_file()

    restored_url = f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'crm.sqlite3'}"
    target = msgspec.structs.replace(
        settings,
        data_dir=tmp_path / "restored",
        database_url=restored_url if settings.is_sqlite else settings.database_url,
    )
    restored = await asyncio.to_thread(restore, target, dest)
    if settings.is_sqlite:
        assert outcome.database == "sqlite" and outcome.table_rows
        assert 1 <= outcome.table_rows["bot1_applicant"] <= written
        assert table_rows(tmp_path / "restored" / "crm.sqlite3") == outcome.table_rows == restored.table_rows
        check = sqlite3.connect(tmp_path / "restored" / "crm.sqlite3").execute("PRAGMA integrity_check").fetchone()
        assert check == ("ok",)
    else:
        assert outcome.database == "postgres" and outcome.table_rows == {}
    assert (target.data_dir / "secret_key").exists() == (settings.data_dir / "secret_key").exists()
    queued = await Outbox.open(target.data_dir / "bots" / "bot1" / "outbox.sqlite3")
    assert len(await queued.pending()) == 1
    await queued.close()

    assert RunStore(target).get(run.id) is not None
    async with AsyncTestClient(app=create_app(target)) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["snapshot"]["id"] == published.snapshot_id


async def test_restore_refuses_a_data_dir_that_is_not_empty(settings: Settings, tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    await asyncio.to_thread(backup, settings, dest)
    with pytest.raises(BackupError, match="not empty"):
        backup(settings, dest)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "something").write_text("x")
    with pytest.raises(BackupError, match="--force"):
        restore(settings, dest)
    restore(settings, dest, force=True)
    assert not (settings.data_dir / "something").exists()


def test_backup_and_restore_commands(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRM_DATABASE_URL", db_url)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    done = runner.invoke(cli, ["backup", str(tmp_path / "b")], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "backed up" in done.output
    if not db_url.startswith("sqlite"):
        assert "pg_dump" in done.output
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "x").write_text("x")
    refused = runner.invoke(cli, ["restore", str(tmp_path / "b")])
    assert refused.exit_code == 1 and "--force" in refused.output
    forced = runner.invoke(cli, ["restore", "--force", str(tmp_path / "b")], catch_exceptions=False)
    assert forced.exit_code == 0 and "restored" in forced.output
