"""`crm check`: the configuration problems that must not reach production, each with what to do about it."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass

from sqlalchemy import text

from ingest.core.db import make_sync_engine
from ingest.core.migrate import current_revision_of, head_revision
from ingest.core.settings import Settings

DEMO_EMAILS = ("admin@example.com", "viewer@example.com")


@dataclass(frozen=True)
class Finding:
    problem: str
    fix: str


def _database_findings(settings: Settings) -> list[Finding]:
    try:
        engine = make_sync_engine(settings.database_url)
    except Exception as exc:
        return [
            Finding(f"CRM_DATABASE_URL is not usable: {exc}", "use sqlite+aiosqlite:///... or postgresql+psycopg://...")
        ]
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            revision = current_revision_of(conn)
            demo_users = 0
            if revision is not None:
                demo_users = conn.execute(
                    text("SELECT count(*) FROM app_user WHERE email IN ('admin@example.com', 'viewer@example.com')")
                ).scalar_one()
    except Exception as exc:
        return [Finding(f"database unreachable: {type(exc).__name__}: {exc}".splitlines()[0], "check CRM_DATABASE_URL")]
    finally:
        engine.dispose()
    findings = []
    if revision != head_revision():
        findings.append(
            Finding(f"database at migration {revision}, code expects {head_revision()}", "run `crm db upgrade`")
        )
    if demo_users and settings.is_production:
        findings.append(
            Finding("demo users (admin@example.com, viewer@example.com) exist", "delete or deactivate them")
        )
    return findings


def _data_dir_findings(settings: Settings) -> list[Finding]:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=settings.data_dir):
            pass
    except OSError as exc:
        return [Finding(f"CRM_DATA_DIR {settings.data_dir} is not writable: {exc.strerror}", "fix its permissions")]
    return []


def run_checks(settings: Settings) -> list[Finding]:
    """Every finding; in production the secret key, cookies and defaults are checked too."""
    findings: list[Finding] = []
    if settings.is_production:
        if not settings.secret_key:
            findings.append(
                Finding("CRM_SECRET_KEY is not set", "set it to a long random string (e.g. `openssl rand -hex 32`)")
            )
        elif len(settings.secret_key) < 32:
            findings.append(Finding("CRM_SECRET_KEY is shorter than 32 characters", "use a longer random key"))
        if not settings.cookies_secure:
            findings.append(Finding("cookies would be sent without Secure", "set CRM_ENV=production"))
        if settings.openapi_public:
            findings.append(Finding("the API description is public (CRM_DOCS_PUBLIC)", "unset CRM_DOCS_PUBLIC"))
        if settings.is_sqlite:
            findings.append(
                Finding("the operational store is SQLite", "use Postgres: CRM_DATABASE_URL=postgresql+psycopg://...")
            )
        if "*" in settings.cors_origins:
            findings.append(Finding("CORS allows any origin", "list the dashboard origins in CRM_CORS_ORIGINS"))
    for var, value in (
        ("SERVICE_TOKEN_BOT1_HASH", settings.service_token_bot1_hash),
        ("SERVICE_TOKEN_BOT2_HASH", settings.service_token_bot2_hash),
    ):
        if value and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            findings.append(Finding(f"{var} is not a sha256 hex digest", "set it to `printf %s TOKEN | sha256sum`"))
    findings += _data_dir_findings(settings)
    findings += _database_findings(settings)
    return findings
