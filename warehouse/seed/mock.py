"""`crm seed mock`: deterministic synthetic operational data at RS §7.7 sizes (small, medium, large) and at benchmark
size (xlarge: 1,000,000 admissions applications and 1,000,000 survey responses), generated column-wise with numpy
and polars and bulk-loaded in one transaction (COPY on Postgres, executemany on SQLite).

Every value respects the schema's CHECKs (status `new` ⇔ no submitted_at, course years 1..5). Rows of one
(scale, seed) live in their own namespace (telegram ids, student ids), so a re-run finds them and loads nothing."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa

from ingest.contracts.fields import STATUSES as APPLICATION_STATUSES
from warehouse.seed.bulk_load import DEFER_CONSTRAINTS_ROWS, Loader, Progress, open_loader

SCALES = ("small", "medium", "large", "xlarge")
T = TypeVar("T")
CAMPAIGNS = ("default", "2025-FALL", "2026-SPRING")


@dataclass(frozen=True)
class Scale:
    applicants: int
    admissions: int
    campus: int
    foundation: int
    polito: int
    roster_active: int
    roster_inactive: int
    student_ratio: tuple[float, float]
    survey_ratio: tuple[float, float]  # share of students with an active roster row who answer
    responses: int | None  # exact total (xlarge); None: responders plus ~25% repeat answers
    days: int  # submissions spread over this many days before the anchor

    @property
    def rows(self) -> int:
        """At least this many rows are loaded (students and responses come on top)."""
        return sum((self.applicants, self.admissions, self.campus, self.foundation, self.polito)) + self.roster_rows

    @property
    def roster_rows(self) -> int:
        return self.roster_active + self.roster_inactive


SIZES = {
    "small": Scale(350, 300, 100, 80, 150, 800, 80, (0.65, 0.80), (0.45, 0.55), None, 365),
    "medium": Scale(800, 700, 250, 180, 350, 1500, 150, (0.70, 0.85), (0.50, 0.65), None, 365),
    "large": Scale(1400, 1100, 380, 260, 600, 3000, 300, (0.75, 0.90), (0.55, 0.70), None, 365),
    "xlarge": Scale(
        600_000, 1_000_000, 50_000, 40_000, 60_000, 400_000, 40_000, (0.85, 0.85), (0.9, 0.9), 1_000_000, 730
    ),
}

# The bulk-loaded tables (foreign-key order); bot2_enrollment is small and inserted after them.
BULK_TABLES = [
    "bot1_applicant",
    "bot1_admissions_2026",
    "bot1_campus_tour",
    "bot1_foundation",
    "bot1_polito_academy",
    "bot2_roster",
    "bot2_student",
    "bot2_survey_response",
]
ENROLLMENT = "bot2_enrollment"

STATUS_WEIGHTS = {"submitted": 40, "in_progress": 25, "approved": 15, "rejected": 10, "new": 10}
FIRST_NAMES = ("Ali", "Vali", "Sardor", "Dilshod", "Aziza", "Laylo", "Malika", "Javlon", "Madina", "Bekzod", "Nodira")
LAST_NAMES = ("Karimov", "Saidov", "Yusupov", "Nazarova", "Rakhimov", "Islomova", "Usmonov", "Khaydarov", "Tursunova")
ROLES = ("Engineer", "Developer", "Analyst", "Designer", "Manager", "Technician")
# Local hour of day of a submission (people write in the evening more than at night).
HOUR_WEIGHTS = np.array([1, 1, 1, 1, 1, 2, 3, 5, 7, 9, 10, 10, 9, 9, 9, 9, 10, 11, 12, 12, 11, 8, 5, 2], dtype=float)
# Heavier regions first: the real catalog order puts Tashkent city first.
REGION_WEIGHTS = np.array([30, 14, 6, 5, 7, 3, 5, 3, 5, 6, 2, 4, 4, 3, 3], dtype=float)


# --- random columns ----------------------------------------------------------------------------------------------


class Gen:
    """numpy's PCG64 stream: the same seed gives the same rows on every machine and numpy 2.x version."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def uuids(self, n: int) -> pl.Series:
        """n random version-4 UUIDs as canonical strings, built without a Python loop."""
        raw = np.frombuffer(self.rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
        digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
        hexed = np.empty((n, 32), dtype=np.uint8)
        hexed[:, 0::2], hexed[:, 1::2] = digits[raw >> 4], digits[raw & 15]
        out = np.full((n, 36), ord("-"), dtype=np.uint8)
        for dst, src in ((0, 0), (9, 8), (14, 12), (19, 16), (24, 20)):
            width = 12 if dst == 24 else (8 if dst == 0 else 4)
            out[:, dst : dst + width] = hexed[:, src : src + width]
        arr = pa.FixedSizeBinaryArray.from_buffers(pa.binary(36), n, [None, pa.py_buffer(out.tobytes())])
        series = pl.from_arrow(arr.cast(pa.binary()).cast(pa.string()))
        assert isinstance(series, pl.Series)
        return series

    def pick(self, values: list | tuple, n: int, weights: np.ndarray | None = None) -> pl.Series:
        p = None if weights is None else weights / weights.sum()
        idx = self.rng.choice(len(values), size=n, p=p)
        return pl.Series(np.asarray(values, dtype=object)[idx].tolist())

    def index(self, high: int, n: int) -> np.ndarray:
        return self.rng.integers(0, high, size=n)

    def chance(self, p: float, n: int) -> np.ndarray:
        return self.rng.random(n) < p

    def local_times(self, n: int, days: int, anchor: date, tz: str) -> pl.Series:
        """UTC instants of n submissions over `days` local days before `anchor`: busier recently and by day."""
        recent = self.rng.triangular(0, 0, days, size=n)
        spread = self.rng.uniform(0, days, size=n)
        offset = np.where(self.rng.random(n) < 0.6, recent, spread).astype(np.int64)
        hours = self.rng.choice(24, size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
        seconds = self.rng.integers(0, 3600, size=n)
        micros = self.rng.integers(0, 1_000_000, size=n)
        start = datetime.combine(anchor, datetime.min.time())
        naive = (
            pl.Series(np.full(n, start, dtype="datetime64[us]"))
            - pl.Series((offset + 1) * 86_400_000_000, dtype=pl.Duration("us"))
            + pl.Series((hours * 3600 + seconds) * 1_000_000 + micros, dtype=pl.Duration("us"))
        )
        return naive.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null").dt.convert_time_zone("UTC")


# --- tables ------------------------------------------------------------------------------------------------------


@dataclass
class Catalog:
    """Active catalog ids by (type, code), and per type in the catalog's own order (type, sort_order, code)."""

    ids: dict[tuple[str, str], str]
    ordered: dict[str, list[str]]

    @classmethod
    def from_rows(cls, rows: list[tuple[str, str, str]]) -> Catalog:
        ids: dict[tuple[str, str], str] = {}
        ordered: dict[str, list[str]] = {}
        for item_id, type_, code in rows:
            ids[(type_, code)] = item_id
            ordered.setdefault(type_, []).append(item_id)
        return cls(ids, ordered)

    def of(self, type_: str) -> list[str]:
        return self.ordered.get(type_, [])

    def codes(self, type_: str, match: Callable[[str], bool]) -> set[str]:
        return {item_id for (t, code), item_id in self.ids.items() if t == type_ and match(code)}


@dataclass
class Plan:
    scale: str
    seed: int
    anchor: date
    timezone: str
    loaded_at: datetime

    @property
    def size(self) -> Scale:
        return SIZES[self.scale]

    @property
    def telegram_base(self) -> int:
        return 100_000_000_000 + SCALES.index(self.scale) * 10_000_000_000 + self.seed * 1_000_000

    def student_id(self, i: int) -> str:
        return f"{self.scale[0].upper()}{self.seed}-{i + 1:06d}"


def _names(g: Gen, n: int) -> dict[str, pl.Series]:
    return {"first_name": g.pick(FIRST_NAMES, n), "last_name": g.pick(LAST_NAMES, n)}


def _regions(g: Gen, cat: Catalog, n: int) -> pl.Series:
    regions = cat.of("region")
    weights = np.ones(len(regions))
    weights[: min(len(regions), len(REGION_WEIGHTS))] = REGION_WEIGHTS[: len(regions)]
    return g.pick(regions, n, weights)


def _phones(g: Gen, n: int) -> pl.Series:
    digits = pl.Series(g.rng.integers(10_000_000, 99_999_999, size=n)).cast(pl.String)
    return "+9989" + digits


def applicants(g: Gen, plan: Plan, cat: Catalog) -> pl.DataFrame:
    n = plan.size.applicants
    tg = pl.Series(np.arange(n, dtype=np.int64) + plan.telegram_base)
    names = _names(g, n)
    regions = _regions(g, cat, n)
    created = g.local_times(n, plan.size.days, plan.anchor, plan.timezone)
    birth = pl.Series(np.datetime64("2003-01-01") + g.rng.integers(0, 6 * 365, size=n)).cast(pl.Date)
    return pl.DataFrame(
        {
            "id": g.uuids(n),
            "created_at": created,
            "updated_at": pl.repeat(plan.loaded_at, n, eager=True),
            "telegram_user_id": tg,
            "telegram_chat_id": tg,
            "username": "user_" + tg.cast(pl.String),
            **names,
            "phone": _phones(g, n),
            "email": (
                names["first_name"] + "." + names["last_name"] + "." + tg.cast(pl.String) + "@example.local"
            ).str.to_lowercase(),
            "gender": g.pick(("male", "female", "unspecified"), n, np.array([48.0, 48.0, 4.0])),
            "birth_date": birth,
            "language": g.pick(("uz", "ru", "en"), n, np.array([60.0, 30.0, 10.0])),
            "region_id": regions.set(pl.Series(g.chance(0.03, n)), None),
        }
    )


def _status_times(g: Gen, plan: Plan, n: int) -> dict[str, pl.Series]:
    statuses = list(STATUS_WEIGHTS)
    status = g.pick(statuses, n, np.array(list(STATUS_WEIGHTS.values()), dtype=float))
    submitted = g.local_times(n, plan.size.days, plan.anchor, plan.timezone)
    filling = pl.Series(g.rng.integers(60, 7200, size=n) * 1_000_000, dtype=pl.Duration("us"))
    is_new = status == "new"
    return {
        "status": status,
        "submitted_at": submitted.set(is_new, None),
        "created_at": submitted - filling,
        "updated_at": pl.repeat(plan.loaded_at, n, eager=True),
    }


def _application_base(g: Gen, plan: Plan, apps: pl.DataFrame, n: int) -> dict[str, pl.Series]:
    who = g.index(apps.height, n)
    return {"id": g.uuids(n), "applicant_id": apps["id"].gather(who), **_status_times(g, plan, n)}


def admissions(g: Gen, plan: Plan, cat: Catalog, apps: pl.DataFrame) -> pl.DataFrame:
    n = plan.size.admissions
    base = _application_base(g, plan, apps, n)
    directions = cat.of("direction")
    weights = np.linspace(3.0, 1.0, len(directions))
    direction = g.pick(directions, n, weights)
    italian = cat.codes("direction", lambda code: code.endswith("-IT"))
    track = pl.Series([cat.ids[("track", "TRACK-ITALIAN")]] * n).set(
        ~direction.is_in(list(italian)), cat.ids[("track", "TRACK-UZBEK")]
    )
    score = pl.Series(g.rng.integers(60, 101, size=n)).cast(pl.String)
    return pl.DataFrame(
        {
            **base,
            "answers": '{"score": ' + score + "}",
            "direction_id": direction,
            "track_id": track.set(pl.Series(g.chance(0.1, n)), None),
        }
    )


def campus_tours(g: Gen, plan: Plan, apps: pl.DataFrame) -> pl.DataFrame:
    n = plan.size.campus
    base = _application_base(g, plan, apps, n)
    when = pl.DataFrame({"created": base["created_at"], "ahead": g.rng.integers(1, 22, size=n)})
    local_day = pl.col("created").dt.convert_time_zone(plan.timezone).dt.date()
    preferred = when.select(local_day + pl.duration(days=pl.col("ahead")))["created"]
    return pl.DataFrame(
        {**base, "answers": pl.repeat('{"slot": "morning"}', n, eager=True), "preferred_date": preferred}
    )


def foundations(g: Gen, plan: Plan, apps: pl.DataFrame) -> pl.DataFrame:
    n = plan.size.foundation
    base = _application_base(g, plan, apps, n)
    dorm = pl.Series(g.chance(0.4, n)).cast(pl.String).str.to_lowercase()
    return pl.DataFrame({**base, "answers": '{"need_dorm": ' + dorm + "}"})


def politos(g: Gen, plan: Plan, cat: Catalog, apps: pl.DataFrame) -> pl.DataFrame:
    n = plan.size.polito
    base = _application_base(g, plan, apps, n)
    subject = g.pick(cat.of("subject"), n).set(pl.Series(g.chance(0.05, n)), None)
    return pl.DataFrame(
        {**base, "answers": pl.repeat('{"motivation": "explore"}', n, eager=True), "subject_id": subject}
    )


def _course_years(g: Gen, programs: pl.Series, masters: set[str]) -> pl.Series:
    bachelor = g.rng.choice([1, 2, 3, 4, 5], size=len(programs), p=[0.27, 0.25, 0.22, 0.2, 0.06])
    master = g.rng.choice([1, 2, 5], size=len(programs), p=[0.5, 0.42, 0.08])
    is_master = programs.is_in(list(masters)).to_numpy()
    return pl.Series(np.where(is_master, master, bachelor), dtype=pl.Int16)


def roster(g: Gen, plan: Plan, cat: Catalog) -> pl.DataFrame:
    n = plan.size.roster_rows
    programs = cat.of("program")
    masters = cat.codes("program", lambda code: code.startswith("M-"))
    weights = np.array([1.0 if p in masters else 3.0 for p in programs])
    program = g.pick(programs, n, weights)
    active = np.arange(n) < plan.size.roster_active
    return pl.DataFrame(
        {
            "id": g.uuids(n),
            "created_at": g.local_times(n, plan.size.days, plan.anchor, plan.timezone),
            "updated_at": pl.repeat(plan.loaded_at, n, eager=True),
            "student_external_id": [plan.student_id(i) for i in range(n)],
            "roster_campaign": g.pick(CAMPAIGNS, n, np.array([60.0, 20.0, 20.0])),
            "program_id": program,
            "course_year": _course_years(g, program, masters),
            "is_active": active,
            **_names(g, n),
            "birth_date": pl.Series(np.datetime64("1998-01-01") + g.rng.integers(0, 8 * 365, size=n)).cast(pl.Date),
            "metadata": pl.repeat("{}", n, eager=True),
        }
    )


def students(g: Gen, plan: Plan, cat: Catalog, rost: pl.DataFrame) -> pl.DataFrame:
    ratio = g.rng.uniform(*plan.size.student_ratio)
    n = round(float(rost.height * ratio))
    chosen = np.sort(g.rng.choice(rost.height, size=n, replace=False))
    picked = rost[chosen]
    tg = pl.Series(np.arange(n, dtype=np.int64) + plan.telegram_base + 500_000)
    return pl.DataFrame(
        {
            "id": g.uuids(n),
            "created_at": picked["created_at"],
            "updated_at": picked["updated_at"],
            "student_external_id": picked["student_external_id"],
            "roster_id": picked["id"],
            "telegram_user_id": tg,
            "username": "student_" + picked["student_external_id"].str.to_lowercase(),
            "first_name": picked["first_name"],
            "last_name": picked["last_name"],
            "gender": g.pick(("male", "female"), n),
            "phone": _phones(g, n),
            "region_id": _regions(g, cat, n),
        }
    )


def responses(g: Gen, plan: Plan, rost: pl.DataFrame, studs: pl.DataFrame) -> pl.DataFrame:
    roster_of = rost.select(
        pl.col("id").alias("roster_id"), "roster_campaign", "program_id", "course_year", "is_active"
    )
    pool = studs.select(pl.col("id").alias("student_id"), "roster_id").join(roster_of, on="roster_id")
    pool = pool.filter(pl.col("is_active"))
    responders = pool[
        np.sort(
            g.rng.choice(pool.height, size=int(pool.height * g.rng.uniform(*plan.size.survey_ratio)), replace=False)
        )
    ]
    n = plan.size.responses or int(responders.height * 1.25)
    first = np.arange(min(n, responders.height))
    repeats = g.index(max(responders.height, 1), n - len(first))
    who = responders[np.concatenate([first, repeats])]
    other = g.pick(CAMPAIGNS, n)
    campaign = pl.Series(np.where(g.chance(0.85, n), who["roster_campaign"].to_numpy(), other.to_numpy()))
    senior = (who["course_year"] >= 3).to_numpy()
    employed = np.where(senior, g.chance(0.55, n), g.chance(0.15, n))
    status = pl.Series(np.where(employed, "employed", "unemployed"))
    company = "Company " + pl.Series(g.rng.integers(1, 101, size=n)).cast(pl.String)
    submitted = g.local_times(n, plan.size.days, plan.anchor, plan.timezone)
    rating = pl.Series(g.rng.integers(1, 6, size=n)).cast(pl.String)
    return pl.DataFrame(
        {
            "id": g.uuids(n),
            "created_at": submitted,
            "updated_at": pl.repeat(plan.loaded_at, n, eager=True),
            "student_id": who["student_id"],
            "roster_id": who["roster_id"],
            "program_id": who["program_id"],
            "course_year": who["course_year"],
            "survey_campaign": campaign,
            "employment_status": status,
            "employment_company": company.set(~pl.Series(employed), ""),
            "employment_role": g.pick(ROLES, n).set(~pl.Series(employed), ""),
            "suggestions": pl.repeat("", n, eager=True),
            "consents": pl.repeat('{"share_with_employers": true, "want_help": false}', n, eager=True),
            "answers": '{"q1": ' + rating + "}",
            "submitted_at": submitted,
        }
    )


def enrollments(g: Gen, plan: Plan, rost: pl.DataFrame) -> pl.DataFrame:
    """Planned headcounts near the real roster sizes, for the default campaign."""
    counts = (
        rost.filter(pl.col("is_active") & (pl.col("roster_campaign") == "default"))
        .group_by("program_id", "course_year")
        .len()
        .sort("program_id", "course_year")
    )
    n = counts.height
    planned = (counts["len"].cast(pl.Float64) * pl.Series(g.rng.uniform(0.9, 1.2, size=n))).round().cast(pl.Int64)
    return pl.DataFrame(
        {
            "id": g.uuids(n),
            "created_at": pl.repeat(plan.loaded_at, n, eager=True),
            "updated_at": pl.repeat(plan.loaded_at, n, eager=True),
            "program_id": counts["program_id"],
            "course_year": counts["course_year"],
            "student_count": planned,
            "academic_year": pl.repeat("2025-2026", n, eager=True),
            "campaign": pl.repeat("default", n, eager=True),
            "is_active": pl.repeat(True, n, eager=True),
            "notes": pl.repeat("", n, eager=True),
        }
    )


def tables(plan: Plan, cat: Catalog) -> Iterator[tuple[str, pl.DataFrame]]:
    """Every table of the mock data set as soon as it is generated, in an order the foreign keys allow loading in."""
    g = Gen(plan.seed)
    apps = applicants(g, plan, cat)
    yield "bot1_applicant", apps
    rost = roster(g, plan, cat)
    yield "bot2_roster", rost
    studs = students(g, plan, cat, rost)
    yield "bot2_student", studs
    yield "bot1_admissions_2026", admissions(g, plan, cat, apps)
    yield "bot1_campus_tour", campus_tours(g, plan, apps)
    yield "bot1_foundation", foundations(g, plan, apps)
    yield "bot1_polito_academy", politos(g, plan, cat, apps)
    yield "bot2_survey_response", responses(g, plan, rost, studs)
    yield "bot2_enrollment", enrollments(g, plan, rost)


def generate(plan: Plan, cat: Catalog) -> dict[str, pl.DataFrame]:
    """Every table of the mock data set (in the order of `tables`)."""
    return dict(tables(plan, cat))


def ahead(items: Iterator[T]) -> Iterator[T]:
    """`items` produced in a worker thread while the caller consumes the earlier ones (numpy and polars release the
    GIL): the next table is generated while the server loads the previous one. The worker stops at the next item
    once the caller has stopped (an error)."""
    handoff: queue.Queue[tuple[bool, Any]] = queue.Queue()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                handoff.put((True, item))
                if stop.is_set():
                    return
            handoff.put((False, None))
        except BaseException as exc:  # handed to the caller
            handoff.put((False, exc))

    worker = threading.Thread(target=produce, name="mock-generate", daemon=True)
    worker.start()
    try:
        while True:
            more, item = handoff.get()
            if not more:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()


assert set(STATUS_WEIGHTS) == set(APPLICATION_STATUSES)


# --- loading -----------------------------------------------------------------------------------------------------


class MockError(RuntimeError):
    """Mock data cannot be loaded; the message says what to do."""


@dataclass
class MockResult:
    loaded: bool
    counts: dict[str, int]
    seconds: float


REQUIRED_TRACKS = ("TRACK-ITALIAN", "TRACK-UZBEK")


def _read_catalog(ld: Loader) -> Catalog:
    rows = ld.rows("SELECT id, type, code FROM catalog_item WHERE is_active ORDER BY type, sort_order, code")
    normalized = [(_dashed(str(item_id)), type_, code) for item_id, type_, code in rows]
    cat = Catalog.from_rows(normalized)
    missing = [t for t in ("region", "direction", "subject", "program") if not cat.of(t)]
    missing += [code for code in REQUIRED_TRACKS if ("track", code) not in cat.ids]
    if missing:
        raise MockError(f"the catalog lacks {', '.join(missing)}: run `crm seed catalog` first")
    return cat


def _dashed(value: str) -> str:
    v = value.replace("-", "").lower()
    return f"{v[:8]}-{v[8:12]}-{v[12:16]}-{v[16:20]}-{v[20:]}"


def seed_mock(
    database_url: str,
    scale: str,
    seed: int = 1,
    *,
    timezone: str = "Asia/Tashkent",
    anchor: date | None = None,
    progress: Progress | None = None,
) -> MockResult:
    """Generate and load the (scale, seed) data set in one transaction; a no-op when it is already loaded."""
    started = time.perf_counter()
    with open_loader(database_url) as ld:
        first = f"{scale[0].upper()}{seed}-{1:06d}"
        if ld.scalar("SELECT count(*) FROM bot2_roster WHERE student_external_id = ?", (first,)):
            return MockResult(False, {}, round(time.perf_counter() - started, 3))
        # Stamped inside the transaction: updated_at is then never before the transaction began, which the
        # warehouse's watermark relies on (warehouse/extract.py, CLOCK_MARGIN).
        now = datetime.now(UTC)
        plan = Plan(scale, seed, anchor or now.astimezone(ZoneInfo(timezone)).date(), timezone, now)
        assert plan.student_id(0) == first
        cat = _read_catalog(ld)
        counts: dict[str, int] = {}
        enrollment: pl.DataFrame | None = None
        big = plan.size.rows >= DEFER_CONSTRAINTS_ROWS
        with ld.deferred_constraints(BULK_TABLES, progress) if big else nullcontext():
            for table, df in ahead(tables(plan, cat)):
                counts[table] = df.height
                if table == ENROLLMENT:  # loaded last, skipping headcounts that already exist
                    enrollment = df
                else:
                    ld.load(table, df, progress)
        assert enrollment is not None
        ld.insert_ignore(ENROLLMENT, enrollment, ("program_id", "course_year", "academic_year", "campaign"))
        ld.analyze(list(counts))
    return MockResult(True, {t: counts[t] for t in [*BULK_TABLES, ENROLLMENT]}, round(time.perf_counter() - started, 3))
