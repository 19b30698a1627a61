"""`POST /admin/roster/import` (SPEC §6): a roster file as multipart upload (field `file`) or as the raw body (CSV,
XLSX or JSON), up to 20 MB (`ingest.roster.limits`); `?dry_run=true` validates without writing. Admins only; audited."""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Request, Router, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.audit.rows import request_context
from ingest.auth.guards import current_user, requires_admin
from ingest.core.problems import ProblemError
from ingest.http.list_filters import BoolParam, bool_of
from ingest.roster.file import XLSX_TYPES, invalid_file, read_roster_file
from ingest.roster.limits import MAX_FILE_BYTES
from ingest.roster.result import ImportResult

MAX_IMPORT_BYTES = MAX_FILE_BYTES + 1024 * 1024  # the file's own limit (a 400 naming it), plus multipart framing
ACCEPTS = frozenset(
    {
        "multipart/form-data",
        "text/csv",
        "application/csv",
        "text/plain",
        "application/json",
        "application/octet-stream",
        "application/vnd.ms-excel",
        *XLSX_TYPES,
    }
)


async def _file_of(request: Request[Any, Any, Any]) -> tuple[bytes, str | None, str | None]:
    """The uploaded bytes, file name and media type, from a multipart `file` field or the raw body."""
    media = request.headers.get("content-type", "")
    if media.split(";", 1)[0].strip().lower() != "multipart/form-data":
        return await request.body(), None, media
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ProblemError(400, "INVALID_FILE", "Send the roster as the multipart field `file`.", field="file")
    return await upload.read(), upload.filename, upload.content_type


@post(
    "/roster/import",
    guards=[requires_admin],
    status_code=200,
    request_max_body_size=MAX_IMPORT_BYTES,
    opt={"accepts": ACCEPTS},
    summary="Import the roster from a CSV, XLSX or JSON file",
)
async def import_roster(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession], dry_run: BoolParam = None
) -> ImportResult:
    """Upsert by `student_external_id`: the file wins (the last row of an id within the file), blank cells never
    wipe stored values, rows without an id are skipped. Columns: student_external_id (or student_id, id, talaba_id),
    program (code, id or name of a program or direction; or program_id / program_code), course_year (kurs, year;
    1..5), roster_campaign, is_active, first_name, last_name (or fio / full_name), birth_date (31.12.2004).
    Per-row problems come back as `errors: [{row, field, message}]` (row = the spreadsheet row, or the position in a
    JSON list) and those rows are left out. 400 INVALID_FILE, with nothing written, when the file cannot be read."""
    dry = bool_of(dry_run, "dry_run") or False
    data, filename, media = await _file_of(request)
    if not data:
        raise invalid_file("The file is empty.")
    rows = await anyio.to_thread.run_sync(read_roster_file, data, filename, media)
    from ingest.roster.importer import audit_import, import_rows  # polars loads with the first import, not at start-up

    result = await import_rows(db_session, rows, dry_run=dry)
    await audit_import(
        db_session,
        result,
        source=filename or (media or "body"),
        actor_type="user",
        actor_user_id=current_user(request).id,
        context=request_context(request, request.app.state.settings),
    )
    return result


def roster_import_router() -> Router:
    return Router(path="/admin", route_handlers=[import_roster], tags=["roster"])
