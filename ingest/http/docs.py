"""The OpenAPI document and its Swagger UI page, whose JavaScript and CSS are served by the app (no CDN): the
assets come from the swagger-ui-py package."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.router import Router
from litestar.static_files import create_static_files_router

ASSETS_PATH = "/docs-assets"


def _swagger_assets_dir() -> str:
    # Located, not imported: importing swagger_ui loads jinja2 and its Flask/Django glue, which we do not use.
    spec = find_spec("swagger_ui")
    assert spec and spec.submodule_search_locations, "swagger-ui-py is not installed"
    return str(Path(spec.submodule_search_locations[0]) / "static")


def docs_assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH, directories=[_swagger_assets_dir()], include_in_schema=False, name="docs-assets"
    )


def openapi_config(version: str) -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        path=["/", "/swagger"],
        favicon="<link rel='icon' href='data:,'>",
    )
    return OpenAPIConfig(
        title="TTPU CRM warehouse",
        version=version,
        description="Ingestion API for the bots, dashboard API, analytics and exports. Errors are RFC 9457 "
        "problem+json with a stable `code`.",
        path="/schema",
        render_plugins=[JsonRenderPlugin(path="/openapi.json"), swagger],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                "ServiceToken": SecurityScheme(type="apiKey", name="X-SERVICE-TOKEN", security_scheme_in="header"),
            }
        ),
    )
