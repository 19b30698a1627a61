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
    assert "crm db upgrade" in " ".join(result.output.split())  # rich wraps at the terminal width


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("a" * 32, "CRM_SECRET_KEY uses only 1 distinct characters"),
        ("ab" * 16, "CRM_SECRET_KEY uses only 2 distinct characters"),
        ("0123456789abcdef" * 2, "CRM_SECRET_KEY is one short pattern repeated"),
        ("please-change-me-before-going-live", "CRM_SECRET_KEY looks like a placeholder"),
        ("short", "CRM_SECRET_KEY is shorter than 32 characters"),
    ],
)
def test_check_refuses_a_weak_secret_key(crm, monkeypatch: pytest.MonkeyPatch, key: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    crm("db", "upgrade")
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.setenv("CRM_SECRET_KEY", key)
    assert problem in crm("check", expect=1)


def test_check_accepts_random_keys_and_https_origins(crm, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import secrets

    from crm.checks import cors_findings, secret_key_weakness

    for _ in range(200):
        assert secret_key_weakness(secrets.token_hex(16)) is None
        assert secret_key_weakness(secrets.token_urlsafe(48)) is None
    assert cors_findings(("https://crm.example.uz", "https://dash.example.uz/"), production=True) == []
    crm("db", "upgrade")
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.setenv("CRM_SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setenv("CRM_CORS_ORIGINS", "https://crm.example.uz")
    out = crm("check", expect=1 if db_url.startswith("sqlite") else 0)  # production refuses SQLite only
    assert "CRM_SECRET_KEY" not in out and "CORS" not in out


@pytest.mark.parametrize(
    ("origins", "env", "problem"),
    [
        ("null,https://crm.example.uz", "production", "CORS allows the origin `null`"),
        ("null", "dev", "CORS allows the origin `null`"),
        ("*", "production", "CORS allows any origin"),
        ("http://crm.example.uz", "production", "CORS allows http://crm.example.uz, which is not https"),
        ("crm.example.uz", "production", "'crm.example.uz', which is not an origin"),
        ("https://crm.example.uz/admin", "production", "which is not an origin"),
    ],
)
def test_check_refuses_unsafe_cors_origins(
    crm, monkeypatch: pytest.MonkeyPatch, origins: str, env: str, problem: str
) -> None:  # type: ignore[no-untyped-def]
    crm("db", "upgrade")
    monkeypatch.setenv("CRM_ENV", env)
    monkeypatch.setenv("CRM_SECRET_KEY", "k" * 8 + "0123456789abcdefghijklmnopqrstuvwxyz")
    monkeypatch.setenv("CRM_CORS_ORIGINS", origins)
    assert problem in crm("check", expect=1)


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["worker"], ["up", "--port", "1"]])
def test_production_start_refuses_what_crm_check_finds(crm, monkeypatch: pytest.MonkeyPatch, command) -> None:  # type: ignore[no-untyped-def]
    """SPEC §2: CRM_ENV=production runs every check at start-up; a weak key stops `crm serve`, `crm worker` and
    `crm up` before they bind a port or schedule a job."""
    crm("db", "upgrade")
    monkeypatch.setenv("CRM_ENV", "production")
    monkeypatch.setenv("CRM_SECRET_KEY", "a" * 32)
    out = crm(*command, expect=1)
    assert "CRM_SECRET_KEY uses only 1 distinct characters" in out
    assert "not starting" in out
