"""`POST /ingest/batch` (SPEC §4.3): the bots' queued submissions and their per-item results. Above the registry
(`kinds.py`): an item's `kind` is one of its batch kinds."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from ingest.contracts.api import RequestBody
from ingest.contracts.fields import IdempotencyKey
from ingest.contracts.kinds import BatchKindName
from ingest.contracts.problem import Problem

MAX_BATCH_ITEMS = 1000


class BatchItem(RequestBody):
    """One queued submission: `payload` is exactly the body of the kind's single endpoint."""

    kind: BatchKindName
    idempotency_key: IdempotencyKey
    payload: dict[str, Any]


class BatchRequest(RequestBody):
    """`POST /ingest/batch`: up to 1,000 items of the calling bot's own kinds."""

    items: Annotated[list[BatchItem], Meta(min_length=1, max_length=MAX_BATCH_ITEMS)]


class BatchResult(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The outcome of one item, in item order: `id` when stored or replayed, `problem` on error."""

    idempotency_key: str
    status: Literal["created", "replayed", "error"]
    id: uuid.UUID | None = None
    problem: Problem | None = None


class BatchResponse(msgspec.Struct, kw_only=True):
    results: list[BatchResult]
