"""Query filters of the dashboard lists that need more than a type: booleans (`from`/`to` windows are
`ingest.http.windows`)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

from ingest.core.problems import ProblemError

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})

BoolParam = Annotated[str | None, Parameter(description="true or false")]


def bool_of(raw: str | None, name: str) -> bool | None:
    """`true`/`false` (also 1/0, yes/no, any case); None when absent; 400 naming the parameter otherwise."""
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ProblemError(400, "INVALID_BOOLEAN", f"{name} must be true or false.", field=name)
