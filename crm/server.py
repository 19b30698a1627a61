"""Running the API: `crm serve` (uvicorn, optionally several worker processes) and the in-process server of `crm up`,
beside which background jobs (the warehouse worker) can run in the same event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import uvicorn
from litestar import Litestar

from crm.app import create_app
from ingest.core.settings import get_settings

BackgroundJob = Callable[[], Awaitable[None]]


def app_factory() -> Litestar:
    """Import path for uvicorn workers (`crm.server:app_factory`); settings come from the environment."""
    return create_app()


def proxy_options(trusted_proxies: tuple[str, ...]) -> dict[str, object]:
    """uvicorn believes `X-Forwarded-For`/`-Proto` only from CRM_TRUSTED_PROXIES; its default trusts any loopback
    peer, which would let a client on the same host pick its own IP before `ingest.http.client_ip` is consulted."""
    return {"proxy_headers": bool(trusted_proxies), "forwarded_allow_ips": list(trusted_proxies)}


def _config(app: Litestar, host: str, port: int) -> uvicorn.Config:
    proxies = proxy_options(app.state.settings.trusted_proxies)
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on", **proxies)  # type: ignore[arg-type]


def serve(host: str, port: int, workers: int = 1) -> None:
    """Serve until interrupted; with several workers uvicorn supervises the processes."""
    if workers > 1:
        uvicorn.run(
            "crm.server:app_factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            **proxy_options(get_settings().trusted_proxies),  # type: ignore[arg-type]
        )
        return
    uvicorn.Server(_config(create_app(), host, port)).run()


async def serve_with(app: Litestar, host: str, port: int, jobs: list[BackgroundJob]) -> None:
    """Serve `app` and run `jobs` beside it; when the server stops, the jobs are cancelled."""
    server = uvicorn.Server(_config(app, host, port))
    tasks = [asyncio.create_task(job()) for job in jobs]
    try:
        await server.serve()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
