"""`crm check`: the configuration problems that must not reach production, each with what to do about it."""

from __future__ import annotations

import math
import re
import tempfile
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import text

from ingest.core.db import make_sync_engine
from ingest.core.migrate import current_revision_of, head_revision
from ingest.core.settings import Settings

DEMO_EMAILS = ("admin@example.com", "viewer@example.com")
MIN_SECRET_LENGTH = 32
# A random 32-character hex key (`openssl rand -hex 16`) has 9 or more distinct characters and 90 or more bits by
# the measure below (the least of 20,000 draws); `openssl rand -hex 32` about 16 and 240.
MIN_SECRET_DISTINCT = 8
MIN_SECRET_BITS = 80  # length × the entropy of the key's own character counts
PLACEHOLDER_WORDS = ("secret", "change", "password", "example", "default", "dummy", "sample")
NEW_SECRET = "generate one: `openssl rand -hex 32`"


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


def secret_key_weakness(key: str) -> str | None:
    """Why the JWT signing key is guessable, or None: too short, too few distinct characters, a repeated pattern, a
    placeholder phrase, or too little entropy in what it is made of (32 times one letter passes a length check)."""
    if len(key) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    counts = Counter(key)
    if len(counts) < MIN_SECRET_DISTINCT:
        return f"uses only {len(counts)} distinct characters"
    if re.fullmatch(r"(.+?)\1+", key, flags=re.DOTALL):
        return "is one short pattern repeated"
    if word := next((w for w in PLACEHOLDER_WORDS if w in key.lower()), None):
        return f"looks like a placeholder (it contains {word!r})"
    bits = -sum(n * math.log2(n / len(key)) for n in counts.values())
    if bits < MIN_SECRET_BITS:
        return f"has about {bits:.0f} bits of entropy (at least {MIN_SECRET_BITS} wanted)"
    return None


def cors_findings(origins: tuple[str, ...], production: bool) -> list[Finding]:
    """Origins that would let other pages use a dashboard session: `null` (sandboxed frames, files: anyone can
    send it), and in production `*` or anything but an https origin."""
    fix = "list the dashboard's own https origins in CRM_CORS_ORIGINS, e.g. https://crm.example.uz"
    findings = []
    for origin in origins:
        parts = urlsplit(origin)
        if origin.strip().lower() == "null":
            findings.append(Finding("CORS allows the origin `null` (any sandboxed page or local file)", fix))
        elif origin == "*":
            if production:
                findings.append(Finding("CORS allows any origin", fix))
        elif not parts.scheme or not parts.netloc or parts.path not in ("", "/") or parts.query or parts.fragment:
            findings.append(Finding(f"CRM_CORS_ORIGINS has {origin!r}, which is not an origin", fix))
        elif production and parts.scheme != "https":
            findings.append(Finding(f"CORS allows {origin}, which is not https", fix))
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
            findings.append(Finding("CRM_SECRET_KEY is not set", NEW_SECRET))
        elif weakness := secret_key_weakness(settings.secret_key):
            findings.append(Finding(f"CRM_SECRET_KEY {weakness}", NEW_SECRET))
        if not settings.cookies_secure:
            findings.append(Finding("cookies would be sent without Secure", "set CRM_ENV=production"))
        if settings.openapi_public:
            findings.append(Finding("the API description is public (CRM_DOCS_PUBLIC)", "unset CRM_DOCS_PUBLIC"))
        if settings.is_sqlite:
            findings.append(
                Finding("the operational store is SQLite", "use Postgres: CRM_DATABASE_URL=postgresql+psycopg://...")
            )
    for var, value in (
        ("SERVICE_TOKEN_BOT1_HASH", settings.service_token_bot1_hash),
        ("SERVICE_TOKEN_BOT2_HASH", settings.service_token_bot2_hash),
    ):
        if value and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            findings.append(Finding(f"{var} is not a sha256 hex digest", "set it to `printf %s TOKEN | sha256sum`"))
    findings += cors_findings(settings.cors_origins, settings.is_production)
    findings += _data_dir_findings(settings)
    findings += _database_findings(settings)
    return findings
