"""Ingestion outcomes for `/metrics`: submissions by kind and outcome (created, replayed, rejected by problem code)
and those in flight. Labels are the registry's kinds and the problems' codes only: no keys, ids or personal data.
Counting costs a few hundred nanoseconds whether or not metrics are served; under `crm serve --workers N`
prometheus-client's multiprocess mode (crm/metrics.py) sums the processes."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Gauge

from ingest.core.problems import ProblemError
from ingest.submissions.write import Submission

SUBMISSIONS = Counter(
    "crm_ingest_submissions",
    "Bot submissions settled, by kind and outcome (created, replayed, rejected) and the problem code of a rejection",
    ["kind", "outcome", "code"],
)
IN_FLIGHT = Gauge(
    "crm_ingest_in_flight", "Bot submissions received and not yet settled", ["kind"], multiprocess_mode="livesum"
)


def settled(subs: Iterable[Submission]) -> None:
    """Count each submission's outcome once it has one."""
    for sub in subs:
        if sub.outcome == "error":
            rejected(sub.kind, sub.problem)
        elif sub.outcome:
            SUBMISSIONS.labels(sub.kind, sub.outcome, "").inc()


def rejected(kind: str, problem: ProblemError | None) -> None:
    SUBMISSIONS.labels(kind, "rejected", problem.code if problem is not None else "").inc()
