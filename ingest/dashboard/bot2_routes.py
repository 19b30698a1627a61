"""The dashboard's `/bot2` router (SPEC §5, RS §3.7): students, survey responses, enrollment headcounts (the roster
has its own router on the same path, `ingest.roster.api`)."""

from __future__ import annotations

from litestar import Router

from ingest.dashboard.enrollments_api import ENROLLMENT_HANDLERS
from ingest.dashboard.students_api import STUDENT_HANDLERS
from ingest.dashboard.surveys_api import SURVEY_HANDLERS


def bot2_dashboard_router() -> Router:
    return Router(
        path="/bot2",
        route_handlers=[*STUDENT_HANDLERS, *SURVEY_HANDLERS, *ENROLLMENT_HANDLERS],
        tags=["bot2 (dashboard)"],
    )
