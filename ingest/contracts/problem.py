"""The body of every error answer (RFC 9457 problem+json, SPEC §12), as the bots read it back."""

from __future__ import annotations

import msgspec


class FieldError(msgspec.Struct, omit_defaults=True):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """The body of every error response."""

    type: str
    title: str
    status: int
    code: str
    detail: str = ""
    field: str | None = None
    errors: list[FieldError] | None = None
    request_id: str = ""
