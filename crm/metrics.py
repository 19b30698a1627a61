"""`GET /metrics` (Prometheus text format, prometheus-client): HTTP requests and latency by route template and status
(Litestar's PrometheusMiddleware with `group_path`: the template, never the raw path, so no ids in labels);
ingestion outcomes (ingest/submissions/metrics.py); and, read when scraped, the published snapshot (age, id, build
seconds, rows per mart), the last failed build and report runs by status.

On in dev, off elsewhere unless CRM_METRICS=true. Under `crm serve --workers N` every process writes its counters to
PROMETHEUS_MULTIPROC_DIR (`<data dir>/prometheus`, emptied at start) and any process answers for all of them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
from litestar import Request, Response, get
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from ingest.core.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
MULTIPROC_SUBDIR = "prometheus"
# Request latency buckets, seconds: ingestion answers in milliseconds, exports may stream for minutes.
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]


def prepare_multiprocess(settings: Settings) -> Path | None:
    """Before uvicorn starts N workers: an empty PROMETHEUS_MULTIPROC_DIR under the data dir, in the environment the
    workers inherit (prometheus-client picks its multiprocess storage when it is first imported in a process)."""
    if not settings.metrics_enabled:
        return None
    path = settings.data_dir / MULTIPROC_SUBDIR
    shutil.rmtree(path, ignore_errors=True)  # counters of a previous run's dead processes would be summed in
    path.mkdir(parents=True)
    os.environ[MULTIPROC_ENV] = str(path)
    return path


def http_metrics() -> PrometheusConfig:
    return PrometheusConfig(app_name="crm", prefix="crm_http", group_path=True, buckets=BUCKETS, exclude=["^/metrics$"])


class _Families(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


class _Process(Collector):
    """This process's registry (one process: everything prometheus-client and Litestar registered)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def scrape_time_families(settings: Settings) -> list[Metric]:
    """What the files say now: the published snapshot, the last failed build and report runs."""
    from reports.schedule.runs import RunStore  # the warehouse's readers (polars, DuckDB) load on the first scrape
    from warehouse.status import warehouse_status

    status = warehouse_status(settings)
    snap, failure = status["snapshot"], status["last_failure"]
    age = GaugeMetricFamily("crm_snapshot_age_seconds", "Seconds since the published snapshot was built")
    info = InfoMetricFamily("crm_snapshot", "The published snapshot", labels=[])
    built = GaugeMetricFamily("crm_snapshot_build_seconds", "Seconds the published snapshot took to build")
    rows = GaugeMetricFamily("crm_mart_rows", "Rows per mart in the published snapshot", labels=["mart"])
    steps = GaugeMetricFamily(
        "crm_snapshot_build_step_seconds", "Seconds per step of the published snapshot's build", labels=["step"]
    )
    if snap is not None:
        age.add_metric([], snap["age_seconds"])
        info.add_metric([], {"id": snap["id"], "full": str(bool(snap["full"])).lower()})
        built.add_metric([], snap["build_seconds"])
        for mart, n in sorted(snap["row_counts"].items()):
            rows.add_metric([mart], n)
        for step, seconds in sorted(snap["timings"].items()):
            if isinstance(seconds, int | float):
                steps.add_metric([step], seconds)
    failed = GaugeMetricFamily(
        "crm_build_last_failure_timestamp_seconds", "When the last failed build failed (Unix time; 0: none recorded)"
    )
    failed.add_metric([], _timestamp(failure.get("at")) if failure else 0.0)
    runs = GaugeMetricFamily("crm_report_runs", "Scheduled report runs recorded, by status", labels=["status"])
    counts = RunStore(settings).count_by_status()
    for run_status in ("running", "succeeded", "failed"):
        runs.add_metric([run_status], counts.get(run_status, 0))
    return [age, info, built, rows, steps, failed, runs]


def _timestamp(value: Any) -> float:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return 0.0


def forget_dead_processes(path: Path) -> list[int]:
    """Drop the live-gauge files of processes that are gone (a worker killed with -9 or restarted by uvicorn): a
    `livesum` gauge such as crm_ingest_in_flight would otherwise keep counting what the dead worker had in flight.
    Counters and histograms stay: their totals must not go back. Returns the pids forgotten."""
    dead = set()
    for file in path.glob("gauge_live*_*.db"):
        pid = int(file.stem.rsplit("_", 1)[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            dead.add(pid)
        except PermissionError:
            pass  # alive, another user's
    for pid in dead:
        multiprocess.mark_process_dead(pid, str(path))  # type: ignore[no-untyped-call]
    return sorted(dead)


def exposition(settings: Settings) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if directory := os.environ.get(MULTIPROC_ENV):
        forget_dead_processes(Path(directory))
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Process())
    registry.register(_Families(scrape_time_families(settings)))
    return generate_latest(registry)


@get("/metrics", include_in_schema=False)
async def metrics_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Prometheus text format; reading the snapshot's and the runs' files happens off the event loop."""
    body = await anyio.to_thread.run_sync(exposition, request.app.state.settings)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def write_outbox_textfile(path: Path, bot: str, *, queued: int, dead: int, delivered: int) -> None:
    """A bot's outbox as a node_exporter textfile (`crm bot status NAME --prometheus FILE`, e.g. from cron); written
    to a temporary file and renamed, so the collector never reads half of it."""
    from prometheus_client import Gauge, write_to_textfile

    registry = CollectorRegistry()
    for metric, help_text, n in (
        ("crm_bot_outbox_queued", "Submissions stored in the bot's outbox and not yet delivered", queued),
        ("crm_bot_outbox_dead_letters", "Submissions the API refused (waiting for `crm bot requeue`)", dead),
        ("crm_bot_outbox_delivered", "Submissions delivered (kept for their idempotency keys)", delivered),
    ):
        Gauge(metric, help_text, ["bot"], registry=registry).labels(bot).set(n)
    write_to_textfile(str(path), registry)
