"""The reference dashboard (humoyun-dev/ttpu_crm at 176e7eb: `dashboard/lib/api.ts` and the pages under
`dashboard/app/`) replayed call by call against the real app, on SQLite and Postgres (SPEC §5, issue 13).

Each call goes out as that dashboard's fetch wrapper sends it: `Content-Type: application/json`, the `access` of the
login answer as `Authorization: Bearer`, the session cookies too (`credentials: "include"`), never `X-CSRF-Token`;
query strings as `URLSearchParams` encodes them, bodies as its forms build them. Each test asserts the fields the
page reads (`reference/reference-clients.md` lists them)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ingest.catalog.seed import seed_catalog
from ingest.core import schema
from tests.analytics_dataset import make_publisher
from tests.dashboard_support import PASSWORD, add_user, https_client

__all__ = ["https_client"]

V1 = "/api/v1"
ADMIN = "staff@ttpu.uz"
# The analytics pages' default window as the browser sends it: `new Date("YYYY-MM-DD").toISOString()`.
FROM, TO = "2026-11-07T00:00:00.000Z", "2026-12-07T00:00:00.000Z"
T = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
CATALOG_NESTED = {"id", "code", "name", "name_uz", "name_ru", "name_en", "type"}
KIND_PATHS = {  # the dashboard's page name -> the list it reads
    "admissions": "bot1/applications/admissions-2026",
    "campus": "bot1/applications/campus-tour",
    "polito": "bot1/applications/polito-academy",
    "foundation": "bot1/applications/foundation",
}


@dataclass
class Browser:
    """The reference dashboard in a browser: its fetch wrapper over a client that keeps the cookies."""

    client: AsyncTestClient[Litestar]
    access: str = ""

    def headers(self) -> dict[str, str]:
        sent = {"Content-Type": "application/json"}
        if self.access:
            sent["Authorization"] = f"Bearer {self.access}"
        return sent

    async def call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        """One `apiFetch`: the path as the client builds it (trailing slash included), the query encoded the way
        `URLSearchParams` does, the body JSON-encoded."""
        url = V1 + path + (f"?{urlencode(params)}" if params else "")
        return await self.client.request(method, url, headers=self.headers(), json=body)

    async def read(self, path: str, params: dict[str, str] | None = None) -> Any:
        response = await self.call("GET", path, params=params)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    async def write(self, method: str, path: str, body: Any, status: int = 200) -> Any:
        response = await self.call(method, path, body)
        assert response.status_code == status, (method, path, response.text)
        return response.json()

    async def log_in(self, email: str = ADMIN, password: str = PASSWORD) -> None:
        response = await self.call("POST", "/auth/login", {"email": email, "password": password})
        assert response.status_code == 200, response.text
        self.access = response.json()["access"]


@dataclass
class World:
    ids: dict[str, uuid.UUID]
    browser: Browser


@pytest.fixture
async def world(session: AsyncSession, https_client: AsyncTestClient[Litestar]) -> World:
    """The seeded catalog, an applicant with one application of each kind, two students with survey responses, a
    headcount, and the admin logged in through the dashboard's login page."""
    await seed_catalog(session)
    await session.commit()
    ids = dict((await session.execute(select(schema.CatalogItem.code, schema.CatalogItem.id))).all())
    person = schema.Applicant(
        telegram_user_id=7001,
        username="aziza_t",
        first_name="Aziza",
        last_name="Tosheva",
        phone="+998901112233",
        email="aziza@example.uz",
        region_id=ids["REG-TASHCITY"],
    )
    session.add(person)
    await session.flush()
    sent = {"status": "submitted", "submitted_at": T, "applicant_id": person.id}
    session.add_all(
        [
            schema.Admissions2026Application(
                **sent, direction_id=ids["DIR-SOFT-UZ"], track_id=ids["TRACK-UZBEK"], answers={"score": 91}
            ),
            schema.CampusTourRequest(**sent, preferred_date=date(2026, 12, 1), answers={"guests": 2}),
            schema.FoundationRequest(**sent, answers={"school": "No. 110"}),
            schema.PolitoAcademyRequest(**sent, subject_id=ids["SUBJ-MATH"], answers={}),
        ]
    )
    for n, (status, company, role) in enumerate([("employed", "EPAM", "QA"), ("employed", "", "")]):
        roster = schema.RosterEntry(
            student_external_id=f"se{n}",
            program_id=ids["B-UZ-SE"],
            course_year=1,
            first_name="Bekzod",
            birth_date=date(2004, 5, 17) if n == 0 else None,
        )
        session.add(roster)
        await session.flush()
        student = schema.Student(
            student_external_id=f"se{n}", roster_id=roster.id, telegram_user_id=800 + n, first_name="Bekzod"
        )
        session.add(student)
        await session.flush()
        session.add(
            schema.SurveyResponse(
                student_id=student.id,
                roster_id=roster.id,
                program_id=roster.program_id,
                course_year=1,
                employment_status=status,
                employment_company=company,
                employment_role=role,
                answers={"satisfaction": 4},
                submitted_at=T + timedelta(hours=n),
            )
        )
    session.add(schema.EnrollmentHeadcount(program_id=ids["B-UZ-SE"], course_year=1, student_count=8, notes="plan"))
    await session.commit()
    await add_user(session, ADMIN, "admin", first_name="Staff", last_name="Member")
    browser = Browser(https_client)
    await browser.log_in()
    return World(ids, browser)


def assert_label(details: Any, code: str, ids: dict[str, uuid.UUID]) -> None:
    """A `*_details` object as `getItemName` reads it: the nested catalog shape with its uz/ru/en labels."""
    assert set(details) >= CATALOG_NESTED
    assert details["id"] == str(ids[code]) and details["code"] == code
    assert details["name_uz"] and details["name_ru"] and details["name_en"]


# --- login (app/login, lib/auth-context) ---------------------------------------------------------------------------


async def test_login_failures_are_400_with_a_message(world: World) -> None:
    """Any 401 means "session expired" to this dashboard (it reloads): a failed login must be 400 with a message,
    the same for an unknown e-mail and a wrong password."""
    b = world.browser
    answers = []
    for email in (ADMIN, "nobody@ttpu.uz"):
        response = await b.call("POST", "/auth/login", {"email": email, "password": "wrong-password"})
        body = response.json()
        answers.append((response.status_code, body["detail"], body["code"]))
        assert "error" not in body  # the page shows body.error.message when there is one, else body.detail
    assert answers == [(400, "Wrong e-mail or password.", "INVALID_CREDENTIALS")] * 2


async def test_session_me_and_logout(world: World) -> None:
    b = world.browser
    assert {"access_token", "csrf_token"} <= set(b.client.cookies.keys())  # credentials: "include" sends them too
    me = await b.read("/auth/me")
    assert (me["email"], me["role"], me["first_name"], me["last_name"]) == (ADMIN, "admin", "Staff", "Member")
    assert (await b.write("POST", "/auth/logout", None))["success"] is True
    assert (await b.call("GET", "/auth/me")).status_code == 401


# --- home page and the application lists (app/dashboard/page, applications/*, _components/shell) -----------------


async def test_home_page_counts(world: World) -> None:
    for path in [*KIND_PATHS.values(), "bot2/surveys"]:
        body = await world.browser.read(f"/{path}/")
        assert body["count"] == (2 if path == "bot2/surveys" else 1), path
        assert {"next", "previous", "results"} <= set(body)


async def test_application_lists_and_details_show_every_name(world: World) -> None:
    b, ids = world.browser, world.ids
    for page, path in KIND_PATHS.items():
        listed = (await b.read(f"/{path}/"))["results"]
        (row,) = listed
        detail = await b.read(f"/{path}/{row['id']}/")  # bot1Api.get* and the generic [type]/[id] page alike
        assert detail == row
        assert row["status"] == "submitted" and row["submitted_at"] and row["created_at"] and row["updated_at"]
        assert isinstance(row["answers"], dict)
        person = row["applicant_details"]
        assert row["applicant"] == person["id"]  # the shell shows `applicant` as a string
        assert (person["first_name"], person["last_name"], person["phone"], person["email"]) == (
            "Aziza",
            "Tosheva",
            "+998901112233",
            "aziza@example.uz",
        )
        assert person["username"] == "aziza_t" and person["telegram_user_id"] == 7001
        assert person["region"] == str(ids["REG-TASHCITY"])
        assert_label(person["region_details"], "REG-TASHCITY", ids)
        if page == "admissions":
            assert row["direction"] == str(ids["DIR-SOFT-UZ"]) and row["track"] == str(ids["TRACK-UZBEK"])
            assert_label(row["direction_details"], "DIR-SOFT-UZ", ids)
            assert_label(row["track_details"], "TRACK-UZBEK", ids)
        if page == "polito":
            assert row["subject"] == str(ids["SUBJ-MATH"])
            assert_label(row["subject_details"], "SUBJ-MATH", ids)
        if page == "campus":
            assert row["preferred_date"] == "2026-12-01"


async def test_application_analytics_pages(world: World) -> None:
    """`ApplicationAnalytics`: page_size=300, ordering=-updated_at, browser ISO instants, status and the page's
    catalog filters, whose options come from the catalog lists (page_size=200)."""
    b, ids = world.browser, world.ids
    options = {}
    for kind in ("direction", "track", "subject"):
        items = (await b.read("/catalog/items/", {"page_size": "200", "type": kind}))["results"]
        options[kind] = {item["code"]: item["id"] for item in items}
        assert all(item["name"] for item in items)
    window = {"page_size": "300", "ordering": "-updated_at", "from": FROM, "to": TO}
    for page, path in KIND_PATHS.items():
        body = await b.read(f"/{path}/", window)
        assert body["count"] == 1 and body["results"][0]["applicant_details"]["first_name"] == "Aziza", page
        assert (await b.read(f"/{path}/", {**window, "status": "approved"}))["count"] == 0
    admissions = KIND_PATHS["admissions"]
    chosen = {**window, "direction": options["direction"]["DIR-SOFT-UZ"], "track": options["track"]["TRACK-UZBEK"]}
    assert (await b.read(f"/{admissions}/", chosen))["count"] == 1
    other = {**window, "direction": options["direction"]["DIR-MECH-IT"]}
    assert (await b.read(f"/{admissions}/", other))["count"] == 0
    polito = {**window, "subject": str(ids["SUBJ-MATH"])}
    assert (await b.read(f"/{KIND_PATHS['polito']}/", polito))["count"] == 1
    earlier = {**window, "from": "2026-10-01T00:00:00.000Z", "to": "2026-11-01T00:00:00.000Z"}
    assert (await b.read(f"/{admissions}/", earlier))["count"] == 0


# --- surveys (app/dashboard/surveys) ------------------------------------------------------------------------------


async def test_survey_pages(world: World) -> None:
    b, ids = world.browser, world.ids
    surveys = (await b.read("/bot2/surveys/"))["results"]
    students = {s["id"]: s for s in (await b.read("/bot2/students/"))["results"]}
    assert [s["is_complete"] for s in sorted(surveys, key=lambda s: s["student_external_id"])] == [True, False]
    for survey in surveys:
        student = students[survey["student"]]  # the list page joins on `student`
        assert student["first_name"] == "Bekzod" and survey["survey_campaign"] == "default"
        assert survey["course_year"] == 1 and survey["employment_status"] == "employed"
        assert survey["program"] == str(ids["B-UZ-SE"])
        assert_label(survey["program_details"], "B-UZ-SE", ids)
        detail = await b.read(f"/bot2/surveys/{survey['id']}/")
        assert detail == survey and detail["answers"] == {"satisfaction": 4}
        one = await b.read(f"/bot2/students/{detail['student']}/")
        assert one == student
        assert {"student_external_id", "gender", "telegram_user_id", "last_name"} <= set(one)
    complete = next(s for s in surveys if s["is_complete"])
    assert (complete["employment_company"], complete["employment_role"]) == ("EPAM", "QA")
    assert students[complete["student"]]["birth_date"] == "2004-05-17"


# --- students: the roster (app/dashboard/students) ----------------------------------------------------------------


async def test_roster_pages_list_create_edit_delete(world: World) -> None:
    b, ids = world.browser, world.ids
    programs = (await b.read("/catalog/items/", {"type": "program"}))["results"]
    chosen = next(p for p in programs if p["code"] == "B-IT-ME")
    rows = (await b.read("/bot2/roster/", {"page_size": "100"}))["results"]
    # the page shows `program_details?.name ?? program`: program must be the uuid string, never an object
    assert [(r["program"], r["program_details"]["id"]) for r in rows] == [(str(ids["B-UZ-SE"]),) * 2] * 2
    assert all(r["program_details"]["name"] and r["course_year"] == 1 and r["is_active"] for r in rows)
    form = {
        "student_external_id": "u2610001",
        "roster_campaign": "default",
        "program": chosen["id"],
        "course_year": 2,
        "is_active": True,
    }
    created = await b.write("POST", "/bot2/roster/", form, 201)
    assert created["program"] == chosen["id"] and created["program_details"]["code"] == "B-IT-ME"
    loaded = await b.read(f"/bot2/roster/{created['id']}/")
    # the edit page loads these five fields from GET and sends them back, changed or not
    edit = {k: loaded[k] for k in ("student_external_id", "roster_campaign", "program", "course_year", "is_active")}
    assert edit == form
    same = await b.write("PATCH", f"/bot2/roster/{created['id']}/", edit)
    assert same["program"] == chosen["id"] and same["course_year"] == 2
    moved = await b.write(
        "PATCH", f"/bot2/roster/{created['id']}/", {**edit, "program": str(ids["B-UZ-SE"]), "course_year": 3}
    )
    assert (moved["program"], moved["course_year"]) == (str(ids["B-UZ-SE"]), 3)
    assert moved["program_details"]["name"]
    deleted = await b.call("DELETE", f"/bot2/roster/{created['id']}/")
    assert deleted.status_code == 204


# --- enrollments (app/dashboard/enrollments) ----------------------------------------------------------------------


async def test_enrollment_pages_and_coverage_from_the_snapshot(
    world: World, app: Litestar, db: Any, session: AsyncSession, settings: Any
) -> None:
    b, ids = world.browser, world.ids
    listing = {"page_size": "200", "ordering": "-updated_at"}
    (row,) = (await b.read("/bot2/enrollments/", listing))["results"]
    assert row["program"] == str(ids["B-UZ-SE"]) and row["program_details"]["name"]
    assert row["responded_count"] is None and row["coverage_snapshot_id"] is None  # nothing published yet
    options = []
    for kind in ("program", "direction"):  # the edit page's program choices
        options += (await b.read("/catalog/items/", {"is_active": "true", "page_size": "500", "type": kind}))["results"]
    direction = next(o for o in options if o["code"] == "DIR-SOFT-UZ")
    payload = {
        "program": direction["id"],
        "course_year": 2,
        "student_count": 40,
        "academic_year": "2025-2026",
        "campaign": "default",
        "is_active": True,
        "notes": "",
    }
    created = await b.write("POST", "/bot2/enrollments/", payload, 201)
    assert created["program"] == direction["id"] and created["program_details"]["code"] == "DIR-SOFT-UZ"
    form = await b.read(f"/bot2/enrollments/{created['id']}/")
    edited = {**{k: form[k] for k in payload}, "student_count": 45, "notes": "revised"}
    patched = await b.write("PATCH", f"/bot2/enrollments/{created['id']}/", edited)
    assert (patched["student_count"], patched["notes"]) == (45, "revised")
    newest = (await b.read("/bot2/enrollments/", listing))["results"]
    assert [r["id"] for r in newest] == [created["id"], row["id"]]  # -updated_at
    assert (await b.call("DELETE", f"/bot2/enrollments/{created['id']}/")).status_code == 204

    snapshot = await make_publisher(app, db, session, settings)()
    (row,) = (await b.read("/bot2/enrollments/", listing))["results"]
    # two students of B-UZ-SE year 1 answered (latest response each) against a headcount of 8
    assert (row["responded_count"], row["coverage_percent"]) == (2, 25.0)
    assert row["coverage_snapshot_id"] == snapshot and row["coverage_built_at"]
    assert (await b.read(f"/bot2/enrollments/{row['id']}/"))["responded_count"] == 2
    # the analytics pages beside it read the same snapshot with the browser's ISO instants
    window = f"from={FROM}&to={TO}"
    coverage = await b.read(f"/analytics/bot2/course-year-coverage?{window}")
    assert {"course_year", "total", "responded", "coverage_percent"} <= set(coverage[0])
    details = await b.read(f"/analytics/bot2/program-details-by-year?course_year=1&{window}")
    assert {"program_id", "program_name", "employed", "unemployed"} <= set(details[0])
    overview = await b.read(f"/analytics/bot2/enrollments-overview?{window}")
    assert overview["total_responded"] == 2 and {"by_year", "by_program"} <= set(overview)


# --- catalog (app/dashboard/catalog) ------------------------------------------------------------------------------


async def test_catalog_page_create_edit_delete(world: World) -> None:
    b = world.browser
    for kind in ("program", "direction", "region", "track", "subject"):
        items = (await b.read("/catalog/items/", {"type": kind}))["results"]
        assert items and all(i["type"] == kind for i in items)
        for item in items:
            assert {"id", "code", "name", "description", "is_active", "created_at"} <= set(item)
            assert item["meta"] == item["metadata"] and item["parent"] == item["parent_id"]
            names = {k: item[k] for k in ("name_uz", "name_ru", "name_en") if item[k]}
            assert names and names.items() <= item["meta"].items()  # the name columns, as the reference kept them
    # catalogApi.create sends {type, name, description, meta, metadata: meta}
    meta = {"name_uz": "Qoraqalpog'iston", "note": "added by staff"}
    body = {"type": "region", "name": "Karakalpakstan", "description": "Autonomous republic", "meta": meta}
    created = await b.write("POST", "/catalog/items/", {**body, "metadata": meta}, 201)
    assert created["description"] == "Autonomous republic" and created["meta"] == meta == created["metadata"]
    assert created["name_uz"] == "Qoraqalpog'iston"  # a translation given in meta lands in its column
    assert created["code"]  # generated
    # the edit dialog re-sends name, description and the item's meta (also as metadata)
    edit = {"name": "Karakalpakstan Rep.", "description": "", "meta": created["meta"]}
    edited = await b.write("PATCH", f"/catalog/items/{created['id']}/", {**edit, "metadata": created["meta"]})
    assert (edited["name"], edited["description"], edited["meta"]) == ("Karakalpakstan Rep.", "", meta)
    assert edited["metadata"] == {"note": "added by staff", "name_uz": "Qoraqalpog'iston"}
    listed = (await b.read("/catalog/items/", {"type": "region"}))["results"]
    assert any(i["id"] == created["id"] and i["name"] == "Karakalpakstan Rep." for i in listed)
    program = {"type": "program", "name": "Data Science", "description": "new", "meta": {}, "metadata": {}}
    assert (await b.write("POST", "/catalog/items/", program, 201))["meta"] == {}
    assert (await b.call("DELETE", f"/catalog/items/{created['id']}/")).status_code == 204


# --- what stays refused -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/catalog/items/", {"type": "region", "name": "X", "descripton": "typo"}, "$.descripton"),
        ("POST", "/catalog/items/", {"type": "region", "name": "X", "description": 5}, "$.description"),
        ("POST", "/catalog/items/", {"type": "region", "name": "X", "meta": {"a": 1}, "metadata": {"a": 2}}, "$.meta"),
        ("POST", "/bot2/roster/", {"student_external_id": "x1", "course_year": 1, "program": "B-UZ-SE"}, "$.program"),
        ("POST", "/bot2/roster/", {"student_external_id": "x1", "course_year": 1, "programme": "x"}, "$.programme"),
        ("POST", "/bot2/enrollments/", {"program": None, "course_year": "second"}, "$.course_year"),
        ("POST", "/bot2/enrollments/", {"course_year": 1, "responded_count": 3}, "$.responded_count"),
    ],
)
async def test_wrong_types_and_unknown_fields_stay_400(
    world: World, method: str, path: str, body: dict[str, Any], field: str
) -> None:
    response = await world.browser.call(method, path, body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert field in {problem.get("field"), *(e["field"] for e in problem.get("errors") or [])}, problem


async def test_program_given_twice_must_agree(world: World) -> None:
    ids = world.ids
    body = {"student_external_id": "x2", "course_year": 1, "program": str(ids["B-UZ-SE"])}
    response = await world.browser.call("POST", "/bot2/roster/", {**body, "program_id": str(ids["B-IT-ME"])})
    assert response.status_code == 400 and response.json()["field"] == "$.program"
    unknown = await world.browser.call("POST", "/bot2/roster/", {**body, "program": str(uuid.uuid4())})
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_CATALOG_REF"
    assert unknown.json()["field"] == "$.program"


async def test_openapi_describes_the_reference_shapes(world: World) -> None:
    schemas = (await world.browser.client.get("/schema/openapi.json")).json()["components"]["schemas"]
    wanted = {
        "ApplicationRow": {"applicant", "applicant_details", "direction_details", "track_details", "subject_details"},
        "ApplicantRow": {"region", "region_details"},
        "SurveyRow": {"student", "is_complete", "program_details"},
        "StudentRow": {"birth_date", "region_details", "program_details"},
        "RosterRow": {"program", "program_details"},
        "EnrollmentRow": {"program", "program_details", "responded_count", "coverage_percent", "coverage_snapshot_id"},
        "ItemOut": {"description", "meta", "metadata", "parent"},
        "ItemCreate": {"description", "meta"},
        "RosterCreate": {"program"},
        "EnrollmentCreate": {"program"},
    }
    for name, fields in wanted.items():
        assert fields <= set(schemas[name]["properties"]), name
    assert schemas["RosterRow"]["properties"]["program"] == {"type": "string", "format": "uuid"}
