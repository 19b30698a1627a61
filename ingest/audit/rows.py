"""The audit log (RS §6, fixed per RS §13 security 8): one masked row per write, in the writer's transaction."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache
from typing import Any

from litestar import Request
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.core.observability import request_id_of
from ingest.core.schema import ACTOR_TYPES, AUDIT_ACTIONS, AuditLog, utcnow
from ingest.core.settings import Settings
from ingest.http.client_ip import client_ip

REDACTED = "[REDACTED]"

# Keys whose values are personal data wherever they appear (compared after normalising, see `_key_rule`).
_PII_KEYS = frozenset(
    {
        "first_name",
        "last_name",
        "middle_name",
        "full_name",
        "fullname",
        "firstname",
        "lastname",
        "surname",
        "patronymic",
        "given_name",
        "family_name",
        "father_name",
        "fio",
        "username",
        "contact_name",
        "dob",
        "organization",
        "organisation",
        "address",
        "passport",
        "pinfl",
        "password",
        "token",
        "raw_token",
        "secret",
    }
)
# Substrings that mark a key as personal data: any phone, e-mail, birth date, password or secret key.
_PII_PARTS = ("phone", "mobile", "email", "e_mail", "birth", "password", "passwd", "secret", "passport")
# Free-form user input (a subtree or one text): every scalar inside is masked, whatever it looks like. Free text
# hides personal data no pattern finds (a name, a phone written 90 123 45 67, a workplace), so it is never kept.
_FREE_FORM_KEYS = frozenset(
    {
        "answers",
        "suggestions",
        "employment_company",
        "employment_role",
        "comment",
        "comments",
        "note",
        "notes",
        "feedback",
        "message",
    }
)
_EMAIL_VALUE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE_VALUE = re.compile(r"^\+\d[\d\s\-()]{6,}$")

MAX_USER_AGENT = 512


@lru_cache(maxsize=4096)
def _key_rule(key: str) -> tuple[bool, bool]:
    """(is a PII key, is a free-form subtree): keys repeat endlessly, so the answer is cached."""
    k = re.sub(r"[\s\-]+", "_", key.strip().lower())
    return k in _PII_KEYS or any(part in k for part in _PII_PARTS), k in _FREE_FORM_KEYS


def _plain(value: Any) -> Any:
    """JSON-ready scalars: UUIDs, dates and decimals as strings."""
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def _looks_personal(value: str) -> bool:
    return ("@" in value and _EMAIL_VALUE.search(value) is not None) or (
        value[:1] == "+" and _PHONE_VALUE.match(value) is not None
    )


_SEQUENCES = (list, tuple, set, frozenset)


def _mask(value: Any, redact_all: bool) -> Any:
    if value is None or value == "":
        return value
    kind = type(value)
    if kind is str:
        return REDACTED if redact_all or _looks_personal(value) else value
    if kind is dict or isinstance(value, dict):
        masked = {}
        for k, v in value.items():
            key = k if type(k) is str else str(k)
            if redact_all:
                masked[key] = _mask(v, True)
            else:
                pii, free_form = _key_rule(key)
                masked[key] = _mask(v, pii or free_form)
        return masked
    if isinstance(value, _SEQUENCES):
        return [_mask(v, redact_all) for v in value]
    return REDACTED if redact_all else _plain(value)


def mask_pii(value: Any) -> Any:
    """A JSON-ready copy of `value` with personal data replaced by "[REDACTED]".

    The rule, applied recursively through dicts and lists (keys are compared lower-cased, with spaces and dashes
    read as underscores):
    - a value under a PII key is masked whole, including everything nested under it: names (first_name,
      last_name, full_name, fio, username, ...), any key containing phone/mobile, email, birth (birth_date,
      date_of_birth), organization/organisation, address, passport, pinfl, passwords, tokens and secrets;
    - a value under `answers` (free-form user input) is masked whole the same way: keys and nesting stay visible,
      so an auditor sees which questions were answered, but no answer is kept in clear; so is every free text a
      person types (a survey's `suggestions`, workplace and role, comments, notes, feedback, messages): no pattern
      finds the names and locally written phone numbers such text holds;
    - anywhere else, a string that looks like an e-mail address or an international phone number is masked too
      (this catches `{"user": "a@b.uz"}`);
    - null and empty strings are kept (they reveal nothing); UUIDs, dates and decimals become strings.
    """
    return _mask(value, False)


def mask_free_form(value: Any) -> Any:
    """`value` masked as free-form user input (the rule for `answers`): every scalar, keys and nesting kept."""
    return _mask(value, True)


def audit_values(
    *,
    actor_type: str,
    action: str,
    entity_table: str,
    entity_id: uuid.UUID | None = None,
    actor_user_id: uuid.UUID | None = None,
    actor_service: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str = "",
    request_id: str = "",
) -> dict[str, Any]:
    """A masked row for `insert(AuditLog.__table__)`, with its id and timestamps."""
    if actor_type not in ACTOR_TYPES:
        raise ValueError(f"actor_type must be one of {ACTOR_TYPES}")
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"action must be one of {AUDIT_ACTIONS}")
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        "actor_type": actor_type,
        "actor_user_id": actor_user_id,
        "actor_service": actor_service,
        "action": action,
        "entity_table": entity_table,
        "entity_id": entity_id,
        "before_data": mask_pii(before or {}),
        "after_data": mask_pii(after or {}),
        "meta": mask_pii(meta or {}),
        "ip": ip[:45] if ip else None,
        "user_agent": (user_agent or "")[:MAX_USER_AGENT],
        "request_id": (request_id or "")[:64],
    }


async def record_audit(session: AsyncSession, **kwargs: Any) -> None:
    """Insert one audit row (same arguments as `audit_values`) in the session's current transaction."""
    await session.execute(insert(AuditLog.__table__), [audit_values(**kwargs)])


def request_context(request: Request[Any, Any, Any], settings: Settings) -> dict[str, Any]:
    """`{"ip", "user_agent", "request_id"}` of a request, to pass on to `audit_values`/`record_audit`."""
    return {
        "ip": client_ip(request, settings.trusted_proxies),
        "user_agent": request.headers.get("user-agent", "")[:MAX_USER_AGENT],
        "request_id": request_id_of(request.scope),
    }
