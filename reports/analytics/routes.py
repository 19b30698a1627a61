"""The analytics endpoints under /api/v1/analytics (SPEC §8): the eight of RS §5 with their paths and body shapes,
and the new daily series, funnel, by-region and employment. They read only the published marts, through the
per-snapshot indexes of `reports.analytics.data`, and answer with the snapshot headers and ETag / 304."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
import msgspec
from litestar import HttpMethod, Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.handlers import HTTPRouteHandler

from ingest.auth.guards import requires_viewer
from ingest.http.windows import Window, parse_window
from reports.analytics import queries as q
from reports.analytics.data import AnalyticsData
from reports.params import (
    AcademicYearParam,
    CampaignParam,
    CourseYearParam,
    FromParam,
    GroupByParam,
    KindParam,
    LangParam,
    ToParam,
    academic_year_of,
    campaign_of,
    course_year_of,
    group_by_of,
    kind_of,
    lang_of,
)
from reports.snapshot_http import no_snapshot, not_modified, ready, request_etag, snapshot_response, store_of

Req = Request[Any, Any, Any]
_encoder = msgspec.json.Encoder()


class analytics_get(HTTPRouteHandler):
    """A GET handler whose guards receive the route handler itself. Litestar passes each guard a copy of the handler
    (so a guard cannot alter it), which costs about as much as the whole cached auth check; `requires_viewer` never
    looks at the handler. A subclass of HTTPRouteHandler, not of `get` (deprecated since Litestar 2.x, a function in
    3.0). tests/test_litestar_internals.py fails loudly if Litestar stops calling this override."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        super().__init__(path, http_method=HttpMethod.GET, **kwargs)

    async def authorize_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
        for guard in self.resolve_guards():
            await guard(connection, self)  # type: ignore[arg-type]


def _window(request: Req, raw_from: str | None, raw_to: str | None) -> Window:
    return parse_window(raw_from, raw_to, request.app.state.settings.tz)


async def _answer(
    request: Req,
    compute: Callable[[AnalyticsData], Any],
    *,
    bot2: str | None = None,
    groupings: tuple[str, ...] = (),
    daily: str | None = None,
) -> Response[bytes]:
    """Common flow: the current snapshot (503 before the first), ETag / 304, then the body from its indexes.
    `bot2` names the campaign whose survey index the body needs, `groupings` and `daily` the application indexes:
    each is built on first use of a snapshot in a worker thread (a build takes tens of milliseconds: on the event
    loop it would hold every other request of the process)."""
    state = request.app.state
    data = store_of(state).data()
    if data is None:
        raise no_snapshot()
    etag = request_etag(data.snapshot, request, state.settings)
    if not_modified(request, etag):
        return snapshot_response(data.snapshot, etag, None)
    # The ETag names this URL at this snapshot: the same query (another viewer, another tab) gets the same bytes.
    body = data.answer(etag)
    if body is None:
        await ready(data.catalog)
        if bot2 is None:
            applications = await ready(data.applications)
            for part in applications.parts(groupings, daily):
                await ready(part)
        else:
            surveys = await ready(data.surveys)
            await ready(data.coverage)
            if not surveys.ready(bot2):
                await anyio.to_thread.run_sync(surveys.campaign, bot2)
        body = _encoder.encode(compute(data))
        data.keep_answer(etag, body)
    return snapshot_response(data.snapshot, etag, body)


# --- bot1 --------------------------------------------------------------------------------------------------------


@analytics_get("/admissions-2026/by-direction", summary="Admissions 2026 applications by direction (count desc)")
async def admissions_by_direction(
    request: Req, from_: FromParam = None, to: ToParam = None, lang: LangParam = None
) -> Response[list[q.DirectionCount]]:
    window, language = _window(request, from_, to), lang_of(lang)
    return await _answer(request, lambda d: q.by_direction(d, window, language), groupings=("direction",))


@analytics_get("/admissions-2026/by-track", summary="Admissions 2026 applications by track (unset tracks left out)")
async def admissions_by_track(
    request: Req, from_: FromParam = None, to: ToParam = None, lang: LangParam = None
) -> Response[list[q.TrackCount]]:
    window, language = _window(request, from_, to), lang_of(lang)
    return await _answer(request, lambda d: q.by_track(d, window, language), groupings=("track",))


@analytics_get("/polito-academy/by-subject", summary="Polito Academy requests by subject (unset subjects left out)")
async def polito_by_subject(
    request: Req, from_: FromParam = None, to: ToParam = None, lang: LangParam = None
) -> Response[list[q.SubjectCount]]:
    window, language = _window(request, from_, to), lang_of(lang)
    return await _answer(request, lambda d: q.by_subject(d, window, language), groupings=("subject",))


@analytics_get("/admissions-2026/daily", summary="Admissions 2026 applications per local day, optionally per group")
async def admissions_daily(
    request: Req, from_: FromParam = None, to: ToParam = None, group_by: GroupByParam = None, lang: LangParam = None
) -> Response[q.DailyAdmissions]:
    window, dim, language = _window(request, from_, to), group_by_of(group_by), lang_of(lang)
    return await _answer(request, lambda d: q.admissions_daily(d, window, dim, language), daily=dim or "status")


@analytics_get(
    "/applications/funnel", summary="Applications by kind and status (drafts count only in an unbounded window)"
)
async def applications_funnel(request: Req, from_: FromParam = None, to: ToParam = None) -> Response[q.Funnel]:
    window = _window(request, from_, to)
    return await _answer(request, lambda d: q.funnel(d, window), groupings=("kind_status",))


@analytics_get("/applications/by-region", summary="Applications by region, with a breakdown by kind")
async def applications_by_region(
    request: Req, from_: FromParam = None, to: ToParam = None, kind: KindParam = None, lang: LangParam = None
) -> Response[list[q.RegionCount]]:
    window, only, language = _window(request, from_, to), kind_of(kind), lang_of(lang)
    return await _answer(request, lambda d: q.by_region(d, window, language, only), groupings=("region_kind",))


# --- bot2 --------------------------------------------------------------------------------------------------------


class _Bot2:
    """The parameters every bot2 endpoint shares, validated."""

    def __init__(
        self,
        request: Req,
        raw_from: str | None,
        raw_to: str | None,
        campaign: str | None,
        academic_year: str | None,
        lang: str | None,
    ) -> None:
        self.window = _window(request, raw_from, raw_to)
        self.campaign = campaign_of(campaign)
        self.academic_year = academic_year_of(academic_year)
        self.lang = lang_of(lang)

    def grid(self, data: AnalyticsData) -> q.CoverageGrid:
        return q.coverage_grid(data, self.window, self.campaign, self.academic_year, self.lang)


@analytics_get("/bot2/course-year-coverage", summary="Coverage per course year 1..5 (roster totals of the campaign)")
async def course_year_coverage(
    request: Req,
    from_: FromParam = None,
    to: ToParam = None,
    campaign: CampaignParam = None,
    academic_year: AcademicYearParam = None,
) -> Response[list[q.YearCoverage]]:
    p = _Bot2(request, from_, to, campaign, academic_year, None)
    return await _answer(request, lambda d: q.course_year_coverage(p.grid(d)), bot2=p.campaign)


@analytics_get("/bot2/program-coverage", summary="Coverage per program (every program with roster rows or responses)")
async def program_coverage(
    request: Req,
    from_: FromParam = None,
    to: ToParam = None,
    campaign: CampaignParam = None,
    academic_year: AcademicYearParam = None,
    course_year: CourseYearParam = None,
    lang: LangParam = None,
) -> Response[list[q.ProgramCoverage]]:
    p = _Bot2(request, from_, to, campaign, academic_year, lang)
    year = course_year_of(course_year, required=False)
    return await _answer(request, lambda d: q.program_coverage(p.grid(d), year), bot2=p.campaign)


@analytics_get("/bot2/program-course-matrix", summary="Coverage per program × course year")
async def program_course_matrix(
    request: Req,
    from_: FromParam = None,
    to: ToParam = None,
    campaign: CampaignParam = None,
    academic_year: AcademicYearParam = None,
    lang: LangParam = None,
) -> Response[q.ProgramCourseMatrix]:
    p = _Bot2(request, from_, to, campaign, academic_year, lang)
    return await _answer(request, lambda d: q.program_course_matrix(p.grid(d)), bot2=p.campaign)


@analytics_get("/bot2/program-details-by-year", summary="One course year: coverage and employment per program")
async def program_details_by_year(
    request: Req,
    from_: FromParam = None,
    to: ToParam = None,
    campaign: CampaignParam = None,
    academic_year: AcademicYearParam = None,
    course_year: CourseYearParam = None,
    lang: LangParam = None,
) -> Response[list[q.ProgramDetails]]:
    year = course_year_of(course_year, required=True)
    p = _Bot2(request, from_, to, campaign, academic_year, lang)
    assert year is not None
    return await _answer(request, lambda d: q.program_details_by_year(p.grid(d), year), bot2=p.campaign)


@analytics_get("/bot2/enrollments-overview", summary="Totals, per course year and per program × year")
async def enrollments_overview(
    request: Req,
    from_: FromParam = None,
    to: ToParam = None,
    campaign: CampaignParam = None,
    academic_year: AcademicYearParam = None,
    lang: LangParam = None,
) -> Response[q.EnrollmentsOverview]:
    p = _Bot2(request, from_, to, campaign, academic_year, lang)
    return await _answer(request, lambda d: q.enrollments_overview(p.grid(d)), bot2=p.campaign)


@analytics_get("/bot2/employment", summary="Employed / unemployed (exact status `employed`) by program and course year")
async def bot2_employment(
    request: Req,
    from_: FromParam = None,
    to: ToParam = None,
    campaign: CampaignParam = None,
    lang: LangParam = None,
) -> Response[q.Employment]:
    p = _Bot2(request, from_, to, campaign, None, lang)
    return await _answer(request, lambda d: q.employment(p.grid(d), p.campaign), bot2=p.campaign)


def analytics_router() -> Router:
    return Router(
        path="/analytics",
        guards=[requires_viewer],
        tags=["analytics"],
        route_handlers=[
            admissions_by_direction,
            admissions_by_track,
            polito_by_subject,
            admissions_daily,
            applications_funnel,
            applications_by_region,
            course_year_coverage,
            program_coverage,
            program_course_matrix,
            program_details_by_year,
            enrollments_overview,
            bot2_employment,
        ],
    )
