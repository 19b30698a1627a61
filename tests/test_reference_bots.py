"""The reference's own bots against this API (SPEC §4.1, reference/reference-clients.md): a replay, call by call, of
what bot1 and bot2 at 176e7eb send (`bot*_service/src/*/api.py` for the calls, `handlers.py` for the bodies) and
of what they read from the answers, on SQLite and Postgres.

What their HTTP client does on the wire, reproduced by `ReferenceBot`:
- every request carries `Host: server`;
- catalogs: `POST /auth/login` as a dashboard user, keep `access` from the body, then
  `GET /catalog/items/?type=T&is_active=true` (bot1; params) or `?type=T` (bot2; in the URL) with a Bearer token,
  reading `results` of the first page: `id`, `code`, `name` / `name_uz` (bot1), `metadata.name_<lang>` else `name`
  (bot2). The login cookies stay in the client's jar and ride along on every later call;
- submissions: `POST` with `X-SERVICE-TOKEN` (the bot's raw token, accepted through `SERVICE_TOKEN_BOT*_HASH`), never
  an `Idempotency-Key`. Bot1 reads `status` from a submit's answer; bot2 reads nothing (any answer is "thanks").
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from crm.app import create_app
from ingest.core.db import Database
from ingest.core.schema import (
    Admissions2026Application,
    Applicant,
    CampusTourRequest,
    FoundationRequest,
    PolitoAcademyRequest,
    RosterEntry,
    Student,
    SurveyResponse,
)
from ingest.core.settings import Settings
from tests.dashboard_support import add_user
from tests.ingest_support import catalog, count  # noqa: F401

BASE = "/api/v1"  # the bots' SERVER_BASE_URL, trailing "/" stripped
BOT1_RAW = "reference-bot1-raw-token"  # the tokens the reference bots already have in their .env
BOT2_RAW = "reference-bot2-raw-token"
EMAIL, PASSWORD = "bots@ttpu.uz", "catalog-reader-42"  # the bots' DASHBOARD_EMAIL / DASHBOARD_PASSWORD


def sha256_hex(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@pytest.fixture
def ref_app(settings: Settings) -> Litestar:
    """The app as a team switching over runs it: the bots' existing tokens kept through the environment hashes."""
    return create_app(
        msgspec.structs.replace(
            settings, service_token_bot1_hash=sha256_hex(BOT1_RAW), service_token_bot2_hash=sha256_hex(BOT2_RAW)
        )
    )


class ReferenceBot:
    """The reference bots' `CrmApiClient` on the wire (see the module docstring)."""

    def __init__(self, client: AsyncTestClient[Litestar], service_token: str) -> None:
        self.client = client
        self.service_token = service_token
        self.access: str | None = None
        client.headers["Host"] = "server"

    async def login(self) -> httpx.Response:
        r = await self.client.post(f"{BASE}/auth/login", json={"email": EMAIL, "password": PASSWORD})
        if r.status_code == 200:
            self.access = r.json().get("access")
            # Over plain http against a dev server the session cookies come back; keep them in the jar, as httpx
            # does, so every later call carries them (the test server marks them Secure, which would drop them).
            self.client.cookies.clear()
            for name, value in r.cookies.items():
                self.client.cookies.set(name, value)
        return r

    async def catalog(self, item_type: str, *, bot: int) -> list[dict[str, Any]]:
        if self.access is None:
            assert (await self.login()).status_code == 200
        auth = {"Authorization": f"Bearer {self.access}"}
        if bot == 1:
            params = {"type": item_type, "is_active": "true"}
            r = await self.client.get(f"{BASE}/catalog/items/", params=params, headers=auth)
        else:
            r = await self.client.get(f"{BASE}/catalog/items/?type={item_type}", headers=auth)
        assert r.status_code == 200, r.text
        data = r.json()
        assert isinstance(data, dict) and isinstance(data["results"], list)
        assert data["next"] is None or data["next"].startswith("/api/v1/catalog/items?")
        return data["results"]

    async def post(self, path: str, payload: dict[str, Any]) -> httpx.Response:
        return await self.client.post(f"{BASE}{path}", json=payload, headers={"X-SERVICE-TOKEN": self.service_token})


@pytest.fixture
async def bot_user(session: Any, catalog: Any) -> None:  # noqa: F811
    await add_user(session, EMAIL, "viewer", password=PASSWORD)


@pytest.fixture
async def bot1(ref_app: Litestar, bot_user: None) -> Any:
    async with AsyncTestClient(app=ref_app) as c:
        yield ReferenceBot(c, BOT1_RAW)


@pytest.fixture
async def bot2(ref_app: Litestar, bot_user: None) -> Any:
    async with AsyncTestClient(app=ref_app) as c:
        yield ReferenceBot(c, BOT2_RAW)


def pick(items: list[dict[str, Any]], code: str) -> dict[str, Any]:
    return next(i for i in items if i["code"] == code)


async def one(db: Database, model: Any, *where: Any) -> Any:
    async with db.sessionmaker() as s:
        return (await s.scalars(select(model).where(*where))).one()


# --- catalogs (both bots) ----------------------------------------------------------------------------------------


async def test_catalog_login_then_bearer_reads_with_host_server(bot1: ReferenceBot, bot2: ReferenceBot) -> None:
    r = await bot1.login()
    assert r.status_code == 200 and isinstance(r.json()["access"], str)
    me = await bot1.client.get(f"{BASE}/auth/me")  # the login cookies ride along on every later call
    assert me.status_code == 200 and me.json()["email"] == EMAIL, me.text
    for item_type in ("region", "track", "direction", "subject"):
        items = await bot1.catalog(item_type, bot=1)
        assert items, item_type
        for item in items:  # bot1 shows `name` (else `name_uz`) and sends `id` back
            assert item["type"] == item_type and item["is_active"] is True
            assert uuid.UUID(item["id"]) and item["name"] and item["code"]
            assert isinstance(item["name_uz"], str)
    # Only the first page is read: every region must be on it (RS §7.3 has 15).
    assert {i["code"] for i in await bot1.catalog("region", bot=1)} >= {"REG-TASHCITY", "REG-FOREIGN"}
    # Links to further pages are relative (never built from the Host the client sends, issue 17); they only read
    # `results` and `count`.
    auth = {"Authorization": f"Bearer {bot1.access}"}
    r = await bot1.client.get(f"{BASE}/catalog/items/", params={"type": "region", "page_size": 5}, headers=auth)
    assert r.status_code == 200 and r.json()["next"].startswith("/api/v1/catalog/items?"), r.text
    for item_type in ("region", "direction"):
        for item in await bot2.catalog(item_type, bot=2):  # bot2: metadata.get(f"name_{lang}", name)
            assert isinstance(item["metadata"], dict) and item["name"]
            assert str(item["metadata"].get("name_ru", item["name"]))


async def test_a_failed_bot_login_is_not_a_crash(bot1: ReferenceBot) -> None:
    """Wrong credentials: the bot logs the status and falls back to its local catalog; it must get a clean 4xx."""
    r = await bot1.client.post(f"{BASE}/auth/login", json={"email": EMAIL, "password": "wrong"})
    assert 400 <= r.status_code < 500 and r.status_code != 404


# --- bot1 --------------------------------------------------------------------------------------------------------


def profile(bot1_region: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    """`_sync_applicant` and the applicant part of every submit: every profile field, blanks as ""."""
    return {
        "telegram_user_id": 5550001,
        "telegram_chat_id": 5550001,
        "username": "",  # no Telegram username
        "first_name": "Aziz",
        "last_name": "Karimov",
        "phone": "998901234567",  # as Telegram shares it, without "+"
        "email": "",  # e-mail step skipped
        "region_id": bot1_region["id"] if bot1_region else None,
        **extra,
    }


async def test_bot1_registration_and_four_submits(bot1: ReferenceBot, db: Database) -> None:
    regions = await bot1.catalog("region", bot=1)
    tashkent = pick(regions, "REG-TASHCITY")

    # /start with no region yet, then the registration's last step: upsert (answer ignored), twice as the bot does
    for body in (profile(None), profile(tashkent, email="aziz@example.com"), profile(tashkent)):
        r = await bot1.post("/bot1/applicants/upsert", body)
        assert 200 <= r.status_code < 300, r.text
    applicant = await one(db, Applicant, Applicant.telegram_user_id == 5550001)
    assert (applicant.first_name, applicant.phone, applicant.email) == ("Aziz", "998901234567", "aziz@example.com")
    assert str(applicant.region_id) == tashkent["id"] and applicant.telegram_chat_id == 5550001

    # Campus Tour: preferred_date only inside answers (not a top-level field in the reference bot)
    campus_answers = {
        "organization": "School 42",
        "position": "Teacher",
        "visitor_count": 5,
        "preferred_date": "2027-03-15",
        "time_slot": "11:30",
        "second_phone": "+998901112233",
        "gender": "female",
        "region": tashkent["name"],
    }
    r = await bot1.post("/bot1/campus-tour/submit", profile(tashkent, answers=campus_answers))
    assert r.status_code == 201 and r.json()["status"] == "submitted", r.text
    campus = await one(db, CampusTourRequest)
    assert campus.answers == campus_answers and campus.preferred_date is None and campus.submitted_at is not None

    # Foundation Year: answers {second_phone?, gender?, region?}; a region picked in the section wins over the profile
    samarkand = pick(regions, "REG-SAMARKAND")
    foundation_answers = {"gender": "male", "region": samarkand["name"]}
    r = await bot1.post("/bot1/foundation/submit", profile(samarkand, answers=foundation_answers))
    assert r.status_code == 201 and r.json()["status"] == "submitted", r.text
    assert (await one(db, FoundationRequest)).answers == foundation_answers

    # Polito Academy: subject_id from the subject catalog
    subject = (await bot1.catalog("subject", bot=1))[0]
    polito_answers = {"gender": "male", "region": tashkent["name"], "subject": subject["name"]}
    body = profile(tashkent, subject_id=subject["id"], answers=polito_answers)
    r = await bot1.post("/bot1/polito-academy/submit", body)
    assert r.status_code == 201 and r.json()["status"] == "submitted", r.text
    polito = await one(db, PolitoAcademyRequest)
    assert str(polito.subject_id) == subject["id"] and polito.answers == polito_answers

    # Qabul 2026: track_id + direction_id, answers with the profile's gender and birth date
    track = (await bot1.catalog("track", bot=1))[0]
    direction = (await bot1.catalog("direction", bot=1))[0]
    admissions_answers = {"gender": "male", "birth_date": "2007-05-01", "region": tashkent["name"]}
    body = profile(tashkent, track_id=track["id"], direction_id=direction["id"], answers=admissions_answers)
    r = await bot1.post("/bot1/admissions-2026/submit", body)
    assert r.status_code == 201 and r.json()["status"] == "submitted", r.text
    admission = await one(db, Admissions2026Application)
    assert str(admission.direction_id) == direction["id"] and str(admission.track_id) == track["id"]
    assert admission.answers == admissions_answers and admission.status == "submitted"

    # every submit re-sent the profile: still one applicant, region as last sent, e-mail kept ("" never erases)
    assert await count(db, Applicant) == 1
    applicant = await one(db, Applicant)
    assert str(applicant.region_id) == tashkent["id"] and applicant.email == "aziz@example.com"
    for model in (CampusTourRequest, FoundationRequest, PolitoAcademyRequest, Admissions2026Application):
        assert (await one(db, model)).applicant_id == applicant.id


async def test_bot1_without_idempotency_key_stores_each_request_once(bot1: ReferenceBot, db: Database) -> None:
    """No key, no replay protection: two identical presses are two applications, each stored exactly once."""
    tashkent = pick(await bot1.catalog("region", bot=1), "REG-TASHCITY")
    for n in (1, 2):
        r = await bot1.post("/bot1/foundation/submit", profile(tashkent, answers={"gender": "male"}))
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers, r.text
        assert await count(db, FoundationRequest) == n
    # a profile without a region (registration never reached the region step) and no track are accepted
    r = await bot1.post("/bot1/admissions-2026/submit", profile(None, track_id=None, direction_id=None))
    assert r.status_code == 400 and r.json()["field"] == "$.direction_id", r.text  # the reference also refused it
    direction = (await bot1.catalog("direction", bot=1))[0]
    r = await bot1.post("/bot1/admissions-2026/submit", profile(None, track_id=None, direction_id=direction["id"]))
    assert r.status_code == 201 and r.json()["status"] == "submitted", r.text


# --- bot2 --------------------------------------------------------------------------------------------------------


def label(item: dict[str, Any] | None, lang: str) -> str | None:
    """The button label bot2 shows (and sends back in `answers`): `metadata.name_<lang>`, else `name`."""
    return item and item["metadata"].get(f"name_{lang}", item["name"])


SEEDED_LABELS = {  # `crm seed catalog`'s names of the items the replays below pick
    "REG-FERGANA": {"uz": "Farg'ona", "ru": "Фергана", "en": "Fergana"},
    "DIR-SOFT-UZ": {
        "uz": "Dasturiy ta'minot muhandisligi 🇺🇿",
        "ru": "Программная инженерия 🇺🇿",
        "en": "Software Engineering 🇺🇿",
    },
}


async def test_bot2_labels_its_buttons_in_the_students_language(bot2: ReferenceBot, db: Database) -> None:
    """A fresh install (`crm seed catalog`, no `crm import reference`): the translations live in the name columns,
    and the answered metadata carries them, so a uz or ru student sees uz or ru buttons, not English ones."""
    region = pick(await bot2.catalog("region", bot=2), "REG-FERGANA")
    program = pick(await bot2.catalog("direction", bot=2), "DIR-SOFT-UZ")
    for lang in ("uz", "ru", "en"):
        assert label(region, lang) == SEEDED_LABELS["REG-FERGANA"][lang]
        assert label(program, lang) == SEEDED_LABELS["DIR-SOFT-UZ"][lang]
    for item in (*await bot2.catalog("region", bot=2), *await bot2.catalog("direction", bot=2)):
        assert {label(item, lang) for lang in ("uz", "ru", "en")} == {item[f"name_{x}"] for x in ("uz", "ru", "en")}
    # the labels the student saw are what the survey keeps
    r = await bot2.post("/bot2/surveys/submit", survey("uz", region, program))
    assert r.status_code == 201, r.text
    answers = (await one(db, SurveyResponse)).answers
    assert (answers["region_label"], answers["program_label"]) == ("Farg'ona", SEEDED_LABELS["DIR-SOFT-UZ"]["uz"])


def survey(
    lang: str,
    region: dict[str, Any] | None,
    program: dict[str, Any] | None,
    *,
    student_id: str = "SE-2021-0042",
    tg: int = 7770001,
    **extra: Any,
) -> dict[str, Any]:
    """`_final_submit`: the FSM data as the bot sends it (None where a step found nothing in its catalog)."""
    body: dict[str, Any] = {
        "student_external_id": student_id,
        "telegram_user_id": tg,
        "username": "aziza_k",
        "phone": "998907654321",
        "first_name": "Aziza",
        "last_name": "Karimova",
        "gender": "female",
        "region_id": region and str(region["id"]),
        "region_code": region and region["code"],
        "program_id": program and str(program["id"]),
        "program_code": program and program["code"],
        "course_year": 3,
        "language": lang,
        "employment_status": "employed",
        "employment_company": "Uzcard",
        "employment_role": "Backend developer",
        "consents": {"share_with_employers": False, "want_help": False},
        "answers": {"region_label": label(region, lang), "program_label": label(program, lang), "course_year": 3},
    }
    return body | extra


async def test_bot2_survey_is_stored_with_its_language(bot2: ReferenceBot, db: Database) -> None:
    region = pick(await bot2.catalog("region", bot=2), "REG-FERGANA")
    program = pick(await bot2.catalog("direction", bot=2), "DIR-SOFT-UZ")
    body = survey("ru", region, program)
    r = await bot2.post("/bot2/surveys/submit", body)
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers, r.text
    answer = r.json()
    assert answer["ok"] is True and answer["roster"] == {"program_id": program["id"], "course_year": 3}

    response = await one(db, SurveyResponse)
    assert str(response.id) == answer["response_id"] and response.language == "ru"
    assert (response.employment_status, response.employment_company) == ("employed", "Uzcard")
    assert response.employment_role == "Backend developer" and response.consents == body["consents"]
    assert response.answers == body["answers"] and response.survey_campaign == "default"
    assert str(response.program_id) == program["id"] and response.course_year == 3
    student = await one(db, Student)
    assert (student.student_external_id, student.telegram_user_id, student.gender) == (
        "SE-2021-0042",
        7770001,
        "female",
    )
    assert (student.first_name, student.last_name, student.phone) == ("Aziza", "Karimova", "998907654321")
    assert str(student.region_id) == region["id"] and student.username == "aziza_k"
    roster = await one(db, RosterEntry)
    assert roster.roster_campaign == "bot2_auto" and str(roster.program_id) == program["id"]


async def test_bot2_unemployed_branch_without_region_or_gender(bot2: ReferenceBot, db: Database) -> None:
    """Gender defaults to "unspecified"; a region not found in the bot's cache is sent as nulls; no job fields."""
    program = pick(await bot2.catalog("direction", bot=2), "DIR-MECH-IT")
    body = survey(
        "uz",
        None,
        program,
        gender="unspecified",
        employment_status="unemployed",
        employment_company="",
        employment_role="",
        consents={"share_with_employers": True, "want_help": True},
    )
    r = await bot2.post("/bot2/surveys/submit", body)
    assert r.status_code == 201, r.text
    response = await one(db, SurveyResponse)
    assert response.language == "uz" and response.employment_status == "unemployed"
    assert response.consents == {"share_with_employers": True, "want_help": True}
    assert response.answers["region_label"] is None
    student = await one(db, Student)
    assert student.gender == "unspecified" and student.region_id is None


async def test_bot2_known_student_each_request_stored_once(bot2: ReferenceBot, db: Database) -> None:
    """A rostered student keeps the roster's program and year (SPEC §4.3); without a key every submission is one more
    response, never a replay."""
    programs = await bot2.catalog("direction", bot=2)
    rostered, chosen = pick(programs, "DIR-COMP-IT"), pick(programs, "DIR-AUTO-UZ")
    async with db.sessionmaker() as s, s.begin():
        s.add(RosterEntry(student_external_id="CE-2022-0007", program_id=uuid.UUID(rostered["id"]), course_year=2))
    region = pick(await bot2.catalog("region", bot=2), "REG-NAMANGAN")
    for n, lang in enumerate(("en", "en"), start=1):
        r = await bot2.post("/bot2/surveys/submit", survey(lang, region, chosen, student_id="CE-2022-0007"))
        assert r.status_code == 201 and r.json()["roster"] == {"program_id": rostered["id"], "course_year": 2}, r.text
        assert await count(db, SurveyResponse) == n
    assert await count(db, Student) == 1 and await count(db, RosterEntry) == 1
    async with db.sessionmaker() as s:
        assert {r.language for r in await s.scalars(select(SurveyResponse))} == {"en"}


async def test_bot2_id_and_code_must_name_one_item(bot2: ReferenceBot, db: Database) -> None:
    """The bot sends `*_id` and `*_code` of one catalog item, so they agree; when they do not (a code edited while
    the bot's 15-minute cache held the old one), the answer is 400 on the code rather than a guess (SPEC §12)."""
    regions = await bot2.catalog("region", bot=2)
    program = pick(await bot2.catalog("direction", bot=2), "DIR-SOFT-UZ")
    body = survey("en", regions[0], program, region_code=regions[1]["code"])
    r = await bot2.post("/bot2/surveys/submit", body)
    assert r.status_code == 400 and r.json()["code"] == "INVALID_CATALOG_REF"
    assert r.json()["field"] == "$.region_code"
    assert await count(db, SurveyResponse) == 0


async def test_bot2_fields_no_reference_client_sends_are_still_400(bot2: ReferenceBot, db: Database) -> None:
    program = pick(await bot2.catalog("direction", bot=2), "DIR-SOFT-UZ")
    for extra, field in [
        ({"lang": "uz"}, "$.lang"),
        ({"language": 5}, "$.language"),
        ({"language": "uzbek-latin"}, "$.language"),
        ({"gender": "unknown"}, "$.gender"),
    ]:
        r = await bot2.post("/bot2/surveys/submit", survey("uz", None, program) | extra)
        assert r.status_code == 400 and r.json()["field"] == field, (extra, r.text)
    assert await count(db, SurveyResponse) == 0


async def test_each_bot_token_only_on_its_own_bot(bot1: ReferenceBot, bot2: ReferenceBot, db: Database) -> None:
    program = pick(await bot2.catalog("direction", bot=2), "DIR-SOFT-UZ")
    r = await bot1.post("/bot2/surveys/submit", survey("uz", None, program))
    assert r.status_code == 403 and r.json()["code"] == "SERVICE_TOKEN_WRONG_BOT"
    r = await bot2.post("/bot1/foundation/submit", profile(None))
    assert r.status_code == 403 and r.json()["code"] == "SERVICE_TOKEN_WRONG_BOT"
    assert await count(db, SurveyResponse) == 0 and await count(db, FoundationRequest) == 0
