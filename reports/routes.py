"""Every router of the reports package, for the app factory: analytics, exports and report runs."""

from __future__ import annotations

from typing import Any

from reports.analytics import analytics_router
from reports.exports import exports_router
from reports.runs_api import reports_router


def reports_routers() -> list[Any]:
    return [analytics_router(), exports_router(), reports_router()]
