"""Settings read from the environment (and a `.env` file), with defaults that make `crm up` work with nothing set."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/crm.sqlite3"
SECRET_KEY_FILE = "secret_key"


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the variable."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str = DEFAULT_DATABASE_URL
    data_dir: Path = Path("./data")
    env: Literal["dev", "test", "production"] = "dev"
    secret_key: str | None = None
    timezone: str = "Asia/Tashkent"
    build_every: int = 300
    reports_file: Path | None = None
    redis_url: str | None = None
    service_token_bot1_hash: str | None = None
    service_token_bot2_hash: str | None = None
    cors_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    docs_public: bool | None = None
    log_level: str = "INFO"
    metrics: bool | None = None

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cookies_secure(self) -> bool:
        return self.env != "dev"

    @property
    def openapi_public(self) -> bool:
        return self.docs_public if self.docs_public is not None else self.env == "dev"

    @property
    def metrics_enabled(self) -> bool:
        """`GET /metrics`: on in dev, off elsewhere unless CRM_METRICS=true."""
        return self.metrics if self.metrics is not None else self.env == "dev"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def effective_secret_key(self) -> str:
        """The JWT signing key: the configured one, or in dev a key generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        if self.is_production:
            raise SettingsError("CRM_SECRET_KEY is required when CRM_ENV=production")
        path = self.data_dir / SECRET_KEY_FILE
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        # O_EXCL: two processes starting at once agree on whichever key was written first.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key


_ENV_NAMES = {
    "database_url": "CRM_DATABASE_URL",
    "data_dir": "CRM_DATA_DIR",
    "env": "CRM_ENV",
    "secret_key": "CRM_SECRET_KEY",
    "timezone": "CRM_TIMEZONE",
    "build_every": "CRM_BUILD_EVERY",
    "reports_file": "CRM_REPORTS_FILE",
    "redis_url": "CRM_REDIS_URL",
    "service_token_bot1_hash": "SERVICE_TOKEN_BOT1_HASH",
    "service_token_bot2_hash": "SERVICE_TOKEN_BOT2_HASH",
    "cors_origins": "CRM_CORS_ORIGINS",
    "trusted_proxies": "CRM_TRUSTED_PROXIES",
    "docs_public": "CRM_DOCS_PUBLIC",
    "log_level": "CRM_LOG_LEVEL",
    "metrics": "CRM_METRICS",
}
_LISTS = {"cors_origins", "trusted_proxies"}


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a simple KEY=VALUE `.env` file (comments, blank lines and optional quotes)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_settings(environ: dict[str, str] | None = None, dotenv: Path | None = Path(".env")) -> Settings:
    """Build settings from a `.env` file overlaid by the real environment (real variables win)."""
    source = read_dotenv(dotenv) if dotenv else {}
    source.update(os.environ if environ is None else environ)
    raw: dict[str, object] = {}
    for field, var in _ENV_NAMES.items():
        value = source.get(var)
        if value is None or value == "":
            continue
        raw[field] = [v.strip() for v in value.split(",") if v.strip()] if field in _LISTS else value
    if "reports_file" not in raw and Path("reports.toml").is_file():
        raw["reports_file"] = "reports.toml"
    try:
        settings = msgspec.convert(raw, Settings, strict=False, dec_hook=_decode_path)
    except msgspec.ValidationError as exc:
        field = str(exc).rsplit("$.", 1)[-1].rstrip("`")
        raise SettingsError(f"{_ENV_NAMES.get(field, field)}: {exc}") from exc
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"CRM_TIMEZONE: unknown time zone {settings.timezone!r}") from exc
    if settings.build_every < 1:
        raise SettingsError("CRM_BUILD_EVERY must be a positive number of seconds")
    return settings


def _decode_path(type_: type, value: object) -> object:
    if type_ is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(type_)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
