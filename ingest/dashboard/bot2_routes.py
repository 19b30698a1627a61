"""The dashboard's `/bot2` router (SPEC §5, RS §3.7): students, survey responses, enrollment headcounts, and the
handlers the caller adds (the roster)."""

from __future__ import annotations

from typing import Any

from litestar import Router

from ingest.dashboard.enrollments_api import ENROLLMENT_HANDLERS
from ingest.dashboard.students_api import STUDENT_HANDLERS
from ingest.dashboard.surveys_api import SURVEY_HANDLERS


def bot2_dashboard_router(*extra: Any) -> Router:
    return Router(
        path="/bot2",
        route_handlers=[*STUDENT_HANDLERS, *SURVEY_HANDLERS, *ENROLLMENT_HANDLERS, *extra],
        tags=["bot2 (dashboard)"],
    )
