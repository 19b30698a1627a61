"""What `crm warehouse status` and `GET /api/v1/warehouse/status` show: the published snapshot (id, build time, age,
row counts, watermark, build seconds) and the last failed build."""

from __future__ import annotations

from typing import Any

from ingest.core.settings import Settings
from warehouse.snapshot import Snapshot, current


def snapshot_summary(snapshot: Snapshot) -> dict[str, Any]:
    m = snapshot.manifest
    return {
        "id": snapshot.id,
        "built_at": snapshot.built_at.isoformat(),
        "age_seconds": round(snapshot.age_seconds(), 3),
        "full": snapshot.full,
        "full_reason": m.get("full_reason"),
        "last_full_at": m.get("last_full_at"),
        "build_seconds": snapshot.build_seconds,
        "timings": m.get("timings", {}),
        "row_counts": snapshot.row_counts,
        "source_counts": m.get("source_counts", {}),
        "changed_rows": m.get("changed_rows", {}),
        "watermark": snapshot.watermark,
        "timezone": m.get("timezone"),
    }


def warehouse_status(settings: Settings) -> dict[str, Any]:
    """{"snapshot": {...} | None, "last_failure": {at, error, failures} | None}."""
    from warehouse.publish import last_failure  # publishing's polars loads with a build, not with the API

    snapshot = current(settings)
    failure = last_failure(settings)
    if failure is not None:
        failure = {k: failure.get(k) for k in ("at", "error", "failures")}
    return {"snapshot": snapshot_summary(snapshot) if snapshot else None, "last_failure": failure}
