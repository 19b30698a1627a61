"""A background job as data (DESIGN, "The worker"): each package lists the jobs it needs in a `*_jobs(settings)`
function and `crm/worker.py` schedules them all. It lives at the bottom of the import graph so that any package can
declare jobs without importing the worker that runs them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ingest.core.settings import Settings


@dataclass(frozen=True, slots=True)
class JobSpec:
    """`run(settings)` every `every_seconds`; the first run at start-up when `start_now`, else one interval later."""

    id: str
    name: str
    run: Callable[[Settings], Awaitable[object]]
    every_seconds: int
    start_now: bool = True
