"""Settings from the environment and `.env`, with working defaults and clear failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.core.settings import DEFAULT_DATABASE_URL, SettingsError, load_settings


def test_defaults_need_nothing(tmp_path: Path) -> None:
    s = load_settings({}, dotenv=None)
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.env == "dev" and s.timezone == "Asia/Tashkent" and s.build_every == 300
    assert s.openapi_public and not s.cookies_secure


def test_dotenv_is_read_and_real_variables_win(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# comment\nCRM_TIMEZONE='UTC'\nCRM_BUILD_EVERY=60\nexport CRM_CORS_ORIGINS=http://a, http://b\n"
    )
    s = load_settings({"CRM_BUILD_EVERY": "120"}, dotenv=env_file)
    assert s.timezone == "UTC" and s.build_every == 120
    assert s.cors_origins == ("http://a", "http://b")


def test_dev_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    s = load_settings({"CRM_DATA_DIR": str(tmp_path / "d")}, dotenv=None)
    key = s.effective_secret_key()
    assert len(key) >= 32
    assert s.effective_secret_key() == key
    assert (tmp_path / "d" / "secret_key").stat().st_mode & 0o077 == 0


def test_production_requires_a_secret_key(tmp_path: Path) -> None:
    s = load_settings({"CRM_ENV": "production", "CRM_DATA_DIR": str(tmp_path)}, dotenv=None)
    with pytest.raises(SettingsError, match="CRM_SECRET_KEY"):
        s.effective_secret_key()
    assert not s.openapi_public and s.cookies_secure


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("CRM_ENV", "staging"),
        ("CRM_BUILD_EVERY", "soon"),
        ("CRM_TIMEZONE", "Mars/Olympus"),
        ("CRM_BUILD_EVERY", "0"),
        ("CRM_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local"),
    ],
)
def test_bad_values_name_the_variable(var: str, value: str) -> None:
    with pytest.raises(SettingsError, match=var):
        load_settings({var: value}, dotenv=None)
