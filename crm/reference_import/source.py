"""The reference database (RS §2: Django schema of commit 176e7eb) and how to read it: each table's columns with
their kind, read in one statement per table through ADBC (Arrow, no per-row Python), on Postgres or SQLite.

Only the columns listed here are read, so Django's own tables (sessions, admin log, permissions) and unused
columns (`is_staff`, `is_superuser`, `scope`) never matter. `authn_revokedtoken` is counted, not moved: the
reference's JWTs are signed with its own secret, which this system never accepts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import adbc_driver_postgresql.dbapi as adbc_pg
import adbc_driver_sqlite.dbapi as adbc_sqlite
import polars as pl
from sqlalchemy.engine import make_url

from crm.reference_import.frames import Kind, normalise

_BASE: dict[str, Kind] = {"id": "uuid", "created_at": "ts", "updated_at": "ts"}
_APPLICATION: dict[str, Kind] = {
    **_BASE,
    "applicant_id": "uuid",
    "status": "str",
    "answers": "json",
    "submitted_at": "ts",
}

REFERENCE_TABLES: dict[str, dict[str, Kind]] = {
    "catalog_catalogitem": {
        **_BASE,
        "type": "str",
        "code": "str",
        "name": "str",
        "parent_id": "uuid",
        "is_active": "bool",
        "sort_order": "int",
        "metadata": "json",
    },
    "catalog_catalogrelation": {**_BASE, "from_item_id": "uuid", "to_item_id": "uuid", "relation_type": "str"},
    "authn_user": {
        "id": "uuid",
        "password": "str",
        "last_login": "ts",
        "first_name": "str",
        "last_name": "str",
        "is_active": "bool",
        "date_joined": "ts",
        "email": "str",
        "role": "str",
    },
    "common_servicetoken": {
        **_BASE,
        "service_name": "str",
        "token_hash": "str",
        "scope": "str",
        "expires_at": "ts",
        "last_used_at": "ts",
        "is_active": "bool",
        "notes": "str",
    },
    "bot1_bot1applicant": {
        **_BASE,
        "telegram_user_id": "int",
        "telegram_chat_id": "int",
        "username": "str",
        "first_name": "str",
        "last_name": "str",
        "phone": "str",
        "email": "str",
        "region_id": "uuid",
    },
    "bot1_admissions2026application": {**_APPLICATION, "direction_id": "uuid", "track_id": "uuid"},
    "bot1_campustourrequest": {**_APPLICATION, "preferred_date": "date"},
    "bot1_foundationrequest": _APPLICATION,
    "bot1_politoacademyrequest": {**_APPLICATION, "subject_id": "uuid"},
    "bot2_studentroster": {
        **_BASE,
        "student_external_id": "str",
        "roster_campaign": "str",
        "program_id": "uuid",
        "course_year": "int",
        "is_active": "bool",
        "metadata": "json",
    },
    "bot2_bot2student": {
        **_BASE,
        "student_external_id": "str",
        "roster_id": "uuid",
        "telegram_user_id": "int",
        "username": "str",
        "first_name": "str",
        "last_name": "str",
        "gender": "str",
        "phone": "str",
        "region_id": "uuid",
    },
    "bot2_bot2surveyresponse": {
        **_BASE,
        "student_id": "uuid",
        "roster_id": "uuid",
        "program_id": "uuid",
        "course_year": "int",
        "survey_campaign": "str",
        "employment_status": "str",
        "employment_company": "str",
        "employment_role": "str",
        "suggestions": "str",
        "consents": "json",
        "answers": "json",
        "submitted_at": "ts",
    },
    "bot2_programenrollment": {
        **_BASE,
        "program_id": "uuid",
        "course_year": "int",
        "student_count": "int",
        "academic_year": "str",
        "campaign": "str",
        "is_active": "bool",
        "notes": "str",
    },
    "audit_auditlog": {
        **_BASE,
        "actor_type": "str",
        "actor_user_id": "uuid",
        "actor_service": "str",
        "action": "str",
        "entity_table": "str",
        "entity_id": "uuid",
        "before_data": "json",
        "after_data": "json",
        "meta": "json",
        "ip": "inet",
        "user_agent": "str",
    },
}
COUNTED_ONLY = ("authn_revokedtoken",)


class SourceError(ValueError):
    """The source cannot be read as a reference database; the message says why."""


def _pg_select(kind: Kind, name: str) -> str:
    q = f'"{name}"'
    return {"uuid": f"{q}::text", "json": f"{q}::text", "inet": f"host({q})"}.get(kind, q)


def _sqlite_select(kind: Kind, name: str) -> str:
    # Every value as TEXT (or INTEGER): ADBC infers a column's Arrow type from its first rows, and SQLite lets a
    # column hold mixed types, so the cast keeps one type per column whatever the reference wrote.
    q = f'"{name}"'
    return f"CAST({q} AS INTEGER)" if kind in ("bool", "int") else f"CAST({q} AS TEXT)"


@dataclass(frozen=True)
class Source:
    """A reference database: a Postgres URL, or a SQLite file (path or sqlite:/// URL)."""

    dialect: str  # "postgresql" | "sqlite"
    uri: str

    @classmethod
    def parse(cls, raw: str) -> Source:
        if raw.startswith(("postgres://", "postgresql://", "postgresql+")):
            url = make_url(raw).set(drivername="postgresql")
            return cls("postgresql", url.render_as_string(hide_password=False))
        path = Path(make_url(raw).database or "") if raw.startswith("sqlite:") else Path(raw)
        if not path.is_file():
            raise SourceError(f"no SQLite file at {path}")
        return cls("sqlite", str(path.resolve()))

    @contextmanager
    def connect(self) -> Iterator[Any]:
        driver = adbc_pg if self.dialect == "postgresql" else adbc_sqlite
        with driver.connect(self.uri) as conn:
            if self.dialect == "postgresql":
                # Every table from one snapshot, so rows a running reference adds meanwhile cannot break a link.
                with conn.cursor() as cur:
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield conn

    def select(self, table: str, kinds: dict[str, Kind]) -> str:
        render = _pg_select if self.dialect == "postgresql" else _sqlite_select
        cols = ", ".join(f'{render(kind, name)} AS "{name}"' for name, kind in kinds.items())
        return f'SELECT {cols} FROM "{table}" ORDER BY "id"'


def _fetch(conn: Any, sql: str) -> pl.DataFrame:
    with conn.cursor() as cur:
        cur.execute(sql)
        return pl.from_arrow(cur.fetch_arrow_table())  # type: ignore[return-value]


def read_table(conn: Any, source: Source, table: str, columns: tuple[str, ...] = ()) -> pl.DataFrame:
    """Every row of a reference table (every column we read, or `columns`), normalised (frames.normalise)."""
    kinds = REFERENCE_TABLES[table]
    if columns:
        kinds = {c: kinds[c] for c in columns}
    try:
        df = _fetch(conn, source.select(table, kinds))
    except Exception as exc:  # the driver's errors have no common base; the message says what is missing
        raise SourceError(f"cannot read {table}: {str(exc).splitlines()[0]}") from exc
    return normalise(df, kinds)


def count_rows(conn: Any, table: str) -> int | None:
    """Rows of a table that is counted, not moved (None when the reference has no such table)."""
    try:
        return int(_fetch(conn, f'SELECT COUNT(*) AS n FROM "{table}"')["n"][0])
    except Exception:  # an older reference without the table: nothing to count
        conn.rollback()
        return None
