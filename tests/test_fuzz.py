"""Schemathesis over the app's own OpenAPI document, against a real `crm serve` on SQLite and on Postgres with demo
data and published marts: every operation, authenticated the way its callers are, must never answer 5xx."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from crm.context import run_in_session
from ingest.auth.service_tokens import issue_token
from ingest.auth.users import create_user
from ingest.core import migrate
from ingest.core.settings import load_settings
from tests.conftest import create_pg_database, drop_pg_database, pg_base_url, unique_db_name
from tests.e2e import clean_env, crm_process, free_port, wait_ready

pytestmark = pytest.mark.e2e

ADMIN_EMAIL, ADMIN_PASSWORD = "fuzz-admin@example.org", "fuzz-admin-password"


def _prepare(env: dict[str, str], cwd: Path) -> dict[str, str]:
    """Migrate, seed the catalog and small mock data, publish marts; return the credentials to call with."""
    settings = load_settings(env, dotenv=None)
    migrate.upgrade(settings.database_url)
    for args in (["seed", "catalog"], ["seed", "mock", "--scale", "small", "--seed", "7"], ["warehouse", "build"]):
        subprocess.run([sys.executable, "-m", "crm", *args], cwd=cwd, env=env, check=True, capture_output=True)

    async def accounts(session):  # type: ignore[no-untyped-def]
        await create_user(session, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, role="admin")
        return {service: (await issue_token(session, service, name="fuzz"))[1] for service in ("bot1", "bot2")}

    return run_in_session(settings, accounts)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    cwd = tmp_path_factory.mktemp("fuzz")
    name = unique_db_name("fuzz")
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{cwd / 'crm.sqlite3'}"
    elif pg_base_url():
        url = create_pg_database(name)
    else:
        pytest.skip("CRM_TEST_DATABASE_URL not set")
    port = free_port()
    env = clean_env(
        CRM_DATABASE_URL=url,
        CRM_DATA_DIR=str(cwd / "data"),
        CRM_ENV="test",
        CRM_DOCS_PUBLIC="true",
        CRM_SECRET_KEY="fuzz-secret-key-long-enough-for-hs256-signing",
    )
    tokens = _prepare(env, cwd)
    base = f"http://127.0.0.1:{port}"
    with crm_process(["serve", "--port", str(port)], cwd=cwd, env=env, log=cwd / "serve.log") as proc:
        wait_ready(base, proc, deadline_s=60)
        import httpx

        login = httpx.post(f"{base}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        yield {"base": base, "access": login.json()["access"], **tokens, "log": str(cwd / "serve.log")}
    if request.param == "postgres":
        drop_pg_database(name)


SERVICE_PREFIXES = {
    "bot1": (
        "/api/v1/bot1/applicants/upsert",
        "/api/v1/bot1/admissions-2026/submit",
        "/api/v1/bot1/campus-tour/",
        "/api/v1/bot1/foundation/submit",
        "/api/v1/bot1/polito-academy/submit",
        "/api/v1/bot/",
        "/api/v1/ingest/",
    ),
    "bot2": ("/api/v1/bot2/surveys/submit",),
}


def _headers(path: str, live: dict[str, str]) -> dict[str, str]:
    """Who calls this operation: a bot with its service token, or the dashboard as admin."""
    for service, prefixes in SERVICE_PREFIXES.items():
        if path.startswith(prefixes) or (
            service == "bot1" and path.endswith("/applications") and "/applicants/" in path
        ):
            return {"X-SERVICE-TOKEN": live[service]}
    return {"Authorization": f"Bearer {live['access']}"}


FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)


def _fuzz(operation, live: dict[str, str], failures: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Hypothesis over one operation; the first 5xx it finds is recorded (after shrinking)."""
    if operation.path == "/api/v1/auth/logout":
        return  # logging out would revoke the token every other case uses

    @FUZZ
    @given(case=operation.as_strategy())
    def run(case) -> None:  # type: ignore[no-untyped-def]
        headers = {**(case.headers or {}), **_headers(case.path, live)}
        response = case.call(base_url=live["base"], headers=headers)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} query={case.query} body={str(case.body)[:300]} "
            f"→ {response.status_code}: {response.text[:300]}"
        )

    try:
        run()
    except AssertionError as exc:
        failures.append(str(exc).splitlines()[0])


def test_no_operation_answers_5xx(live: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_url(f"{live['base']}/schema/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # the whole API, not an empty document
    for operation in operations:
        _fuzz(operation, live, failures)
    assert not failures, f"{len(failures)} operation(s) answered 5xx (server log: {live['log']}):\n" + "\n".join(
        failures
    )
