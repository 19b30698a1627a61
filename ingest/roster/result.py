"""What a roster import answers (SPEC §6): counts per student id and the rows' problems. Kept apart from the importer
so the API can declare its answer without loading polars until a file is imported."""

from __future__ import annotations

import msgspec


class RowIssue(msgspec.Struct, kw_only=True):
    row: int
    field: str
    message: str


class ImportResult(msgspec.Struct, kw_only=True):
    """Counts are per student id; `errors` lists at most 1,000 problems, `error_count` says how many there were."""

    created: int
    updated: int
    unchanged: int
    skipped: int
    errors: list[RowIssue]
    error_count: int
    dry_run: bool
