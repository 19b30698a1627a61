"""`crm export DATASET --format csv|parquet|xlsx [--from --to ...] -o FILE`: the API's exports, to a file."""

from __future__ import annotations

import time
from pathlib import Path

import click

from crm.commands.common import fail, settings_or_exit
from crm.context import console
from ingest.core.problems import ProblemError
from ingest.http.windows import parse_window
from reports.exports.datasets import DATASETS, dataset_of, status_of
from reports.exports.routes import build_filters, write_export
from reports.exports.writers import FORMATS
from reports.params import campaign_of, kind_of, lang_of


@click.command()
@click.argument("dataset", type=click.Choice(sorted(DATASETS)), metavar="DATASET")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="csv", show_default=True)
@click.option("--from", "from_", help="window start: ISO date or datetime (naive = CRM_TIMEZONE)")
@click.option("--to", help="window end, exclusive; a date alone includes that whole day")
@click.option("--campaign", help="survey/roster campaign")
@click.option("--kind", help="application kind (admissions-2026, campus-tour, foundation, polito-academy)")
@click.option("--status", help="application status")
@click.option("--lang", help="label language for applications / survey-responses: uz, ru or en")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="file to write, or a directory (the file then gets a name that says dataset, filters and snapshot time)",
)
def export(
    dataset: str,
    fmt: str,
    from_: str | None,
    to: str | None,
    campaign: str | None,
    kind: str | None,
    status: str | None,
    lang: str | None,
    output: Path,
) -> None:
    """Export DATASET (a mart, `applications` or `survey-responses`) from the published snapshot."""
    settings = settings_or_exit()
    started = time.perf_counter()
    try:
        spec = dataset_of(dataset)
        filters = build_filters(
            spec,
            parse_window(from_, to, settings.tz),
            campaign_of(campaign) if campaign is not None else None,
            kind_of(kind),
            status_of(status),
            lang_of(lang),
        )
        with console.status(f"Exporting {dataset} as {fmt}…"):
            path, snapshot = write_export(settings, spec, filters, fmt, output)
    except ProblemError as exc:
        option = f" (--{exc.field.replace('_', '-')})" if exc.field else ""
        hint = "run `crm warehouse build` first" if exc.code == "NO_SNAPSHOT" else "fix the option and run again"
        fail(f"{exc.detail}{option}", hint)
        return
    size = path.stat().st_size
    console.print(
        f"[green]✓[/] {path} ({size / 2**20:.1f} MiB, snapshot {snapshot.id}, {time.perf_counter() - started:.1f} s)"
    )
