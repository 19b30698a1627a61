"""Running the API: `crm serve` (uvicorn, optionally several worker processes) and the in-process server of `crm up`,
beside which background jobs (the worker of `crm.worker`) can run in the same event loop."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Awaitable, Callable

import uvicorn
from litestar import Litestar

from crm.app import create_app
from crm.metrics import prepare_multiprocess
from ingest.core.settings import get_settings

BackgroundJob = Callable[[], Awaitable[None]]
# After SIGTERM, requests in flight (a streamed export, say) get this long to finish before uvicorn cancels them.
SHUTDOWN_GRACE_SECONDS = 30


def _exit_cleanly_after_sigterm() -> None:
    """uvicorn shuts down gracefully on SIGTERM, then raises the signal again under the handler it found. With the
    default one that kills the process (exit 143) before `crm up`'s worker has let a running build finish: a no-op
    handler lets the shutdown run to its end and exit 0."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: None)


def app_factory() -> Litestar:
    """Import path for uvicorn workers (`crm.server:app_factory`); settings come from the environment."""
    return create_app()


def _config(app: Litestar | str, host: str, port: int, **kw: object) -> uvicorn.Config:
    kw.setdefault("timeout_graceful_shutdown", SHUTDOWN_GRACE_SECONDS)
    return uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on", **kw)  # type: ignore[arg-type]


def serve(host: str, port: int, workers: int = 1) -> None:
    """Serve until interrupted; with several workers uvicorn supervises the processes."""
    if workers > 1:
        prepare_multiprocess(get_settings())  # the workers' metrics, summed by whichever one is scraped
        uvicorn.run(
            "crm.server:app_factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
        )
        return
    _exit_cleanly_after_sigterm()
    uvicorn.Server(_config(create_app(), host, port)).run()


async def serve_with(app: Litestar, host: str, port: int, jobs: list[BackgroundJob]) -> None:
    """Serve `app` and run `jobs` beside it; when the server stops, the jobs are cancelled (the worker lets a running
    build finish first: `crm.worker.run_scheduler`)."""
    server = uvicorn.Server(_config(app, host, port))
    _exit_cleanly_after_sigterm()
    tasks = [asyncio.create_task(job()) for job in jobs]
    try:
        await server.serve()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
