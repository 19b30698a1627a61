"""Running the API: `crm serve` (uvicorn, optionally several worker processes) and the in-process server of `crm up`,
beside which background jobs (the worker of `crm.worker`) can run in the same event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import uvicorn
from litestar import Litestar

from crm.app import create_app

BackgroundJob = Callable[[], Awaitable[None]]


def app_factory() -> Litestar:
    """Import path for uvicorn workers (`crm.server:app_factory`); settings come from the environment."""
    return create_app()


def _config(app: Litestar | str, host: str, port: int, **kw: object) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on", **kw)  # type: ignore[arg-type]


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
