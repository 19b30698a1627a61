"""The report schedule (`reports.toml`, SPEC §9): each report's dataset, filters, relative window, formats, cron
schedule and destinations, validated when loaded so that a typo is an error naming the report and field, not a
failed run at 06:00."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path, PurePosixPath
from typing import Annotated, Literal

import msgspec
from apscheduler.triggers.cron import CronTrigger

from ingest.contracts.fields import STATUSES
from ingest.core.problems import ProblemError
from ingest.core.settings import Settings
from reports.exports.datasets import Filters, check_filters, dataset_of
from reports.schedule.relative_windows import relative_window
from warehouse.contract import APPLICATION_KINDS

Format = Literal["csv", "parquet", "xlsx"]
Lang = Literal["uz", "ru", "en"]
Kind = Literal[APPLICATION_KINDS]  # type: ignore[valid-type]
Status = Literal[STATUSES]  # type: ignore[valid-type]
Name = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
DEFAULT_TELEGRAM_API = "https://api.telegram.org"


class ConfigError(ValueError):
    """reports.toml cannot be used; the message says where."""


class ReportFilters(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    campaign: str | None = None
    kind: Kind | None = None
    status: Status | None = None
    lang: Lang | None = None


class ReportSpec(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    name: Name
    dataset: str
    schedule: str
    window: str = "all_time"
    formats: list[Format] = msgspec.field(default_factory=lambda: ["csv"])
    filters: ReportFilters = ReportFilters()
    folder: str | None = None
    telegram_chat_id: str | int | None = None
    enabled: bool = True
    description: str = ""

    @property
    def relative_folder(self) -> PurePosixPath:
        return PurePosixPath(self.folder or f"reports/{self.name}")


class TelegramConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    token_env: str = "CRM_REPORTS_BOT_TOKEN"
    api_url: str | None = None


class ReportsConfig(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    reports: list[ReportSpec] = msgspec.field(default_factory=list)
    telegram: TelegramConfig = TelegramConfig()

    def get(self, name: str) -> ReportSpec | None:
        return next((r for r in self.reports if r.name == name), None)


_EPSILON = timedelta(microseconds=1)

# --- cron -----------------------------------------------------------------------------------------------------

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # standard cron: 0 (and 7) = Sunday
_APS_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # APScheduler 3: 0 = Monday


def _cron_day(token: str) -> int:
    token = token.lower()
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    if token[:3] in _DAY_NAMES:
        return _DAY_NAMES.index(token[:3])
    raise ValueError(f"bad day of week {token!r}")


def _weekdays(field: str) -> str:
    """A standard cron day-of-week field as APScheduler weekday names (its numbers start at Monday, cron's at
    Sunday: `1` must mean Monday here, as in every crontab)."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            lo, hi = 0, 6
        elif "-" in body:
            a, b = body.split("-", 1)
            lo, hi = _cron_day(a), _cron_day(b)
            if b.strip() == "7":
                hi = 7
        else:
            lo = hi = _cron_day(body)
            if step_text:
                hi = 6
        if step < 1 or hi < lo:
            raise ValueError(f"bad day-of-week range {part!r}")
        days.update(d % 7 for d in range(lo, hi + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(name for name in _APS_NAMES if _DAY_NAMES.index(name) in days)


def cron_trigger(expression: str, tz: tzinfo) -> CronTrigger:
    """A five-field crontab expression (minute hour day month weekday) in the configured time zone."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"cron needs 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_weekdays(weekday), timezone=tz)


def next_fire(spec: ReportSpec, after: datetime, tz: tzinfo) -> datetime | None:
    """The first scheduled time strictly after `after` (UTC)."""
    fire = cron_trigger(spec.schedule, tz).get_next_fire_time(None, after + _EPSILON)
    return fire.astimezone(UTC) if fire else None


# --- loading ----------------------------------------------------------------------------------------------------


def _validate(spec: ReportSpec, tz: tzinfo) -> None:
    where = f"report {spec.name!r}"
    try:
        dataset = dataset_of(spec.dataset)
    except ProblemError as exc:
        raise ConfigError(f"{where}: dataset: {exc.detail}") from None
    try:
        window = relative_window(spec.window, datetime.now(UTC), tz)
    except ValueError as exc:
        raise ConfigError(f"{where}: window: {exc}") from None
    f = spec.filters
    if f.lang is not None and not dataset.flattened:
        raise ConfigError(f"{where}: filters.lang: {dataset.name} has no labels (only applications, survey-responses)")
    try:
        check_filters(dataset, Filters(window, f.campaign, f.kind, f.status, f.lang or "en"))
    except ProblemError as exc:
        raise ConfigError(f"{where}: {exc.field}: {exc.detail}") from None
    try:
        cron_trigger(spec.schedule, tz)
    except ValueError as exc:
        raise ConfigError(f"{where}: schedule {spec.schedule!r}: {exc}") from None
    folder = spec.relative_folder
    if folder.is_absolute() or ".." in folder.parts or str(folder) in ("", "."):
        raise ConfigError(f"{where}: folder must be a relative path under CRM_DATA_DIR without '..'")
    if not spec.formats:
        raise ConfigError(f"{where}: formats: give at least one of csv, parquet, xlsx")


def parse_config(text: str, tz: tzinfo, source: str = "reports.toml") -> ReportsConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    try:
        config = msgspec.convert(raw, ReportsConfig)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    names = [r.name for r in config.reports]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{source}: report names must be unique: {', '.join(duplicates)}")
    for spec in config.reports:
        _validate(spec, tz)
    return config


def load_config(settings: Settings) -> ReportsConfig:
    """The schedule from CRM_REPORTS_FILE (or ./reports.toml); none configured means no reports."""
    path = settings.reports_file
    if path is None:
        return ReportsConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"CRM_REPORTS_FILE={path} does not exist")
    return parse_config(path.read_text(encoding="utf-8"), settings.tz, str(path))


__all__ = ["APPLICATION_KINDS", "STATUSES", "ConfigError", "ReportSpec", "ReportsConfig", "load_config", "next_fire"]
