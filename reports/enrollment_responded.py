"""The responded counts beside the dashboard's enrollment headcounts (SPEC §5, RS §3.7 `responded_count`), read from
the current snapshot's `agg_coverage` mart through the analytics store, for ingest's `RESPONDED_SOURCE`."""

from __future__ import annotations

from litestar.datastructures import State

from ingest.dashboard.enrollments_api import RespondedCounts
from reports.snapshot_http import store_of


def responded_counts(state: State) -> RespondedCounts | None:
    """All-time responded students by (campaign, program id, course year) and their snapshot; None before the first
    build. Blocking on a snapshot's first use (it opens the marts): call it from a worker thread."""
    data = store_of(state).data()
    if data is None:
        return None
    return RespondedCounts(data.snapshot.id, data.snapshot.built_at, data.coverage.get().responded)
