"""Password hashing with argon2 (argon2-cffi's recommended parameters).

Staff moved in from the reference (issue 14) keep their Django `pbkdf2_sha256$iterations$salt$hash` hashes until
their first successful login, which replaces them with argon2 (login_api rehashes whatever `needs_rehash` flags)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
DJANGO_PBKDF2 = "pbkdf2_sha256$"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if password_hash.startswith(DJANGO_PBKDF2):
        return _verify_django_pbkdf2(password_hash, password)
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    if password_hash.startswith(DJANGO_PBKDF2):
        return True
    return _hasher.check_needs_rehash(password_hash)


def _verify_django_pbkdf2(password_hash: str, password: str) -> bool:
    """Django's format: base64 of pbkdf2_hmac(sha256, password, salt, iterations), `$`-separated."""
    try:
        _, iterations, salt, expected = password_hash.split("$", 3)
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(base64.b64encode(digest).decode("ascii").strip(), expected)
