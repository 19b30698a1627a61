"""The `crm` command line: migrations, catalog seed, users, tokens and the production check, run in-process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from crm.cli import cli


@pytest.fixture
def crm(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRM_DATABASE_URL", db_url)
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def run(*args: str, expect: int = 0) -> str:
        result = runner.invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == expect, result.output
        return result.output

    return run


def test_db_upgrade_and_current(crm) -> None:  # type: ignore[no-untyped-def]
    assert "database at migration" in crm("db", "upgrade")
    assert "up to date" in crm("db", "current")


def test_seed_catalog_twice(crm) -> None:  # type: ignore[no-untyped-def]
    first = crm("seed", "catalog")
    assert "8 directions, 15 regions, 2 tracks, 8 subjects, 13 programs" in first
    assert crm("seed", "catalog") == first


def test_users_create_and_duplicate(crm) -> None:  # type: ignore[no-untyped-def]
    assert "created admin boss@example.org" in crm(
        "users", "create", "--email", "Boss@Example.org", "--role", "admin", "--password", "long-enough-pw"
    )
    duplicate = crm(
        "users", "create", "--email", "boss@example.org", "--role", "viewer", "--password", "x" * 12, expect=1
    )
    assert "already exists" in duplicate
    assert "at least 8" in crm(
        "users", "create", "--email", "v@example.org", "--role", "viewer", "--password", "short", expect=1
    )


def test_tokens_issue_list_revoke(crm) -> None:  # type: ignore[no-untyped-def]
    issued = crm("tokens", "issue", "bot2", "--name", "laptop", "--expires", "30")
    token_id = re.search(r"token ([0-9a-f-]{36})", issued).group(1)  # type: ignore[union-attr]
    raw = issued.strip().splitlines()[-1]
    assert raw.startswith("bot2_") and len(raw) > 40
    listing = crm("tokens", "list")
    assert "1 token(s)" in listing and raw not in listing
    assert f"revoked {token_id}" in crm("tokens", "revoke", token_id)
    assert "no active token" in crm("tokens", "revoke", token_id, expect=1)


def test_check_passes_in_dev_and_names_the_missing_secret_in_production(crm, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    crm("db", "upgrade")
    assert "configuration OK" in crm("check")
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.setenv("SERVICE_TOKEN_BOT1_HASH", "not-a-digest")
    out = crm("check", expect=1)
    assert "CRM_SECRET_KEY is not set" in out
    assert "SERVICE_TOKEN_BOT1_HASH is not a sha256 hex digest" in out


def test_check_reports_an_unmigrated_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CRM_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}")
    monkeypatch.setenv("CRM_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert "crm db upgrade" in " ".join(result.output.split())  # the console wraps long lines
