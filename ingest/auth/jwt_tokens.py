"""Signed JWTs for dashboard users (PyJWT, HS256): 15-minute access tokens and 7-day refresh tokens.

An access token carries a keyed fingerprint of its user's password hash (`pws`, as Django ties a session to the
password): a new password makes every access token issued before it invalid at once, like a logout, wherever the
token is; refresh tokens are ended in the database by the same change."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from litestar import Litestar

from ingest.core.schema import utcnow
from ingest.core.settings import Settings

ALGORITHM = "HS256"
ISSUER = "ttpu-crm"
ACCESS_TTL = timedelta(minutes=15)
REFRESH_TTL = timedelta(days=7)
_SECRET_KEY = "jwt_secret"


@dataclass(frozen=True, slots=True)
class Claims:
    """The verified content of a token."""

    subject: uuid.UUID
    jti: str
    token_type: str
    expires_at: datetime
    family_id: uuid.UUID | None = None
    role: str = ""
    password_stamp: str = ""


class TokenInvalid(Exception):
    """A token that is malformed, badly signed, expired or of the wrong type; the message says which."""


def secret_of(app: Litestar) -> str:
    """The signing key, read once per app (in dev it comes from a file in the data dir)."""
    secret = app.state.get(_SECRET_KEY)
    if secret is None:
        settings: Settings = app.state.settings
        secret = settings.effective_secret_key()
        app.state[_SECRET_KEY] = secret
    return secret


def encode(claims: Claims, secret: str) -> str:
    now = utcnow()
    payload: dict[str, object] = {
        "iss": ISSUER,
        "sub": str(claims.subject),
        "jti": claims.jti,
        "typ": claims.token_type,
        "iat": int(now.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    if claims.family_id is not None:
        payload["fam"] = str(claims.family_id)
    if claims.role:
        payload["role"] = claims.role
    if claims.password_stamp:
        payload["pws"] = claims.password_stamp
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode(token: str, secret: str, token_type: str) -> Claims:
    """Verify signature, issuer, expiry and type; raise TokenInvalid otherwise."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "jti", "typ", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenInvalid("The token has expired.") from exc
    except jwt.PyJWTError as exc:
        raise TokenInvalid("The token is not valid.") from exc
    if payload.get("typ") != token_type:
        raise TokenInvalid(f"An {token_type} token is required.")
    if token_type == "access" and not isinstance(payload.get("pws"), str):
        raise TokenInvalid("The token is not valid.")
    try:
        subject = uuid.UUID(str(payload["sub"]))
        family = uuid.UUID(str(payload["fam"])) if "fam" in payload else None
        expires_at = datetime.fromtimestamp(int(payload["exp"]), tz=utcnow().tzinfo)
    except (ValueError, TypeError) as exc:
        raise TokenInvalid("The token is not valid.") from exc
    return Claims(
        subject=subject,
        jti=str(payload["jti"])[:64],
        token_type=token_type,
        expires_at=expires_at,
        family_id=family,
        role=str(payload.get("role", "")),
        password_stamp=str(payload.get("pws", "")),
    )


def password_stamp(password_hash: str, secret: str) -> str:
    """The fingerprint of a password hash that access tokens carry: keyed, so the token does not reveal the hash."""
    return hmac.new(secret.encode(), b"access-password:" + password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def new_access(user_id: uuid.UUID, role: str, secret: str, password_hash: str) -> tuple[str, Claims]:
    """An access token for the user as they are now: valid until it expires, they log out or their password changes."""
    claims = Claims(
        subject=user_id,
        jti=uuid.uuid4().hex,
        token_type="access",
        expires_at=utcnow() + ACCESS_TTL,
        role=role,
        password_stamp=password_stamp(password_hash, secret),
    )
    return encode(claims, secret), claims


def new_refresh(user_id: uuid.UUID, family_id: uuid.UUID, token_id: uuid.UUID, secret: str) -> tuple[str, Claims]:
    """A refresh token whose jti is the id of its `auth_refresh_token` row."""
    claims = Claims(
        subject=user_id,
        jti=str(token_id),
        token_type="refresh",
        expires_at=utcnow() + REFRESH_TTL,
        family_id=family_id,
    )
    return encode(claims, secret), claims
