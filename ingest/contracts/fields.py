"""Field types shared by every request body (SPEC §4.1): one declaration of each constraint, for the bots' contract
and the dashboard's bodies alike. msgspec only: the bots import this without the server's dependencies."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from msgspec import Meta

BIGINT_MAX = 2**63 - 1
TelegramUserId = Annotated[int, Meta(ge=1, le=BIGINT_MAX, description="Telegram user id (positive)")]
TelegramChatId = Annotated[int, Meta(ge=-BIGINT_MAX, le=BIGINT_MAX, description="Telegram chat id")]
Short = Annotated[str, Meta(max_length=150)]
Phone = Annotated[str, Meta(max_length=50)]
Email = Annotated[
    str,
    Meta(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$", description="an e-mail address, or blank"),
]
# The bare constraints of a catalog code and a student id, for the dashboard's bodies that document them without a
# description; the contract's own types add theirs.
PlainCode = Annotated[str, Meta(min_length=1, max_length=100)]
PlainExternalId = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"\S")]
Code = Annotated[PlainCode, Meta(description="a catalog code, e.g. DIR-SOFT-UZ")]
Language = Annotated[str, Meta(max_length=8)]
CourseYear = Annotated[int, Meta(ge=1, le=5, description="1..4, 5 = graduated")]
Campaign = Annotated[str, Meta(min_length=1, max_length=64)]
ExternalId = Annotated[
    PlainExternalId, Meta(description="university student id (SE54321, S1-000001), matched in any case; see below")
]
IdempotencyKey = Annotated[str, Meta(min_length=1, max_length=255)]
Answers = Annotated[dict[str, Any], Meta(description="free-form answers of the bot's questions")]

Gender = Literal["male", "female", "other", "unspecified", ""]
# The application statuses of RS §2.6 in their workflow order; `new` is the one without a `submitted_at`. Declared
# here, below the bodies whose `status` field they type; the kinds' registry (`kinds.py`) sits above the bodies.
STATUSES: tuple[str, ...] = ("new", "submitted", "in_progress", "approved", "rejected")
Status = Literal[STATUSES]  # type: ignore[valid-type]  (a Literal of the tuple's values)
CatalogType = Literal["region", "direction", "track", "subject", "program"]

# The moment a person confirmed a submission (docs/submission-time.md): sent by the bots from their outbox, so a
# submission delivered late keeps its own time. The server takes it within bounds: at most SUBMITTED_AT_SKEW in the
# future (clocks differ a little), at most SUBMITTED_AT_MAX_AGE in the past (what the bots send at all: an outbox
# item older than that goes without its time and is stored at its delivery).
SUBMITTED_AT_SKEW = timedelta(minutes=5)
SUBMITTED_AT_MAX_AGE = timedelta(days=30)
SubmittedAt = Annotated[
    datetime,
    Meta(tz=True, description="when the person confirmed (ISO 8601 with offset); absent = when it is stored"),
]


def submitted_at_in_bounds(value: datetime, now: datetime) -> bool:
    """Whether a submission time is one the server takes, seen at `now` (both aware)."""
    return now - SUBMITTED_AT_MAX_AGE <= value <= now + SUBMITTED_AT_SKEW


# One rule for student ids, for the bots and the server alike (issue 15): the roster's own ids always pass (the
# demo roster's `S1-000001`, `SE54321`, `se12345`): letters and digits, optionally in groups joined by `-`, `/` or
# `.`, with at least one digit, up to 32 characters. The spelling is kept as typed (matching is case-insensitive:
# compare `student_id_key` values).
STUDENT_ID_PATTERN = r"^(?=[^\d]*\d)[A-Za-z0-9]+(?:[-/.][A-Za-z0-9]+)*$"
STUDENT_ID_MAX = 32


def normalise_student_id(text: str) -> str | None:
    """The id as typed, without surrounding or inner spaces; None when it does not follow the rule."""
    value = "".join(unicodedata.normalize("NFKC", text).split())
    if not value or len(value) > STUDENT_ID_MAX or not re.match(STUDENT_ID_PATTERN, value, flags=re.ASCII):
        return None
    return value


def student_id_key(value: str) -> str:
    """What two spellings of one id have in common (`SE54321` and `se54321`): the key to match them by."""
    return value.casefold()
