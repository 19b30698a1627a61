"""Guards for the Litestar internals that the analytics fast paths rely on (DESIGN, "Analytics never scan a million
rows per request"; issue 12 item 8). `reports.analytics.routes.analytics_get` overrides `authorize_connection` so
guards get the handler itself instead of a copy; `reports.snapshot_http.ReadyResponse` skips `Response.__init__` and
is its own finished ASGI response. Each test fails with a message naming what changed when a Litestar upgrade moves
the ground under them; the fix is in those two modules, not here."""

from __future__ import annotations

import inspect
from typing import Any

import msgspec
from litestar import Litestar, Response, Router
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient, TestClient

from crm.app import create_app
from ingest.catalog.seed import seed_catalog
from reports.analytics.routes import analytics_get
from reports.snapshot_http import ReadyResponse
from tests.analytics_dataset import make_publisher
from tests.dashboard_support import API, viewer  # noqa: F401 (a fixture)

FUNNEL = f"{API}/analytics/applications/funnel"


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_methods_analytics_get_overrides_and_calls_keep_their_shape() -> None:
    override = HTTPRouteHandler.authorize_connection
    assert _parameters(override) == ["self", "connection"] and inspect.iscoroutinefunction(override), (
        f"Litestar changed HTTPRouteHandler.authorize_connection{inspect.signature(override)}: "
        "reports.analytics.routes.analytics_get overrides it and must follow"
    )
    assert _parameters(HTTPRouteHandler.resolve_guards) == ["self"], (
        f"Litestar changed HTTPRouteHandler.resolve_guards{inspect.signature(HTTPRouteHandler.resolve_guards)}: "
        "analytics_get.authorize_connection calls it to run every layer's guards"
    )


def test_analytics_get_runs_every_layers_guards_with_the_handler_itself() -> None:
    seen: list[tuple[str, bool]] = []

    def recorder(layer: str) -> Any:
        def guard(connection: Any, handler: Any) -> None:
            seen.append((layer, handler is connection.route_handler))

        return guard

    def deny(connection: Any, handler: Any) -> None:
        raise NotAuthorizedException("no")

    @analytics_get("/open", guards=[recorder("handler")], sync_to_thread=False)
    def open_route() -> str:
        return "ok"

    @analytics_get("/closed", guards=[deny], sync_to_thread=False)
    def closed_route() -> str:
        return "never"

    app = Litestar(
        [Router("/r", route_handlers=[open_route, closed_route], guards=[recorder("router")])],
        guards=[recorder("app")],
    )
    with TestClient(app) as client:
        assert client.get("/r/open").status_code == 200
        assert client.get("/r/closed").status_code == 401, "a guard of an analytics_get route no longer blocks"
    assert [layer for layer, _ in seen[:3]] == ["app", "router", "handler"], (
        f"Litestar no longer runs the guards of every layer through analytics_get ({seen})"
    )
    assert all(itself for _, itself in seen), (
        "guards got a copy of the handler: Litestar no longer calls the route handler's own authorize_connection, "
        "so analytics_get's override is dead (remove it or follow Litestar's new hook)"
    )


def test_the_real_app_keeps_analytics_get_and_adds_nothing_ready_response_would_drop(app: Litestar) -> None:
    """Registration keeps the handler class; and ReadyResponse ignores what Litestar passes to `to_asgi_response`
    (layered response headers, cookies, background tasks) and must not meet an `after_request` hook, so none of
    these may be configured on the routes that answer with it."""
    routes = {
        route.path: route.route_handlers
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path.startswith((f"{API}/analytics/", f"{API}/exports/"))
    }
    analytics = [
        h
        for path, handlers in routes.items()
        if path.startswith(f"{API}/analytics/")
        for h in handlers
        if "GET" in h.http_methods
    ]
    assert len(analytics) >= 12 and all(isinstance(h, analytics_get) for h in analytics), (
        "an analytics route is no longer served by an analytics_get handler after registration"
    )
    for handler in (h for handlers in routes.values() for h in handlers):
        layers = handler.ownership_layers
        assert not handler.resolve_response_headers(), f"{handler}: its layered response headers would be dropped"
        assert not handler.resolve_response_cookies(), f"{handler}: its layered response cookies would be dropped"
        assert not any(layer.after_request for layer in layers), f"{handler}: an after_request hook would see it"
        assert not any(getattr(layer, "background", None) for layer in layers), f"{handler}: background dropped"


def test_ready_response_still_skips_only_what_it_may() -> None:
    known = ["self", "content", "background", "cookies", "encoding", "headers", "media_type", "status_code"]
    assert _parameters(Response.__init__) == [*known, "type_encoders"], (
        f"Litestar changed Response.__init__{inspect.signature(Response.__init__)}: ReadyResponse skips it; check "
        "that Litestar reads none of the new attributes from a returned response before calling to_asgi_response"
    )
    assert "to_asgi_response" in vars(Response) and {"app", "request"} <= set(_parameters(Response.to_asgi_response)), (
        "Litestar no longer turns a returned Response into an ASGI app with to_asgi_response(app, request, ...): "
        "ReadyResponse overrides it to return itself"
    )


async def test_ready_responses_through_the_real_app(app, db, session, settings, client, viewer) -> None:  # noqa: F811
    """Status, headers, ETag / 304, the app's before_send hook (X-Request-Id) and the CORS middleware all still
    reach an answer that never ran Response.__init__."""
    await seed_catalog(session)
    await session.commit()
    snapshot_id = await make_publisher(app, db, session, settings)()
    ok = await client.get(FUNNEL, headers=viewer.auth)
    assert ok.status_code == 200, ok.text
    assert msgspec.json.decode(ok.content) == ok.json()
    assert ok.headers["content-type"] == "application/json"
    assert ok.headers["content-length"] == str(len(ok.content))
    assert ok.headers["x-snapshot-id"] == snapshot_id and ok.headers["x-data-built-at"]
    assert ok.headers["cache-control"] == "private, no-cache"
    assert ok.headers["x-request-id"], "the app's before_send hook no longer reaches a ReadyResponse"
    etag = ok.headers["etag"]
    again = await client.get(FUNNEL, headers={**viewer.auth, "If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert again.headers["x-snapshot-id"] == snapshot_id and again.headers["x-request-id"]
    assert isinstance(ReadyResponse(304, [], b"").to_asgi_response(None, None), ReadyResponse)  # type: ignore[arg-type]

    origin = "https://dashboard.example"
    cors_app = create_app(msgspec.structs.replace(settings, cors_origins=(origin,)))
    async with AsyncTestClient(app=cors_app) as cors_client:
        crossed = await cors_client.get(FUNNEL, headers={**viewer.auth, "Origin": origin})
    assert crossed.status_code == 200 and crossed.headers["access-control-allow-origin"] == origin, (
        "the CORS middleware no longer reaches a ReadyResponse"
    )
    assert "etag" in crossed.headers["access-control-expose-headers"].lower()


def test_two_apps_share_no_route_handler_objects(settings) -> None:
    """`crm.app.BuiltForOneApp` lets Litestar skip its deep copy of the /api/v1 router: safe only while the handlers
    under it are still copies made for each app (the sub-routers are copied into it). If Litestar stopped copying
    sub-routers, two apps would share (and re-register) the same handler objects."""
    first, second = create_app(settings), create_app(settings)
    handlers = {id(h) for route in first.routes for h in getattr(route, "route_handlers", [])}
    api = [route for route in second.routes if route.path.startswith("/api/v1/")]
    assert len(api) > 50
    assert not handlers & {id(h) for route in api for h in route.route_handlers}
