"""A reference-shaped database for the import tests and the benchmark, from our own DDL written from RS §2 (the
Django schema of 176e7eb as it lands on Postgres and on SQLite), plus a hand-made data set with the awkward rows
RS §13 describes. Values are written the way Django writes them: on SQLite uuids as 32 hex digits and timestamps as
naive UTC text, on Postgres native uuid / timestamptz / jsonb / inet."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sqlite3
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import polars as pl
import psycopg

# Generic column types → (Postgres, SQLite as Django creates it).
TYPES = {
    "uuid": ("uuid", "char(32)"),
    "ts": ("timestamp with time zone", "datetime"),
    "date": ("date", "date"),
    "json": ("jsonb", "text"),
    "bool": ("boolean", "bool"),
    "int": ("integer", "integer"),
    "bigint": ("bigint", "bigint"),
    "text": ("text", "text"),
    "inet": ("inet", "char(39)"),
}
BASE = [("id", "uuid PK"), ("created_at", "ts"), ("updated_at", "ts")]
APPLICATION = [
    *BASE,
    ("applicant_id", "uuid FK bot1_bot1applicant"),
    ("status", "text"),
    ("answers", "json"),
    ("submitted_at", "ts?"),
]

TABLES: dict[str, list[tuple[str, str]]] = {
    "authn_user": [
        ("id", "uuid PK"),
        ("password", "text"),
        ("last_login", "ts?"),
        ("is_superuser", "bool"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("is_staff", "bool"),
        ("is_active", "bool"),
        ("date_joined", "ts"),
        ("email", "text UNIQUE"),
        ("role", "text"),
    ],
    "authn_revokedtoken": [
        ("id", "bigint PK"),
        ("jti", "text UNIQUE"),
        ("token_type", "text"),
        ("expires_at", "ts"),
        ("created_at", "ts"),
    ],
    "common_servicetoken": [
        *BASE,
        ("service_name", "text"),
        ("token_hash", "text UNIQUE"),
        ("scope", "text"),
        ("expires_at", "ts?"),
        ("last_used_at", "ts?"),
        ("is_active", "bool"),
        ("notes", "text"),
    ],
    "catalog_catalogitem": [
        *BASE,
        ("type", "text"),
        ("code", "text?"),
        ("name", "text"),
        ("parent_id", "uuid? FK catalog_catalogitem"),
        ("is_active", "bool"),
        ("sort_order", "int"),
        ("metadata", "json"),
    ],
    "catalog_catalogrelation": [
        *BASE,
        ("from_item_id", "uuid FK catalog_catalogitem"),
        ("to_item_id", "uuid FK catalog_catalogitem"),
        ("relation_type", "text"),
    ],
    "bot1_bot1applicant": [
        *BASE,
        ("telegram_user_id", "bigint UNIQUE"),
        ("telegram_chat_id", "bigint?"),
        ("username", "text"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("phone", "text"),
        ("email", "text"),
        ("region_id", "uuid? FK catalog_catalogitem"),
    ],
    "bot1_admissions2026application": [
        *APPLICATION,
        ("direction_id", "uuid FK catalog_catalogitem"),
        ("track_id", "uuid? FK catalog_catalogitem"),
    ],
    "bot1_campustourrequest": [*APPLICATION, ("preferred_date", "date?")],
    "bot1_foundationrequest": APPLICATION,
    "bot1_politoacademyrequest": [*APPLICATION, ("subject_id", "uuid? FK catalog_catalogitem")],
    "bot2_studentroster": [
        *BASE,
        ("student_external_id", "text UNIQUE"),
        ("roster_campaign", "text"),
        ("program_id", "uuid FK catalog_catalogitem"),
        ("course_year", "int"),
        ("is_active", "bool"),
        ("metadata", "json"),
    ],
    "bot2_bot2student": [
        *BASE,
        ("student_external_id", "text UNIQUE"),
        ("roster_id", "uuid FK bot2_studentroster"),
        ("telegram_user_id", "bigint? UNIQUE"),
        ("username", "text"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("gender", "text"),
        ("phone", "text"),
        ("region_id", "uuid? FK catalog_catalogitem"),
    ],
    "bot2_bot2surveyresponse": [
        *BASE,
        ("student_id", "uuid FK bot2_bot2student"),
        ("roster_id", "uuid FK bot2_studentroster"),
        ("program_id", "uuid FK catalog_catalogitem"),
        ("course_year", "int"),
        ("survey_campaign", "text"),
        ("employment_status", "text"),
        ("employment_company", "text"),
        ("employment_role", "text"),
        ("suggestions", "text"),
        ("consents", "json"),
        ("answers", "json"),
        ("submitted_at", "ts?"),
    ],
    "bot2_programenrollment": [
        *BASE,
        ("program_id", "uuid FK catalog_catalogitem"),
        ("course_year", "int"),
        ("student_count", "int"),
        ("academic_year", "text"),
        ("campaign", "text"),
        ("is_active", "bool"),
        ("notes", "text"),
    ],
    "audit_auditlog": [
        *BASE,
        ("actor_type", "text"),
        ("actor_user_id", "uuid? FK authn_user"),
        ("actor_service", "text"),
        ("action", "text"),
        ("entity_table", "text"),
        ("entity_id", "uuid?"),
        ("before_data", "json"),
        ("after_data", "json"),
        ("meta", "json"),
        ("ip", "inet?"),
        ("user_agent", "text"),
    ],
}
# RS §2: constraints that are not one column's.
EXTRA = {
    "catalog_catalogitem": ["CREATE UNIQUE INDEX ref_item_code ON catalog_catalogitem (type, COALESCE(code, ''))"],
    "catalog_catalogrelation": [
        "CREATE UNIQUE INDEX ref_relation ON catalog_catalogrelation (from_item_id, to_item_id, relation_type)"
    ],
    "bot2_programenrollment": [
        "CREATE UNIQUE INDEX ref_enrollment ON bot2_programenrollment"
        " (program_id, course_year, academic_year, campaign)"
    ],
    "bot2_bot2surveyresponse": [],
}


def ddl(dialect: str) -> list[str]:
    """CREATE statements for every reference table (RS §2) on `dialect` ("postgresql" | "sqlite")."""
    pos = 0 if dialect == "postgresql" else 1
    out = []
    for table, columns in TABLES.items():
        parts = []
        for name, spec in columns:
            words = spec.split()
            kind, nullable = words[0].rstrip("?"), words[0].endswith("?")
            col = f"{name} {TYPES[kind][pos]} {'NULL' if nullable else 'NOT NULL'}"
            if "PK" in words:
                col += " PRIMARY KEY"
            if "UNIQUE" in words:
                col += " UNIQUE"
            if "FK" in words:
                col += f" REFERENCES {words[words.index('FK') + 1]} (id)"
            parts.append(col)
        if table == "bot2_bot2surveyresponse":
            parts.append("CONSTRAINT survey_course_year_between_1_and_4 CHECK (course_year BETWEEN 1 AND 4)")
        out.append(f"CREATE TABLE {table} ({', '.join(parts)})")
        out += EXTRA.get(table, [])
    return out


def django_hash(password: str, salt: str = "refsalt0123456789", iterations: int = 1_000) -> str:
    """What Django's PBKDF2PasswordHasher stores (few iterations: tests need not be slow)."""
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


class RefDB:
    """An open reference database being filled."""

    def __init__(self, dialect: str, conn: Any) -> None:
        self.dialect, self.conn = dialect, conn

    def value(self, kind: str, v: Any) -> Any:
        if v is None:
            return None
        if kind == "uuid":
            return v.hex if self.dialect == "sqlite" else str(v)
        if kind == "ts" and self.dialect == "sqlite":
            return v.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
        if kind == "json":
            return json.dumps(v)
        if kind == "date" and self.dialect == "sqlite":
            return v.isoformat()
        return v

    def insert(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        columns = TABLES[table]
        names = [c for c, _ in columns]
        kinds = [spec.split()[0].rstrip("?") for _, spec in columns]
        mark = "?" if self.dialect == "sqlite" else "%s"
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))})"
        values = [tuple(self.value(k, row.get(n)) for n, k in zip(names, kinds, strict=True)) for row in rows]
        if self.dialect == "sqlite":
            self.conn.executemany(sql, values)
        else:
            with self.conn.cursor() as cur:
                cur.executemany(sql, values)


def create_sqlite(path: str) -> RefDB:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys=ON")
    for statement in ddl("sqlite"):
        conn.execute(statement)
    return RefDB("sqlite", conn)


def create_postgres(dsn: str) -> RefDB:
    conn = psycopg.connect(dsn)
    for statement in ddl("postgresql"):
        conn.execute(statement)
    return RefDB("postgresql", conn)


def at(day: int, hour: int = 10, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def ids(*names: str) -> dict[str, uuid.UUID]:
    return {n: uuid.uuid5(uuid.NAMESPACE_URL, f"ref/{n}") for n in names}


U = ids(
    "dir_soft",
    "dir_mech",
    "track_it",
    "subj_math",
    "reg_tash",
    "reg_nocode",
    "prog_compe",
    "prog_blank",
    "child",
    "rel_ok",
    "rel_self",
    "admin",
    "viewer_mixed",
    "viewer_dup",
    "tok_bot1",
    "tok_bot2",
    "tok_dash",
    "tok_old",
    "app1",
    "app2",
    "app3",
    "a1",
    "a2",
    "a3",
    "a4",
    "a5",
    "a6",
    "c1",
    "c2",
    "f1",
    "p1",
    "r1",
    "r2",
    "r3",
    "r4",
    "r5",
    "r6",
    "r7",
    "s1",
    "s2",
    "s3",
    "s5",
    "s6",
    "s7",
    "sv1",
    "sv2",
    "sv3",
    "sv4",
    "sv5",
    "sv6",
    "sv7",
    "e1",
    "e2",
    "e3",
    "au1",
    "au2",
)
BOT1_TOKEN, BOT2_TOKEN = "bot1-reference-token", "bot2-reference-token"
ADMIN_PASSWORD = "old-django-password-1"


def _base(key: str, created: datetime, /, **fields: Any) -> dict[str, Any]:
    return {"id": U[key], "created_at": created, "updated_at": created, **fields}


def _item(name: str, type_: str, code: str | None, en: str, **extra: Any) -> dict[str, Any]:
    meta = {"name_uz": f"{en} uz", "name_ru": f"{en} ru", "name_en": en}
    return _base(name, at(1), type=type_, code=code, name=en, is_active=True, sort_order=0, metadata=meta, **extra)


def _app(name: str, applicant: str, status: str, submitted: datetime | None, day: int, **extra: Any) -> dict[str, Any]:
    return _base(
        name, at(day, 9), applicant_id=U[applicant], status=status, answers={}, submitted_at=submitted, **extra
    )


def _survey(
    name: str, student: str, roster: str, program: str, year: int, status: str, when: datetime | None, created: datetime
) -> dict[str, Any]:
    return _base(
        name,
        created,
        student_id=U[student],
        roster_id=U[roster],
        program_id=U[program],
        course_year=year,
        survey_campaign="default",
        employment_status=status,
        employment_company="",
        employment_role="",
        suggestions="",
        consents={"want_help": True},
        answers={"course_year": year},
        submitted_at=when,
    )


def fill(db: RefDB) -> None:
    """The hand-made reference data: every table, and RS §13's awkward rows (comments say which)."""
    db.insert(
        "catalog_catalogitem",
        [
            _item("dir_soft", "direction", "DIR-SOFT-UZ", "Software Engineering"),
            _item("dir_mech", "direction", "DIR-MECH-IT", "Mechanical Engineering"),
            _item("track_it", "track", "TRACK-ITALIAN", "Italian Track"),
            _item("subj_math", "subject", "SUBJ-MATH", "Mathematics"),
            _item("reg_tash", "region", "REG-TASHCITY", "Tashkent city"),
            _item("reg_nocode", "region", None, "Somewhere"),  # NULL code: generated (REGION-001)
            _item("prog_compe", "program", "B-IT-COMPE", "Computer Engineering"),
            _item("prog_blank", "program", "", "Unnamed program"),  # blank code: generated (PROGRAM-001)
            _item("child", "other", "OTHER-CHILD", "Child item", parent_id=U["dir_soft"]),
        ],
    )
    db.insert(
        "catalog_catalogrelation",
        [
            _base(
                "rel_ok",
                at(1),
                from_item_id=U["prog_compe"],
                to_item_id=U["dir_soft"],
                relation_type="program_direction",
            ),
            _base(
                "rel_self", at(1), from_item_id=U["dir_soft"], to_item_id=U["dir_soft"], relation_type="custom"
            ),  # refused
        ],
    )
    user = {
        "last_login": None,
        "is_superuser": False,
        "first_name": "",
        "last_name": "",
        "is_staff": False,
        "is_active": True,
    }
    db.insert(
        "authn_user",
        [
            {
                **user,
                "id": U["admin"],
                "password": django_hash(ADMIN_PASSWORD),
                "date_joined": at(1),
                "email": "admin@ttpu.uz",
                "role": "admin",
            },
            {
                **user,
                "id": U["viewer_mixed"],
                "password": django_hash("x-password-2"),
                "date_joined": at(2),
                "email": "Viewer@ttpu.uz",
                "role": "viewer",
            },
            # the same address in another case: Django allowed it, our lower-case login cannot tell them apart (refused)
            {
                **user,
                "id": U["viewer_dup"],
                "password": django_hash("x-password-3"),
                "date_joined": at(3),
                "email": "viewer@ttpu.uz",
                "role": "viewer",
            },
        ],
    )
    token = {"scope": "default", "expires_at": None, "last_used_at": None, "notes": ""}
    sha = lambda raw: hashlib.sha256(raw.encode()).hexdigest()  # noqa: E731
    db.insert(
        "common_servicetoken",
        [
            _base("tok_bot1", at(1), **token, service_name="bot1", token_hash=sha(BOT1_TOKEN), is_active=True),
            _base("tok_bot2", at(1), **token, service_name="bot2", token_hash=sha(BOT2_TOKEN), is_active=True),
            _base(
                "tok_dash", at(1), **token, service_name="dashboard", token_hash=sha("dash"), is_active=True
            ),  # refused
            _base(
                "tok_old",
                at(1),
                **{**token, "scope": "old"},
                service_name="bot1",
                token_hash=sha("old"),
                is_active=False,
            ),
        ],
    )
    person = {
        "telegram_chat_id": None,
        "username": "",
        "first_name": "Ali",
        "last_name": "",
        "phone": "+998901112233",
        "email": "",
    }
    db.insert(
        "bot1_bot1applicant",
        [
            _base("app1", at(1), **person, telegram_user_id=1001, region_id=U["reg_tash"]),
            _base("app2", at(1), **person, telegram_user_id=1002, region_id=None),
            _base("app3", at(1), **person, telegram_user_id=1003, region_id=U["reg_nocode"]),
        ],
    )
    adm = lambda d, t: {"direction_id": U[d], "track_id": U[t] if t else None}  # noqa: E731
    db.insert(
        "bot1_admissions2026application",
        [
            # bot1 sends the profile's gender and birth date in `answers`: the applicant's come from there
            {
                **_app("a1", "app1", "submitted", at(10), 10, **adm("dir_soft", "track_it")),
                "answers": {"gender": "female", "birth_date": "2007-04-03"},
            },
            {**_app("a2", "app2", "approved", at(11), 11, **adm("dir_soft", None)), "answers": {"gender": "robot"}},
            _app("a3", "app1", "new", None, 12, **adm("dir_mech", "track_it")),
            _app("a4", "app3", "new", at(12), 12, **adm("dir_mech", None)),  # rule broken: submitted_at cleared
            _app("a5", "app2", "in_progress", None, 13, **adm("dir_mech", "track_it")),  # rule broken: created_at
            _app(
                "a6", "app1", "draft", at(14), 14, **adm("dir_soft", None)
            ),  # bulk-updated to a status we lack: refused
        ],
    )
    db.insert(
        "bot1_campustourrequest",
        [
            {
                **_app("c1", "app1", "submitted", at(15), 15, preferred_date=None),
                "answers": {"preferred_date": "2026-03-01", "visitor_count": 2},
            },
            _app("c2", "app2", "submitted", at(15), 15, preferred_date=date(2026, 3, 5)),
        ],
    )
    db.insert("bot1_foundationrequest", [_app("f1", "app3", "submitted", at(16), 16)])
    polito = _app("p1", "app1", "submitted", at(16), 16, subject_id=U["subj_math"])
    db.insert("bot1_politoacademyrequest", [{**polito, "answers": {"gender": "male"}}])  # the latest gender wins
    roster = {"roster_campaign": "default", "is_active": True, "metadata": {}}
    db.insert(
        "bot2_studentroster",
        [
            _base("r1", at(1), **roster, student_external_id="sen001", program_id=U["prog_compe"], course_year=1),
            _base("r2", at(1), **roster, student_external_id="sen002", program_id=U["prog_compe"], course_year=2),
            _base(
                "r3", at(1), **roster, student_external_id="sen003", program_id=U["dir_soft"], course_year=1
            ),  # a direction
            _base(
                "r4", at(1), **roster, student_external_id="sen004", program_id=U["prog_compe"], course_year=6
            ),  # refused
            _base(
                "r5",
                at(1),
                **{**roster, "is_active": False},
                student_external_id="sen005",
                program_id=U["prog_compe"],
                course_year=1,
            ),
            # ids that differ only in case (the reference matched exactly; we match in any case, migration 0004):
            # an older bot2 auto-enrolment of sen001 (merged into r1: an imported row wins over bot2_auto) ...
            {
                **_base("r6", at(1, 8), **roster, student_external_id="SEN001", program_id=U["prog_compe"]),
                "roster_campaign": "bot2_auto",
                "course_year": 1,
            },
            # ... and a later imported row of sen003 (merged into r3: the oldest wins)
            _base("r7", at(2), **roster, student_external_id="Sen003", program_id=U["dir_soft"], course_year=1),
        ],
    )
    student = {
        "username": "",
        "first_name": "S",
        "last_name": "",
        "gender": "unspecified",
        "phone": "",
        "region_id": None,
    }
    db.insert(
        "bot2_bot2student",
        [
            _base("s1", at(1), **student, student_external_id="sen001", roster_id=U["r1"], telegram_user_id=5001),
            _base("s2", at(1), **student, student_external_id="sen002", roster_id=U["r2"], telegram_user_id=None),
            _base("s3", at(1), **student, student_external_id="sen003", roster_id=U["r3"], telegram_user_id=None),
            _base("s5", at(1), **student, student_external_id="sen005", roster_id=U["r5"], telegram_user_id=5005),
            # case-only duplicates: s6 is older than s1 and wins (its Telegram id kept, s1's 5001 dropped), spelled
            # as its roster row r1 (`sen001`); s7 is newer than s2 and merges into it, which takes its Telegram id
            _base("s6", at(1, 8), **student, student_external_id="SEN001", roster_id=U["r6"], telegram_user_id=5006),
            _base("s7", at(2), **student, student_external_id="SEN002", roster_id=U["r2"], telegram_user_id=5007),
        ],
    )
    db.insert(
        "bot2_bot2surveyresponse",
        [
            _survey("sv1", "s1", "r1", "prog_compe", 1, "employed", at(1, month=2), at(1, month=2)),
            _survey("sv2", "s1", "r1", "prog_compe", 1, "unemployed", at(5, month=2), at(5, month=2)),  # latest of s1
            _survey("sv3", "s2", "r2", "prog_compe", 2, "unemployed", at(2, month=2), at(2, month=2)),
            _survey("sv4", "s3", "r3", "dir_soft", 1, "employed", at(3, month=2), at(3, month=2)),
            _survey(
                "sv5", "s5", "r5", "prog_compe", 1, "employed", None, at(4, month=2)
            ),  # no submitted_at: created_at
            _survey("sv6", "s6", "r6", "prog_compe", 1, "employed", at(20), at(20)),  # of the merged sen001
            _survey("sv7", "s7", "r2", "prog_compe", 2, "employed", at(3, month=2), at(3, month=2)),  # now s2's
        ],
    )
    enrollment = {"academic_year": "2025-2026", "campaign": "default", "is_active": True, "notes": ""}
    db.insert(
        "bot2_programenrollment",
        [
            _base("e1", at(1), **enrollment, program_id=U["prog_compe"], course_year=1, student_count=10),
            _base("e2", at(1), **enrollment, program_id=U["prog_compe"], course_year=2, student_count=5),
            _base("e3", at(1), **enrollment, program_id=U["dir_soft"], course_year=0, student_count=3),  # refused
        ],
    )
    audit = {"actor_service": "", "before_data": {}, "meta": {}, "user_agent": "ua"}
    db.insert(
        "audit_auditlog",
        [
            _base(
                "au1",
                at(2),
                **audit,
                actor_type="user",
                actor_user_id=U["admin"],
                action="login",
                entity_table="authn_user",
                entity_id=U["admin"],
                after_data={"user": "admin@ttpu.uz"},
                ip="10.0.0.1",
            ),
            _base(
                "au2",
                at(10),
                **{**audit, "actor_service": "bot1"},
                actor_type="service",
                actor_user_id=None,
                action="update",
                entity_table="bot1_admissions2026application",
                entity_id=U["a1"],
                after_data={"answers": {"birth_date": "2005-01-02"}},
                ip=None,
            ),
        ],
    )
    db.insert(
        "authn_revokedtoken",
        [
            {"id": i, "jti": f"jti{i}", "token_type": "access", "expires_at": at(20), "created_at": at(19)}
            for i in (1, 2)
        ],
    )
    db.conn.commit()


# --- generated references (the benchmark, the kill -9 test) ----------------------------------------------------


def _uuids(n: int, rng: np.random.Generator) -> pl.Series:
    return pl.Series([str(uuid.UUID(bytes=b.tobytes(), version=4)) for b in rng.integers(0, 256, (n, 16), np.uint8)])


def generated(rows: int, seed: int = 7) -> dict[str, pl.DataFrame]:
    """Reference tables (parents first) with `rows` admissions applications and `rows` survey responses, plus
    rows/4 applicants, rows/2 roster rows and students, and a 12-item catalog; uuids as dashed text, UTC times."""
    rng = np.random.default_rng(seed)
    t0 = pl.datetime(2025, 9, 1, time_zone="UTC")
    catalog = pl.DataFrame({"id": _uuids(12, rng), "type": ["direction"] * 4 + ["track"] * 2 + ["program"] * 6})
    catalog = catalog.with_columns(
        code=pl.format("C-{}", pl.int_range(12)), name=pl.lit("item"), created_at=t0, updated_at=t0,
        is_active=True, sort_order=0, metadata=pl.lit('{"name_en": "item"}'),
    )  # fmt: skip
    dirs, tracks, programs = catalog["id"][:4], catalog["id"][4:6], catalog["id"][6:]
    n_app, n_st = max(rows // 4, 1), max(rows // 2, 1)
    app = pl.DataFrame({"id": _uuids(n_app, rng), "telegram_user_id": np.arange(n_app) + 10_000})
    app = app.with_columns(
        created_at=t0, updated_at=t0, username=pl.lit(""), first_name=pl.lit("A"), last_name=pl.lit(""),
        phone=pl.lit(""), email=pl.lit(""),
    )  # fmt: skip
    when = t0 + pl.duration(seconds=pl.Series(rng.integers(0, 250 * 86_400, rows)))
    adm = pl.DataFrame({"id": _uuids(rows, rng)}).with_columns(
        applicant_id=app["id"].gather(rng.integers(0, n_app, rows)),
        direction_id=dirs.gather(rng.integers(0, 4, rows)),
        track_id=tracks.gather(rng.integers(0, 2, rows)),
        status=pl.lit("submitted"), answers=pl.lit('{"gender": "female", "birth_date": "2008-05-01"}'),
        submitted_at=when, created_at=when, updated_at=when,
    )  # fmt: skip
    prog = programs.gather(rng.integers(0, 6, n_st))
    year = pl.Series(rng.integers(1, 5, n_st))
    roster = pl.DataFrame({"id": _uuids(n_st, rng)}).with_columns(
        student_external_id=pl.format("st{}", pl.int_range(n_st)), roster_campaign=pl.lit("default"),
        program_id=prog, course_year=year, is_active=True, metadata=pl.lit("{}"), created_at=t0, updated_at=t0,
    )  # fmt: skip
    students = roster.select("student_external_id", roster_id="id").with_columns(
        id=_uuids(n_st, rng), username=pl.lit(""), first_name=pl.lit("S"), last_name=pl.lit(""),
        gender=pl.lit("unspecified"), phone=pl.lit(""), created_at=t0, updated_at=t0,
    )  # fmt: skip
    who = pl.Series(rng.integers(0, n_st, rows))
    surveys = pl.DataFrame({"id": _uuids(rows, rng)}).with_columns(
        student_id=students["id"].gather(who), roster_id=roster["id"].gather(who),
        program_id=prog.gather(who), course_year=year.gather(who), survey_campaign=pl.lit("default"),
        employment_status=pl.Series(rng.choice(["employed", "unemployed"], rows)), employment_company=pl.lit(""),
        employment_role=pl.lit(""), suggestions=pl.lit(""), consents=pl.lit("{}"),
        answers=pl.lit('{"course_year": 1}'), submitted_at=when, created_at=when, updated_at=when,
    )  # fmt: skip
    return {
        "catalog_catalogitem": catalog,
        "bot1_bot1applicant": app,
        "bot1_admissions2026application": adm,
        "bot2_studentroster": roster,
        "bot2_bot2student": students,
        "bot2_bot2surveyresponse": surveys,
    }


def write_frames(db: RefDB, frames: dict[str, pl.DataFrame]) -> None:
    """Frames of reference tables written as Django writes them: COPY on Postgres; on SQLite uuids as 32 hex
    digits and naive UTC text, through executemany. Committed."""
    for table, df in frames.items():
        if db.dialect == "postgresql":
            buf = io.BytesIO()
            df.write_csv(buf, include_header=False, null_value="\\N", datetime_format="%Y-%m-%d %H:%M:%S%.6f+00")
            copy_sql = f"COPY {table} ({', '.join(df.columns)}) FROM STDIN (FORMAT csv, NULL '\\N')"
            with db.conn.cursor() as cur, cur.copy(copy_sql) as copy:
                copy.write(buf.getvalue())
            continue
        kinds = dict(TABLES[table])
        values = df.with_columns(
            [pl.col(c).str.replace_all("-", "", literal=True) for c in df.columns if kinds[c].startswith("uuid")]
            + [
                pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
                for c, t in df.schema.items()
                if isinstance(t, pl.Datetime)
            ]
            + [pl.col(c).cast(pl.Int8) for c, t in df.schema.items() if t == pl.Boolean]
        )
        marks = ", ".join("?" * df.width)
        db.conn.executemany(f"INSERT INTO {table} ({', '.join(df.columns)}) VALUES ({marks})", values.iter_rows())
    db.conn.commit()
