"""Exports (SPEC §9) in CSV, Parquet and XLSX, over HTTP and `crm export`: content equal to the operational rows
(flattened datasets with labels in the asked language), every mart whole, the unfiltered Parquet identical to the
snapshot file, descriptive file names, snapshot headers and 304, and 4xx for bad requests."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from crm.cli import cli
from ingest.core.schema import APPLICATION_MODELS
from tests.analytics_dataset import auth as auth  # a fixture
from tests.analytics_dataset import publish as publish  # a fixture
from tests.test_analytics import Ops, inside, label, window_of
from tests.test_analytics import dataset as dataset
from warehouse.contract import MARTS
from warehouse.snapshot import current, parts

E = "/api/v1/exports"


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def xlsx_rows(content: bytes) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    rows = [list(r) for sheet in book.worksheets for r in sheet.iter_rows(values_only=True)]
    header = rows[0]
    return [dict(zip(header, r, strict=True)) for r in rows[1:] if r != header]


def expected_applications(ops: Ops, params: dict[str, str], kind: str | None) -> Counter:
    window = window_of(params)
    return Counter(
        (a.kind, a.status, label(ops, a.region, "ru") if a.region else None)
        for a in ops.apps
        if (kind is None or a.kind == kind) and (window == (None, None) or inside(a.submitted_at, window))
    )


async def test_applications_in_every_format_equal_the_operational_rows(client, auth, dataset) -> None:
    ops: Ops = dataset["ops"]
    params = {"from": "2026-03-05", "to": "2026-03-20T12:00:00", "kind": "admissions-2026", "lang": "ru"}
    expected = expected_applications(ops, params, "admissions-2026")
    assert sum(expected.values()) > 20
    for fmt in ("csv", "parquet", "xlsx"):
        response = await client.get(f"{E}/applications.{fmt}", params=params, headers=auth)
        assert response.status_code == 200, response.text
        assert response.headers["x-snapshot-id"] == dataset["snapshot_id"]
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert "applications_2026-03-05_to_2026-03-20T120000_admissions-2026_ru_snapshot-" in disposition
        assert disposition.rstrip('"').endswith(f".{fmt}")
        if fmt == "csv":
            rows = csv_rows(response.content)
        elif fmt == "parquet":
            rows = pq.read_table(io.BytesIO(response.content)).to_pylist()
        else:
            rows = xlsx_rows(response.content)
        got = Counter((r["kind"], r["status"], r["region"] or None) for r in rows)
        assert got == expected, fmt
        # labels are the Russian catalog names
        directions = {r["direction"] for r in rows}
        assert directions <= {row.name_ru for row in ops.catalog.values() if row.type == "direction"}


async def test_survey_responses_by_campaign_and_window(client, auth, dataset) -> None:
    ops: Ops = dataset["ops"]
    params = {"from": "2026-03-10T00:00:00+05:00", "campaign": "alt", "lang": "uz"}
    window = window_of(params)
    expected = sorted(str(x.id) for x in ops.responses if x.campaign == "alt" and inside(x.submitted_at, window))
    response = await client.get(f"{E}/survey-responses.csv", params=params, headers=auth)
    rows = csv_rows(response.content)
    assert sorted(r["response_id"] for r in rows) == expected
    assert {r["survey_campaign"] for r in rows} == {"alt"}
    latest = sum(r["is_latest"] == "true" for r in rows)
    assert 0 < latest <= len(rows)


async def test_every_mart_exports_whole_and_unfiltered_parquet_is_the_snapshot_file(
    client, auth, dataset, settings
) -> None:
    snapshot = current(settings)
    assert snapshot is not None
    listing = (await client.get(E, headers=auth)).json()
    names = {d["name"] for d in listing}
    assert names == set(MARTS) | {"applications", "survey-responses"}
    for mart in MARTS:
        response = await client.get(f"{E}/{mart}.csv", headers=auth)
        assert response.status_code == 200, (mart, response.text)
        assert len(csv_rows(response.content)) == snapshot.row_counts[mart], mart
        parquet = await client.get(f"{E}/{mart}.parquet", headers=auth)
        (only,) = parts(snapshot.files[mart])  # small marts: a segmented one is a single part
        assert parquet.content == only.read_bytes(), mart
        assert mart in parquet.headers["content-disposition"]
    # a filtered mart is written anew, with only the matching rows
    filtered = await client.get(f"{E}/fct_applications.parquet", params={"status": "approved"}, headers=auth)
    table = pq.read_table(io.BytesIO(filtered.content))
    assert set(table.column("status").to_pylist()) == {"approved"}
    assert table.num_rows == sum(a.status == "approved" for a in dataset["ops"].apps)


async def test_daily_rollups_filter_whole_local_days(client, auth, dataset) -> None:
    ops: Ops = dataset["ops"]
    response = await client.get(
        f"{E}/agg_applications_daily.csv", params={"from": "2026-03-05", "to": "2026-03-06"}, headers=auth
    )
    rows = csv_rows(response.content)
    assert {r["submitted_date"] for r in rows} == {"2026-03-05", "2026-03-06"}
    window = window_of({"from": "2026-03-05", "to": "2026-03-06"})
    assert sum(int(r["applications"]) for r in rows) == sum(inside(a.submitted_at, window) for a in ops.apps)
    assert {r["kind"] for r in rows} <= set(APPLICATION_MODELS)


async def test_export_etag_and_304(client, auth, dataset) -> None:
    first = await client.get(f"{E}/applications.csv", headers=auth)
    etag = first.headers["etag"]
    again = await client.get(f"{E}/applications.csv", headers={**auth, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = await client.get(f"{E}/applications.csv", params={"lang": "uz"}, headers=auth)
    assert other.headers["etag"] != etag


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "field"),
    [
        ("/nothing.csv", {}, 404, "UNKNOWN_DATASET", "dataset"),
        ("/applications.json", {}, 404, "UNKNOWN_FORMAT", "format"),
        ("/applications", {}, 404, "UNKNOWN_FORMAT", "format"),
        ("/dim_catalog.csv", {"from": "2026-01-01"}, 400, "FILTER_NOT_SUPPORTED", "from"),
        ("/fct_enrollment.csv", {"kind": "foundation"}, 400, "FILTER_NOT_SUPPORTED", "kind"),
        ("/fct_applications.csv", {"campaign": "default"}, 400, "FILTER_NOT_SUPPORTED", "campaign"),
        ("/fct_applications.csv", {"lang": "ru"}, 400, "FILTER_NOT_SUPPORTED", "lang"),
        ("/applications.csv", {"lang": "fr"}, 400, "INVALID_LANG", "lang"),
        ("/applications.csv", {"status": "lost"}, 400, "INVALID_STATUS", "status"),
        ("/applications.csv", {"kind": "visa"}, 400, "INVALID_KIND", "kind"),
        ("/applications.xlsx", {"from": "2026-02-31"}, 400, "INVALID_TIME_RANGE", "from"),
        ("/survey-responses.parquet", {"from": "2026-03-02", "to": "2026-03-01"}, 400, "INVALID_TIME_RANGE", "from"),
    ],
)
async def test_bad_export_requests(client, auth, path, params, status, code, field) -> None:
    response = await client.get(E + path, params=params, headers=auth)
    assert response.status_code == status, response.text
    assert (response.json()["code"], response.json()["field"]) == (code, field)


async def test_exports_need_a_user_and_a_snapshot(client, auth) -> None:
    assert (await client.get(f"{E}/applications.csv")).status_code == 401
    response = await client.get(f"{E}/applications.csv", headers=auth)
    assert response.status_code == 503 and response.json()["code"] == "NO_SNAPSHOT"


def cli_env(settings) -> dict[str, str]:
    return {
        "CRM_DATABASE_URL": settings.database_url,
        "CRM_DATA_DIR": str(settings.data_dir),
        "CRM_TIMEZONE": settings.timezone,
        "CRM_SECRET_KEY": settings.secret_key,
        "CRM_ENV": "test",
    }


async def test_crm_export_writes_the_same_content(client, auth, dataset, settings, tmp_path) -> None:
    runner = CliRunner()
    args = ["export", "survey-responses", "--format", "csv", "--campaign", "default", "--from", "2026-03-05"]
    result = runner.invoke(cli, [*args, "-o", str(tmp_path)], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    files = list(tmp_path.glob("survey-responses_2026-03-05_to_now_default_en_snapshot-*.csv"))
    assert len(files) == 1
    api = await client.get(
        f"{E}/survey-responses.csv", params={"campaign": "default", "from": "2026-03-05"}, headers=auth
    )
    assert files[0].read_bytes() == api.content
    out = tmp_path / "mine.xlsx"
    result = runner.invoke(cli, ["export", "applications", "--format", "xlsx", "-o", str(out)], env=cli_env(settings))
    assert result.exit_code == 0, result.output
    assert len(xlsx_rows(out.read_bytes())) == len(dataset["ops"].apps)
    bad = runner.invoke(cli, ["export", "applications", "--from", "soon", "-o", str(out)], env=cli_env(settings))
    assert bad.exit_code == 1 and "--from" in bad.output


async def test_a_stopped_export_ends_its_copy_and_errors_reach_the_consumer(session, settings, publish) -> None:
    import threading

    from ingest.catalog.seed import seed_catalog
    from reports.exports.datasets import Filters, dataset_of, query
    from reports.exports.writers import copy_chunks

    await seed_catalog(session)
    await session.commit()
    await publish()
    snapshot = current(settings)
    sql, params = query(dataset_of("dim_catalog"), Filters(), settings.tz)
    big = f"SELECT c.*, r.range AS n FROM ({sql}) c, range(200000) r"  # enough rows to still be copying
    stream = copy_chunks(snapshot, big, params, "csv")
    assert next(stream).startswith(b"item_id,type,code")
    stream.close()  # the client hung up
    assert not [t for t in threading.enumerate() if t.name == "crm-export-copy"]
    with pytest.raises(Exception, match="no_such_table"):
        list(copy_chunks(snapshot, "SELECT * FROM no_such_table", [], "csv"))
