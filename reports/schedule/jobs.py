"""The reports' job for the worker (`crm/worker.py`): every minute, run the scheduled reports whose time has come
(SPEC §9)."""

from __future__ import annotations

from ingest.core.jobs import JobSpec
from ingest.core.settings import Settings
from reports.schedule.runner import run_due_reports

REPORTS_JOB = "reports-due"
CHECK_EVERY_SECONDS = 60


def report_jobs(_settings: Settings) -> list[JobSpec]:
    return [JobSpec(REPORTS_JOB, "run due reports", run_due_reports, CHECK_EVERY_SECONDS)]
