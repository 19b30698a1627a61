"""Bounded roster reading (issue 17, finding 2): hostile files, built here as an attacker would build them, are refused
with 400 INVALID_FILE naming the limit, before anything is allocated for them; the server (a real `crm serve`) and
the CLI live on; files within the limits still import."""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import openpyxl
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from ingest.roster.file import read_roster_file
from ingest.roster.limits import MAX_CELLS, MAX_ROWS
from tests.dashboard_support import API, PASSWORD, Account, add_user, admin
from tests.e2e import clean_env, crm_process, free_port, wait_ready

__all__ = ["admin"]

IMPORT = f"{API}/admin/roster/import"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "xl/worksheets/sheet1.xml"


def workbook(**cells: object) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["A1"], sheet["B1"], sheet["C1"] = "student_external_id", "program", "course_year"
    for ref, value in cells.items():
        sheet[ref] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def far_cell() -> bytes:
    """The issue's 1.5 KB file: one cell at A1 and one at XFD1048576 (a dense reader allocates 512 GiB)."""
    return workbook(XFD1048576="x")


def rewritten(data: bytes, edit, compression: int = zipfile.ZIP_DEFLATED) -> bytes:  # type: ignore[no-untyped-def]
    """The workbook with its first sheet's XML passed through `edit`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", compression) as dst:
        for info in src.infolist():
            content = src.read(info)
            dst.writestr(info.filename, edit(content) if info.filename == SHEET else content)
    return out.getvalue()


def lying_dimension() -> bytes:
    """Declares A1:C2 but holds a cell at ZZ50000 (702 columns × 50,000 rows)."""
    return rewritten(
        workbook(ZZ50000="x"), lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:C2"', xml)
    )


def reordered_attributes() -> bytes:
    """The lying dimension again, with each cell's `r` after its other attributes."""
    return rewritten(lying_dimension(), lambda xml: re.sub(rb'<c r="([^"]*)"([^>]*)>', rb'<c\2 r="\1">', xml))


def positional_far_row() -> bytes:
    """No `r` on the cells and no dimension: a row numbered 300,000 holding one cell found by position."""

    def edit(xml: bytes) -> bytes:
        xml = re.sub(rb"<dimension [^>]*/>", b"", xml)
        return xml.replace(b"</sheetData>", b'<row r="300000"><c t="inlineStr"><is><t>x</t></is></c></row></sheetData>')

    return rewritten(workbook(), edit)


def zip_bomb() -> bytes:
    """101 MB of blanks inside the sheet, deflated to about 100 KB."""
    return rewritten(workbook(), lambda xml: xml.replace(b"</worksheet>", b" " * (101 * 1024 * 1024) + b"</worksheet>"))


def lying_zip_sizes() -> bytes:
    """A zip whose central directory says the 101 MB sheet is 100 bytes (a reader that trusts it grows later)."""
    data = bytearray(zip_bomb())
    name = SHEET.encode()
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46 : at + 46 + name_len] == name:
            struct.pack_into("<I", data, at + 24, 100)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def csv_rows(n: int) -> bytes:
    return ("student_external_id,program,course_year\n" + "".join(f"s{i},B-UZ-SE,1\n" for i in range(n))).encode()


HOSTILE = {
    "far_cell": (far_cell, XLSX, "200,000 rows"),
    "wide": (lambda: workbook(XFD1000="x"), XLSX, f"{MAX_CELLS:,} cells"),
    "lying_dimension": (lying_dimension, XLSX, f"{MAX_CELLS:,} cells"),
    "reordered_attributes": (reordered_attributes, XLSX, f"{MAX_CELLS:,} cells"),
    "positional_far_row": (positional_far_row, XLSX, "200,000 rows"),
    "zip_bomb": (zip_bomb, XLSX, "at most 100 MB"),
    "lying_zip_sizes": (lying_zip_sizes, XLSX, "cannot be read"),
    "csv_rows": (lambda: csv_rows(MAX_ROWS + 1), "text/csv", "200,000 rows"),
    "csv_bytes": (lambda: csv_rows(10) + b"#" * (20 * 1024 * 1024), "text/csv", "at most 20 MB"),
    "json_rows": (lambda: b"[" + b",".join([b'{"id":"x"}'] * (MAX_ROWS + 1)) + b"]", "application/json", "200,000"),
    "json_depth": (lambda: b"[" * 100_000 + b"]" * 100_000, "application/json", "cannot be parsed"),
}


@pytest.mark.parametrize("case", HOSTILE)
async def test_hostile_files_are_refused_naming_the_limit(
    client: AsyncTestClient[Litestar], admin: Account, case: str
) -> None:
    build, media, limit = HOSTILE[case]
    body = build()
    assert len(body) < 21 * 1024 * 1024
    response = await client.post(IMPORT, content=body, headers={**admin.auth, "Content-Type": media})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "INVALID_FILE" and problem["field"] == "file"
    assert limit in problem["detail"], problem["detail"]
    assert (await client.get("/healthz")).status_code == 200


async def test_a_body_over_the_upload_limit_is_413(client: AsyncTestClient[Litestar], admin: Account) -> None:
    body = csv_rows(10) + b"#" * (22 * 1024 * 1024)
    response = await client.post(IMPORT, content=body, headers={**admin.auth, "Content-Type": "text/csv"})
    assert response.status_code == 413


def test_files_within_the_limits_are_read() -> None:
    assert len(read_roster_file(csv_rows(MAX_ROWS), "roster.csv")) == MAX_ROWS
    rows = read_roster_file(workbook(A2="s1", B2="B-UZ-SE", C2=2, A40000="s2", T40000="far but within"), "r.xlsx")
    assert rows.numbers == [2, 40000] and rows.columns["student_external_id"] == ["s1", "s2"]


@pytest.mark.e2e
async def test_a_real_server_refuses_the_far_cell_file_and_lives_on(db_url: str, session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    await add_user(session, "admin@example.com", "admin")
    await session.close()
    secret = "e2e-secret-key-long-enough-for-hs256-signing"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = clean_env(CRM_DATABASE_URL=db_url, CRM_DATA_DIR=str(tmp_path / "data"), CRM_SECRET_KEY=secret, CRM_ENV="test")
    with crm_process(["serve", "--port", str(port)], cwd=tmp_path, env=env, log=tmp_path / "serve.log") as proc:
        wait_ready(base, proc, deadline_s=60)
        login = httpx.post(f"{base}{API}/auth/login", json={"email": "admin@example.com", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access']}", "Content-Type": XLSX}
        response = httpx.post(f"{base}{IMPORT}", content=far_cell(), headers=headers, timeout=60)
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "INVALID_FILE" and "200,000 rows" in response.json()["detail"]
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        assert proc.poll() is None


def test_crm_roster_import_refuses_the_far_cell_file(db_url: str, tmp_path: Path) -> None:
    bomb = tmp_path / "roster.xlsx"
    bomb.write_bytes(far_cell())
    env = clean_env(CRM_DATABASE_URL=db_url, CRM_DATA_DIR=str(tmp_path / "data"), CRM_ENV="test")
    done = subprocess.run(
        [sys.executable, "-m", "crm", "roster", "import", str(bomb)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert "200,000 rows" in done.stdout + done.stderr
