"""`GET /api/v1/exports/{dataset}.{csv|parquet|xlsx}` (SPEC §9) and the same export to a file for `crm export` and
scheduled reports. Rows stream from the published snapshot; an unfiltered mart as Parquet is its snapshot file."""

from __future__ import annotations

import shutil
from datetime import tzinfo
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get
from litestar.params import PathParameter, QueryParameter
from litestar.response import File, Stream

from ingest.auth.guards import requires_viewer
from ingest.core.problems import ProblemError
from ingest.core.settings import Settings
from ingest.http.windows import Window, parse_window
from reports.exports.datasets import DATASETS, Dataset, Filters, check_filters, dataset_of, filename, query, status_of
from reports.exports.writers import FORMATS, chunks, file_chunks
from reports.params import (
    CampaignParam,
    FromParam,
    KindParam,
    LangParam,
    ToParam,
    campaign_of,
    kind_of,
    lang_of,
)
from reports.snapshot_http import (
    no_snapshot,
    not_modified,
    request_etag,
    snapshot_headers,
    snapshot_response,
    store_of,
)
from warehouse.snapshot import Snapshot, current, parts

Req = Request[Any, Any, Any]
StatusParam = Annotated[str | None, QueryParameter(description="application status (datasets with a status column)")]


class DatasetInfo(msgspec.Struct):
    name: str
    description: str
    formats: list[str]
    filters: list[str]
    url: str


def _filters_of(dataset: Dataset) -> list[str]:
    names = ["from", "to"] if dataset.time_column else []
    names += [
        n
        for n, ok in (
            ("campaign", dataset.campaign_column),
            ("kind", dataset.has_kind),
            ("status", dataset.has_status),
            ("lang", dataset.flattened),
        )
        if ok
    ]
    return names


def build_filters(
    dataset: Dataset,
    window: Window,
    campaign: str | None,
    kind: str | None,
    status: str | None,
    lang: str | None,
) -> Filters:
    if lang is not None and not dataset.flattened:
        raise ProblemError(
            400,
            "FILTER_NOT_SUPPORTED",
            f"{dataset.name} has no labels; lang applies to applications and survey-responses.",
            field="lang",
        )
    filters = Filters(window, campaign, kind, status, lang or "en")
    check_filters(dataset, filters)
    return filters


def split_name(name: str) -> tuple[Dataset, str]:
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FORMATS:
        raise ProblemError(
            404, "UNKNOWN_FORMAT", f"Export as one of {', '.join(FORMATS)}: /exports/<dataset>.csv", field="format"
        )
    return dataset_of(stem), fmt


def snapshot_file(snapshot: Snapshot, dataset: Dataset, filters: Filters, fmt: str) -> Path | None:
    """An unfiltered mart as Parquet is exactly the snapshot's file (a segmented mart's only part): sent as is."""
    if fmt != "parquet" or dataset.flattened or filters.any:
        return None
    files = parts(snapshot.files[dataset.mart])
    return files[0] if len(files) == 1 else None


def export_chunks(snapshot: Snapshot, dataset: Dataset, filters: Filters, fmt: str, tz: tzinfo) -> Any:
    """The export's bytes as an iterator; the query runs as it is consumed."""
    if path := snapshot_file(snapshot, dataset, filters, fmt):
        return file_chunks(path)
    sql, params = query(dataset, filters, tz)
    return chunks(snapshot, sql, params, fmt, sheet=dataset.name)


def write_export(
    settings: Settings, dataset: Dataset, filters: Filters, fmt: str, out: Path, snapshot: Snapshot | None = None
) -> tuple[Path, Snapshot]:
    """Write one export to `out` (a file, or a directory that gets the descriptive file name) from `snapshot` (default:
    the current one); for the CLI and the report runner. Written under a temporary name first, so a failed export
    never leaves a partial file."""
    snapshot = snapshot or current(settings)
    if snapshot is None:
        raise no_snapshot()
    if out.is_dir():
        out = out / filename(dataset, filters, snapshot.built_at, fmt, settings.tz)
    partial = out.with_name(out.name + ".partial")
    try:
        if path := snapshot_file(snapshot, dataset, filters, fmt):
            shutil.copyfile(path, partial)
        else:
            with partial.open("wb") as fh:
                for chunk in export_chunks(snapshot, dataset, filters, fmt, settings.tz):
                    fh.write(chunk)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return out, snapshot


@get("/", summary="The datasets that can be exported, with their filters")
async def list_exports() -> list[DatasetInfo]:
    return [
        DatasetInfo(d.name, d.description, list(FORMATS), _filters_of(d), f"/api/v1/exports/{d.name}.csv")
        for d in sorted(DATASETS.values(), key=lambda d: d.name)
    ]


@get(
    "/{name:str}",
    summary="Export a dataset as CSV, Parquet or XLSX (streamed; `name` is `<dataset>.<format>`)",
    description="Datasets: every published mart, plus `applications` and `survey-responses` (labels in `lang`). "
    "Filters as the analytics endpoints; answers carry X-Snapshot-Id, X-Data-Built-At and an ETag.",
)
async def export_dataset(
    request: Req,
    name: Annotated[str, PathParameter(description="`<dataset>.<csv|parquet|xlsx>`")],
    from_: FromParam = None,
    to: ToParam = None,
    campaign: CampaignParam = None,
    kind: KindParam = None,
    status: StatusParam = None,
    lang: LangParam = None,
) -> Response[bytes]:
    settings: Settings = request.app.state.settings
    dataset, fmt = split_name(name)
    window = parse_window(from_, to, settings.tz)
    filters = build_filters(
        dataset,
        window,
        campaign_of(campaign) if campaign is not None else None,
        kind_of(kind),
        status_of(status),
        lang_of(lang),
    )
    snapshot = store_of(request.app.state).snapshot()
    if snapshot is None:
        raise no_snapshot()
    etag = request_etag(snapshot, request, settings)
    if not_modified(request, etag):
        return snapshot_response(snapshot, etag, None)  # type: ignore[return-value]
    headers = snapshot_headers(snapshot, etag)
    download = filename(dataset, filters, snapshot.built_at, fmt, settings.tz)
    if path := snapshot_file(snapshot, dataset, filters, fmt):
        return File(path=path, filename=download, media_type=FORMATS[fmt], headers=headers)  # type: ignore[return-value]
    body = export_chunks(snapshot, dataset, filters, fmt, settings.tz)
    headers["Content-Disposition"] = f'attachment; filename="{download}"'
    return Stream(body, media_type=FORMATS[fmt], headers=headers)  # type: ignore[return-value]


def exports_router() -> Router:
    return Router(
        path="/exports", guards=[requires_viewer], tags=["exports"], route_handlers=[list_exports, export_dataset]
    )
