"""`GET /api/v1/reports` (the schedule), `/reports/runs` (runs with status, newest first, paginated),
`/reports/runs/{id}` and `/reports/runs/{id}/files/{name}` (a run's file)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Request, Router, get
from litestar.params import PathParameter, QueryParameter
from litestar.response import File

from ingest.auth.guards import requires_viewer
from ingest.core.problems import ProblemError
from ingest.core.settings import Settings
from ingest.http.pagination import relative_link
from reports.exports.writers import FORMATS
from reports.schedule.config import ConfigError, ReportsConfig, load_config, next_fire
from reports.schedule.runs import Run, RunStore

Req = Request[Any, Any, Any]
MAX_PAGE_SIZE = 500
RunId = Annotated[str, PathParameter(description="the run's id")]


class ScheduledReport(msgspec.Struct):
    name: str
    description: str
    dataset: str
    window: str
    formats: list[str]
    schedule: str
    enabled: bool
    telegram: bool
    next_run_at: datetime | None
    last_run: Run | None


class RunPage(msgspec.Struct):
    count: int
    next: str | None
    previous: str | None
    results: list[Run]


def _config(settings: Settings) -> ReportsConfig:
    try:
        return load_config(settings)
    except ConfigError as exc:
        raise ProblemError(503, "REPORTS_CONFIG_INVALID", str(exc)) from None


def _int(raw: str | None, name: str, default: int, lo: int, hi: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ProblemError(400, "INVALID_PAGE", f"{name} must be an integer.", field=name) from None
    if not lo <= value <= hi:
        raise ProblemError(400, "INVALID_PAGE", f"{name} must be between {lo} and {hi}.", field=name)
    return value


@get("/", summary="The configured reports, their next scheduled time and last run")
async def list_reports(request: Req) -> list[ScheduledReport]:
    settings: Settings = request.app.state.settings

    def collect() -> list[ScheduledReport]:
        store, now = RunStore(settings), datetime.now(UTC)
        return [
            ScheduledReport(
                r.name,
                r.description,
                r.dataset,
                r.window,
                list(r.formats),
                r.schedule,
                r.enabled,
                r.telegram_chat_id is not None,
                next_fire(r, now, settings.tz) if r.enabled else None,
                store.last(r.name),
            )
            for r in _config(settings).reports
        ]

    return await anyio.to_thread.run_sync(collect)


@get("/runs", summary="Report runs, newest first (filters: report, status; page, page_size <= 500)")
async def list_runs(
    request: Req,
    report: Annotated[str | None, QueryParameter(description="report name")] = None,
    status: Annotated[str | None, QueryParameter(description="running, succeeded or failed")] = None,
    page: Annotated[str | None, QueryParameter(description="1-based page")] = None,
    page_size: Annotated[str | None, QueryParameter(description="rows per page (default 50, at most 500)")] = None,
) -> RunPage:
    settings: Settings = request.app.state.settings
    if status not in (None, "", "running", "succeeded", "failed"):
        raise ProblemError(400, "INVALID_STATUS", "status must be running, succeeded or failed.", field="status")
    number = _int(page, "page", 1, 1, 10**9)
    size = _int(page_size, "page_size", 50, 1, MAX_PAGE_SIZE)
    count, runs = await anyio.to_thread.run_sync(
        lambda: RunStore(settings).list(
            report=report or None, status=status or None, limit=size, offset=(number - 1) * size
        )
    )
    if number > 1 and not runs:
        raise ProblemError(404, "NOT_FOUND", f"page {number} is past the end.", field="page")

    def link(n: int) -> str:
        return relative_link(request, page=n, page_size=size)

    return RunPage(
        count,
        link(number + 1) if number * size < count else None,
        link(number - 1) if number > 1 else None,
        runs,
    )


async def _run_or_404(settings: Settings, run_id: str) -> Run:
    run = await anyio.to_thread.run_sync(RunStore(settings).get, run_id)
    if run is None:
        raise ProblemError(404, "RUN_NOT_FOUND", f"No report run {run_id!r}.", field="run_id")
    return run


@get("/runs/{run_id:str}", summary="One report run")
async def get_run(request: Req, run_id: RunId) -> Run:
    return await _run_or_404(request.app.state.settings, run_id)


@get("/runs/{run_id:str}/files/{name:str}", summary="Download a file of a report run")
async def get_run_file(
    request: Req, run_id: RunId, name: Annotated[str, PathParameter(description="a file name of the run")]
) -> File:
    settings: Settings = request.app.state.settings
    run = await _run_or_404(settings, run_id)
    # Only names the run recorded are served: a path in `name` can never reach another file.
    file = next((f for f in run.files if f.name == name), None)
    if file is None or not run.directory:
        raise ProblemError(404, "FILE_NOT_FOUND", f"Run {run_id} has no file {name!r}.", field="name")
    path = settings.data_dir / run.directory / file.name
    if not path.is_file():
        raise ProblemError(410, "FILE_GONE", f"{name} of run {run_id} is no longer on disk.", field="name")
    return File(path=path, filename=file.name, media_type=FORMATS.get(file.format, "application/octet-stream"))


def reports_router() -> Router:
    return Router(
        path="/reports",
        guards=[requires_viewer],
        tags=["reports"],
        route_handlers=[list_reports, list_runs, get_run, get_run_file],
    )
