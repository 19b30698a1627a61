"""Scheduled reports (SPEC §9): reports.toml validation, runs that write their files and are recorded (a failure
with its error), Telegram delivery through a fake Bot API server on loopback, the schedule (due once per scheduled
time, no catch-up on first sight), the runs API with file downloads, and `crm reports run|list`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from click.testing import CliRunner

from crm.cli import cli
from ingest.catalog.seed import seed_catalog
from reports.schedule.config import ConfigError, ReportsConfig, parse_config
from reports.schedule.runner import SCHEDULE_LOCK, run_due_sync, run_report
from reports.schedule.runs import RunStore, runs_dir
from tests.analytics_dataset import auth as auth  # a fixture
from tests.analytics_dataset import publish as publish  # a fixture
from tests.test_analytics import dataset as dataset  # a fixture
from tests.test_exports import cli_env, csv_rows, xlsx_rows
from warehouse.lock import file_lock

TZ = ZoneInfo("Asia/Tashkent")
R = "/api/v1/reports"

CONFIG = """
[telegram]
token_env = "TEST_REPORTS_BOT_TOKEN"
api_url = "{api_url}"

[[reports]]
name = "weekly"
dataset = "applications"
window = "last_7_days"
formats = ["csv", "xlsx"]
schedule = "0 7 * * 1"
{chat}

[reports.filters]
kind = "admissions-2026"
lang = "ru"

[[reports]]
name = "coverage"
dataset = "agg_coverage"
schedule = "*/15 * * * *"
folder = "exports/coverage"
"""


class FakeBotApi:
    """A Bot API stand-in on 127.0.0.1: records sendDocument calls; answers ok, or an error when told to."""

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []
        self.fail_with: str | None = None
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                api.calls.append({"path": self.path, "body": body})
                ok = api.fail_with is None
                payload = {"ok": True, "result": {}} if ok else {"ok": False, "description": api.fail_with}
                data = json.dumps(payload).encode()
                self.send_response(200 if ok else 400)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def bot_api() -> Iterator[FakeBotApi]:
    api = FakeBotApi()
    yield api
    api.close()


def config_of(api_url: str = "http://127.0.0.1:9", chat: str | None = None) -> ReportsConfig:
    text = CONFIG.format(api_url=api_url, chat=f'telegram_chat_id = "{chat}"' if chat else "")
    return parse_config(text, TZ)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[reports]]\nname = "x"\ndataset = "nope"\nschedule = "0 7 * * *"', "dataset"),
        ('[[reports]]\nname = "x"\ndataset = "applications"\nschedule = "0 7 * *"', "schedule"),
        ('[[reports]]\nname = "x"\ndataset = "applications"\nschedule = "0 99 * * *"', "schedule"),
        ('[[reports]]\nname = "x"\ndataset = "applications"\nschedule = "0 7 * * *"\nwindow = "fortnight"', "window"),
        ('[[reports]]\nname = "x"\ndataset = "applications"\nschedule = "0 7 * * *"\nformats = ["pdf"]', "formats"),
        ('[[reports]]\nname = "x"\ndataset = "applications"\nschedule = "0 7 * * *"\ncolour = "red"', "colour"),
        ('[[reports]]\nname = "x"\ndataset = "applications"\nschedule = "0 7 * * *"\nfolder = "../etc"', "folder"),
        ('[[reports]]\nname = "x"\ndataset = "dim_catalog"\nschedule = "0 7 * * *"\nwindow = "yesterday"', "from"),
        (
            '[[reports]]\nname = "x"\ndataset = "agg_coverage"\nschedule = "0 7 * * *"\n'
            '[reports.filters]\nkind = "foundation"',
            "kind",
        ),
        ('[[reports]]\nname = "Bad Name"\ndataset = "applications"\nschedule = "0 7 * * *"', "name"),
        (
            '[[reports]]\nname = "x"\ndataset = "applications"\nschedule = "0 7 * * *"\n'
            '[[reports]]\nname = "x"\ndataset = "applications"\nschedule = "0 8 * * *"',
            "unique",
        ),
        ("[[reports]\n", "TOML"),
    ],
)
def test_bad_config_is_an_error_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text, TZ)


def test_the_example_file_is_valid() -> None:
    config = parse_config(Path(__file__).parents[1].joinpath("reports.example.toml").read_text(), TZ)
    assert {r.name for r in config.reports} == {"weekly-admissions", "monthly-survey", "daily-coverage"}


async def test_a_run_writes_its_files_and_is_recorded(client, auth, dataset, settings) -> None:
    now = datetime(2026, 3, 23, 3, 0, tzinfo=UTC)  # Monday 08:00 in Tashkent: last_7_days = Mar 16..22
    run = run_report(settings, config_of().get("weekly"), config_of(), now=now)
    assert run.status == "succeeded", run.error
    assert [f.format for f in run.files] == ["csv", "xlsx"]
    assert run.snapshot_id == dataset["snapshot_id"]
    assert run.window_from == datetime(2026, 3, 16, tzinfo=TZ) and run.window_to == datetime(2026, 3, 23, tzinfo=TZ)
    folder = settings.data_dir / "reports" / "weekly" / run.id
    csv_file = folder / run.files[0].name
    assert run.files[0].name.startswith("applications_2026-03-16_to_2026-03-22_admissions-2026_ru_snapshot-")
    rows = csv_rows(csv_file.read_bytes())
    ops = dataset["ops"]
    expected = sum(
        1
        for a in ops.apps
        if a.kind == "admissions-2026" and a.submitted_at and run.window_from <= a.submitted_at < run.window_to
    )
    assert len(rows) == expected > 0
    assert len(xlsx_rows((folder / run.files[1].name).read_bytes())) == expected
    # recorded, listed and downloadable
    listed = (await client.get(f"{R}/runs", headers=auth)).json()
    assert listed["count"] == 1 and listed["results"][0]["id"] == run.id
    assert listed["results"][0]["status"] == "succeeded"
    download = await client.get(f"{R}/runs/{run.id}/files/{run.files[0].name}", headers=auth)
    assert download.status_code == 200 and download.content == csv_file.read_bytes()
    assert (await client.get(f"{R}/runs/{run.id}/files/..%2F..%2Fsecret_key", headers=auth)).status_code == 404
    assert (await client.get(f"{R}/runs/no-such-run", headers=auth)).status_code == 404
    assert (await client.get(f"{R}/runs")).status_code == 401


async def test_a_failed_run_is_recorded_with_its_error(client, auth, settings) -> None:
    run = run_report(settings, config_of().get("coverage"), config_of())
    assert run.status == "failed"
    assert "no warehouse snapshot" in run.error
    stored = RunStore(settings).get(run.id)
    assert stored is not None and stored.status == "failed" and stored.error == run.error
    body = (await client.get(f"{R}/runs", params={"status": "failed"}, headers=auth)).json()
    assert [r["id"] for r in body["results"]] == [run.id]
    assert body["results"][0]["error"] == run.error
    bad = await client.get(f"{R}/runs", params={"status": "lost"}, headers=auth)
    assert bad.status_code == 400 and bad.json()["field"] == "status"
    bad = await client.get(f"{R}/runs", params={"page_size": "501"}, headers=auth)
    assert bad.status_code == 400 and bad.json()["field"] == "page_size"


async def test_telegram_delivery(dataset, settings, bot_api, monkeypatch) -> None:
    monkeypatch.setenv("TEST_REPORTS_BOT_TOKEN", "123:abc")
    config = config_of(bot_api.url, chat="-1001")
    run = run_report(settings, config.get("weekly"), config)
    assert run.status == "succeeded", run.error
    assert [c["path"] for c in bot_api.calls] == ["/bot123:abc/sendDocument"] * 2
    first = bot_api.calls[0]["body"]
    assert b'name="chat_id"' in first and b"-1001" in first and run.files[0].name.encode() in first
    assert all(d.ok for d in run.deliveries)
    # the Bot API refusing is a failed run that says why; the files stay
    bot_api.fail_with = "Bad Request: chat not found"
    failed = run_report(settings, config.get("weekly"), config)
    assert failed.status == "failed" and "chat not found" in failed.error
    assert failed.files and not failed.deliveries[-1].ok
    # no token configured: files are written, delivery is skipped and says why
    monkeypatch.delenv("TEST_REPORTS_BOT_TOKEN")
    skipped = run_report(settings, config.get("weekly"), config)
    assert skipped.status == "succeeded"
    assert skipped.deliveries[0].ok is False and "TEST_REPORTS_BOT_TOKEN" in skipped.deliveries[0].detail


def write_config(settings, tmp_path: Path, text: str):
    path = tmp_path / "reports.toml"
    path.write_text(text, encoding="utf-8")
    return msgspec.structs.replace(settings, reports_file=path)


async def test_the_schedule_runs_each_due_report_once(dataset, settings, tmp_path) -> None:
    settings = write_config(settings, tmp_path, CONFIG.format(api_url="http://127.0.0.1:9", chat=""))
    monday_0650 = datetime(2026, 3, 23, 1, 50, tzinfo=UTC)
    # first sight: nothing runs, the schedule starts counting from now
    assert run_due_sync(settings, monday_0650) == []
    # 06:55: the next time of either report (07:00) has not come
    assert run_due_sync(settings, monday_0650 + timedelta(minutes=5)) == []
    # another worker's pass holds the schedule lock: this one runs nothing and leaves the due reports due
    with file_lock(runs_dir(settings) / SCHEDULE_LOCK) as held:
        assert held and run_due_sync(settings, monday_0650 + timedelta(minutes=11)) == []
    # 07:01: both were due (07:00); each runs once
    runs = run_due_sync(settings, monday_0650 + timedelta(minutes=11))
    assert sorted(r.report for r in runs) == ["coverage", "weekly"]
    assert all(r.status == "succeeded" and r.trigger == "schedule" for r in runs)
    assert run_due_sync(settings, monday_0650 + timedelta(minutes=12)) == []
    # an hour later: the 15-minute report ran missed times as one run; the weekly one waits for next Monday
    runs = run_due_sync(settings, monday_0650 + timedelta(minutes=71))
    assert [r.report for r in runs] == ["coverage"]
    assert (settings.data_dir / "exports" / "coverage" / runs[0].id).is_dir()


async def test_reports_api_lists_the_schedule(client, auth, settings, tmp_path) -> None:
    from litestar.testing import AsyncTestClient

    from crm.app import create_app

    configured = write_config(settings, tmp_path, CONFIG.format(api_url="http://127.0.0.1:9", chat=""))
    async with AsyncTestClient(app=create_app(configured)) as other:
        body = (await other.get(R, headers=auth)).json()
    assert [r["name"] for r in body] == ["weekly", "coverage"]
    assert body[0]["next_run_at"] is not None and body[0]["last_run"] is None
    assert (await client.get(R, headers=auth)).json() == []  # nothing configured


async def test_crm_reports_run_and_list(session, settings, tmp_path, publish) -> None:
    await seed_catalog(session)
    await session.commit()
    await publish()
    settings = write_config(settings, tmp_path, CONFIG.format(api_url="http://127.0.0.1:9", chat=""))
    env = {**cli_env(settings), "CRM_REPORTS_FILE": str(settings.reports_file)}
    runner = CliRunner()
    result = runner.invoke(cli, ["reports", "run", "coverage"], env=env)
    assert result.exit_code == 0, result.output
    assert "1 succeeded, 0 failed" in result.output
    listing = runner.invoke(cli, ["reports", "list"], env=env)
    assert listing.exit_code == 0 and "coverage" in listing.output and "weekly" in listing.output
    runs = RunStore(settings).list()[1]
    assert [(r.report, r.status, r.trigger) for r in runs] == [("coverage", "succeeded", "manual")]
    unknown = runner.invoke(cli, ["reports", "run", "nope"], env=env)
    assert unknown.exit_code == 1 and "no report named" in unknown.output


async def test_the_worker_runs_the_schedule(settings, tmp_path) -> None:
    from crm.worker import make_scheduler, worker_jobs
    from reports.schedule.jobs import REPORTS_JOB
    from reports.schedule.runner import run_due_reports

    scheduler = make_scheduler(settings, worker_jobs(settings, build_now=False))
    job = scheduler.get_job(REPORTS_JOB)
    assert job is not None and job.func is run_due_reports and job.args == (settings,)
    # a broken reports.toml is logged, never raised into the scheduler
    broken = write_config(settings, tmp_path, '[[reports]]\nname = "x"\n')
    assert await run_due_reports(broken) == []
