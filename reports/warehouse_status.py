"""`GET /api/v1/warehouse/status` (viewer): the published snapshot, its row counts, build time and watermark, and
the last failed build; plus the probe `/readyz` uses to show the snapshot's id and age."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get

from ingest.auth.guards import requires_viewer
from ingest.core.settings import Settings
from ingest.http.health import SnapshotProbe
from warehouse.snapshot import SnapshotReader
from warehouse.status import warehouse_status


class SnapshotStatus(msgspec.Struct):
    id: str
    built_at: str
    age_seconds: float
    full: bool
    full_reason: str | None
    last_full_at: str | None
    build_seconds: float
    timings: dict[str, float]
    row_counts: dict[str, int]
    source_counts: dict[str, int]
    changed_rows: dict[str, int]
    watermark: dict[str, dict[str, str]]
    timezone: str | None


class BuildFailure(msgspec.Struct):
    at: str | None
    error: str | None
    failures: list[dict[str, str]] | None


class WarehouseStatus(msgspec.Struct):
    snapshot: SnapshotStatus | None
    last_failure: BuildFailure | None


@get(
    "/warehouse/status",
    guards=[requires_viewer],
    tags=["warehouse"],
    summary="The published snapshot (id, build time, row counts, watermark) and the last failed build",
    sync_to_thread=False,
)
def warehouse_status_route(request: Request[Any, Any, Any]) -> WarehouseStatus:
    status = warehouse_status(request.app.state.settings)
    return msgspec.convert(status, WarehouseStatus)


def snapshot_probe(settings: Settings) -> SnapshotProbe:
    """For /readyz: {id, built_at, age_seconds} of the published snapshot, or None before the first build."""
    reader = SnapshotReader(settings)

    def probe() -> dict[str, Any] | None:
        snapshot = reader.snapshot()
        return snapshot.probe() if snapshot else None

    return probe
