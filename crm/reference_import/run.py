"""The import itself (issue 14): the reference's tables in an order that keeps foreign keys valid, each one read,
mapped, checked against what our store already holds, and written (new rows bulk loaded, changed rows updated,
identical rows left alone), with exact counts and every refused row with its reason.

Links survive: reference uuids are kept. A row whose natural key (an e-mail, a telegram id, a catalog code) already
belongs to another row of our store is merged into it (its children are re-pointed), except that a catalog item our
store holds unreferenced (the seeded catalog of `crm up`) takes the reference's uuid instead. Re-running changes
nothing; an interrupted run keeps its committed chunks and the next run completes it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from crm.reference_import import mapping
from crm.reference_import.frames import json_canonical
from crm.reference_import.source import COUNTED_ONLY, Source, count_rows, read_table
from crm.reference_import.target import Target, column_kinds
from ingest.core.schema import metadata

CHUNK_ROWS = 100_000  # rows per commit: what an interrupted run can lose, and redo next time
# A Postgres table that receives at least this many rows while holding none (a first move) is loaded in one
# transaction with its foreign keys, unique constraints and secondary indexes dropped and rebuilt afterwards
# (warehouse.seed.bulk_load's deferred_constraints): per-row FK checks and index inserts cost several times the COPY.
# Re-adding them checks every row, so a violation fails the table's load; a kill -9 loses only that table.
DEFER_ROWS = 10_000


@dataclass(frozen=True)
class TableSpec:
    source: str
    target: str
    keys: tuple[tuple[str, ...], ...] = ()  # our unique keys besides the id; the first one merges
    merge: bool = False  # a key clash with a stored row merges into it (else the row is refused)
    insert_only: tuple[str, ...] = ()  # columns our system owns after the move (never overwritten by a re-run)


SPECS: tuple[TableSpec, ...] = (
    TableSpec("catalog_catalogitem", "catalog_item", (("type", "code"),), merge=True),
    TableSpec("catalog_catalogrelation", "catalog_relation", (("from_item_id", "to_item_id", "relation_type"),)),
    TableSpec("authn_user", "app_user", (("email",),), merge=True, insert_only=("password_hash", "last_login_at")),
    TableSpec("common_servicetoken", "service_token", (("token_hash",),), merge=True, insert_only=("last_used_at",)),
    TableSpec("bot1_bot1applicant", "bot1_applicant", (("telegram_user_id",),), merge=True),
    TableSpec("bot1_admissions2026application", "bot1_admissions_2026"),
    TableSpec("bot1_campustourrequest", "bot1_campus_tour"),
    TableSpec("bot1_foundationrequest", "bot1_foundation"),
    TableSpec("bot1_politoacademyrequest", "bot1_polito_academy"),
    TableSpec("bot2_studentroster", "bot2_roster", (("student_external_id",),), merge=True),
    TableSpec("bot2_bot2student", "bot2_student", (("student_external_id",), ("telegram_user_id",)), merge=True),
    TableSpec("bot2_bot2surveyresponse", "bot2_survey_response"),
    TableSpec(
        "bot2_programenrollment",
        "bot2_enrollment",
        (("program_id", "course_year", "academic_year", "campaign"),),
        merge=True,
    ),
    TableSpec("audit_auditlog", "audit_log"),
)
_APPLICATIONS = [spec.source for spec in SPECS if spec.target.startswith("bot1_") and spec.target != "bot1_applicant"]
_APPLICATION_KIND = {
    "bot1_admissions_2026": "admissions-2026",
    "bot1_campus_tour": "campus-tour",
    "bot1_foundation": "foundation",
    "bot1_polito_academy": "polito-academy",
}


@dataclass
class TableResult:
    table: str  # ours
    source: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    rekeyed: int = 0
    refused: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={"id": pl.String, "reason": pl.String}))
    notes: Counter[str] = field(default_factory=Counter)

    @property
    def written(self) -> int:
        return self.inserted + self.updated


@dataclass
class ImportReport:
    tables: list[TableResult]
    counted_only: dict[str, int]
    dry_run: bool


class Progress:
    """What the command shows while a table moves; the default shows nothing."""

    def start(self, table: str, total: int) -> None: ...

    def advance(self, table: str, rows: int) -> None: ...


@dataclass
class _State:
    present: dict[str, pl.Series] = field(default_factory=dict)  # ids each of our tables holds after its step
    remap: dict[str, dict[str, str]] = field(default_factory=dict)  # merged reference id → stored id, per table
    profiles: pl.DataFrame | None = None  # applicant gender / birth_date from the applications' answers


def run_import(
    source_url: str, database_url: str, *, dry_run: bool = False, progress: Progress | None = None
) -> ImportReport:
    """Move the reference at `source_url` into the store at `database_url` (or only count, with `dry_run`)."""
    source, progress = Source.parse(source_url), progress or Progress()
    state, results = _State(), []
    with source.connect() as src, Target(database_url).open() as target:
        for spec in SPECS:
            df = read_table(src, source, spec.source)
            if spec.target == "bot1_applicant":
                answers = [read_table(src, source, t, ("applicant_id", "created_at", "answers")) for t in _APPLICATIONS]
                state.profiles = mapping.applicant_profiles(pl.concat(answers))
            results.append(_move(spec, df, target, state, dry_run, progress))
        counted = {t: n for t in COUNTED_ONLY if (n := count_rows(src, t)) is not None}
    return ImportReport(results, counted, dry_run)


def _move(
    spec: TableSpec, df: pl.DataFrame, target: Target, state: _State, dry_run: bool, progress: Progress
) -> TableResult:
    result = TableResult(spec.target, spec.source, read=df.height)
    stored = target.read(spec.target)
    df = _remapped(spec.target, df, state)
    mapped = _map(spec, df, stored, state)
    mapped.rows = _checked_links(spec.target, mapped, state)
    _refuse_duplicates(spec, mapped)
    rekeys = _settle_key_clashes(spec, mapped, stored, target, state, result)
    if rekeys:
        stored = stored.with_columns(pl.col("id").replace(dict(rekeys)))
    rows = mapped.rows.select(list(column_kinds(spec.target)))
    new = rows.filter(~pl.col("id").is_in(stored["id"].implode()))
    changed = _changed(spec, rows, stored)
    result.inserted, result.updated = new.height, changed.height
    result.unchanged = rows.height - new.height - changed.height
    result.rekeyed = len(rekeys)
    result.notes = mapped.notes
    if mapped.refused:
        result.refused = pl.concat(mapped.refused)
    state.present[spec.target] = pl.concat([stored["id"], new["id"]])
    progress.start(spec.target, new.height + changed.height)
    if not dry_run:
        _write(spec, target, new, changed, rekeys, progress, into_empty=stored.height == 0)
    return result


def _map(spec: TableSpec, df: pl.DataFrame, stored: pl.DataFrame, state: _State) -> mapping.Mapped:
    t = spec.target
    if t == "bot1_applicant":
        assert state.profiles is not None
        return mapping.applicants(df, state.profiles)
    if t == "catalog_item":
        codes = dict(stored.filter(pl.col("id").is_in(df["id"].implode())).select("id", "code").iter_rows())
        used = [*stored.select("type", "code").iter_rows(), *df.drop_nulls("code").select("type", "code").iter_rows()]
        return mapping.catalog_items(df, codes, used)
    if t in _APPLICATION_KIND:
        return mapping.applications(df, _APPLICATION_KIND[t])
    functions: dict[str, Callable[[pl.DataFrame], mapping.Mapped]] = {
        "catalog_relation": mapping.catalog_relations,
        "app_user": mapping.users,
        "service_token": mapping.service_tokens,
        "bot2_roster": mapping.roster,
        "bot2_student": mapping.students,
        "bot2_survey_response": mapping.survey_responses,
        "bot2_enrollment": mapping.enrollments,
        "audit_log": mapping.audit_rows,
    }
    return functions[t](df)


def _foreign_keys(table: str) -> list[tuple[str, str, bool]]:
    """(column, parent table, set null when the parent is missing) for each foreign key of one of our tables."""
    return [
        (fk.parent.name, fk.column.table.name, fk.ondelete == "SET NULL") for fk in metadata.tables[table].foreign_keys
    ]


def _remapped(table: str, df: pl.DataFrame, state: _State) -> pl.DataFrame:
    """Links to merged rows point at the stored rows they were merged into."""
    exprs = [
        pl.col(col).replace(state.remap[parent])
        for col, parent, _ in _foreign_keys(table)
        if col in df.columns and state.remap.get(parent)
    ]
    return df.with_columns(exprs) if exprs else df


def _checked_links(table: str, m: mapping.Mapped, state: _State) -> pl.DataFrame:
    """A link to a row our store will not hold (refused, or missing in the reference) refuses the row, or is
    cleared where the reference itself clears it (ON DELETE SET NULL)."""
    for col, parent, set_null in _foreign_keys(table):
        present = pl.concat(
            [state.present.get(parent, pl.Series(dtype=pl.String)), *([m.rows["id"]] if parent == table else [])]
        )
        dangling = pl.col(col).is_not_null() & ~pl.col(col).is_in(present.implode())
        if set_null:
            m.note(dangling, f"{col} pointed at a row not moved: cleared")
            m.rows = m.rows.with_columns(pl.when(dangling).then(None).otherwise(pl.col(col)).alias(col))
        else:
            m.refuse(dangling, pl.format("{} {} is not moved (refused or missing)", pl.lit(col), pl.col(col)))
    return m.rows


def _key_label(key: tuple[str, ...]) -> pl.Expr:
    return pl.concat_str([pl.col(k).cast(pl.String) for k in key], separator=", ")


def _refuse_duplicates(spec: TableSpec, m: mapping.Mapped) -> None:
    """Rows the reference allowed twice under one of our unique keys: the first (by created_at, id) moves."""
    for key in spec.keys:
        m.rows = m.rows.sort("created_at", "id")
        complete = pl.all_horizontal([pl.col(k).is_not_null() for k in key])
        first = pl.col("id").first().over(key)
        m.refuse(
            complete & (first != pl.col("id")),
            pl.format("duplicate {} ({}) of {}", pl.lit("/".join(key)), _key_label(key), first),
        )


def _settle_key_clashes(
    spec: TableSpec, m: mapping.Mapped, stored: pl.DataFrame, target: Target, state: _State, result: TableResult
) -> list[tuple[str, str]]:
    """Rows whose key a different stored row holds: re-keyed, merged or refused. Returns (stored id, new id)."""
    rekeys: list[tuple[str, str]] = []
    for i, key in enumerate(spec.keys):
        clash = m.rows.select("id", *key).join(stored.select(pl.col("id").alias("stored_id"), *key), on=list(key))
        clash = clash.filter(pl.col("id") != pl.col("stored_id"))
        if not clash.height:
            continue
        if i > 0 or not spec.merge:
            m.refuse(
                pl.col("id").is_in(clash["id"].implode()),
                pl.format("{} ({}) belongs to another stored row", pl.lit("/".join(key)), _key_label(key)),
            )
            continue
        pairs = dict(clash.select("id", "stored_id").iter_rows())
        if spec.target == "catalog_item":
            free = _unreferenced(target, clash["stored_id"])
            rekeys += [(s, r) for r, s in pairs.items() if s in free]
            pairs = {r: s for r, s in pairs.items() if s not in free}
        state.remap[spec.target] = pairs
        result.merged = len(pairs)
        m.rows = m.rows.filter(~pl.col("id").is_in(list(pairs)))
    return rekeys


def _unreferenced(target: Target, ids: pl.Series) -> set[str]:
    """The catalog items among `ids` that nothing in our store points at (safe to give another uuid)."""
    used: set[str] = set()
    for table in metadata.sorted_tables:
        for col, parent, _ in _foreign_keys(table.name):
            if parent == "catalog_item":
                used |= set(target.read(table.name, [col])[col].drop_nulls().to_list())
    return set(ids.to_list()) - used


def _changed(spec: TableSpec, rows: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
    """Rows that exist by id but differ in a column the reference owns (JSON compared by value)."""
    kinds = column_kinds(spec.target)
    cols = [c for c in kinds if c != "id" and c not in spec.insert_only]
    both = rows.join(stored.select("id", *cols), on="id", suffix="__stored")
    # Equal text is equal JSON: only the rows whose text differs somewhere are compared again by value (a
    # per-value Python call), so a re-run of a million unchanged rows stays set-based.
    both = both.filter(pl.any_horizontal([pl.col(c).ne_missing(pl.col(f"{c}__stored")) for c in cols]))
    if not both.height:
        return rows.clear()

    def value(c: str, name: str) -> pl.Expr:
        return json_canonical(pl.col(name)) if kinds[c] == "json" else pl.col(name)

    differs = pl.any_horizontal([value(c, c).ne_missing(value(c, f"{c}__stored")) for c in cols])
    return both.filter(differs).select(rows.columns)


def _write(
    spec: TableSpec,
    target: Target,
    new: pl.DataFrame,
    changed: pl.DataFrame,
    rekeys: list[tuple[str, str]],
    progress: Progress,
    *,
    into_empty: bool,
) -> None:
    if rekeys:
        target.execute(f'UPDATE "{spec.target}" SET id = ? WHERE id = ?', [(r, s) for s, r in rekeys])
    if spec.target == "catalog_item":
        # Parents may come later in the frame: insert without them, then link, in the same transaction.
        target.insert(spec.target, new.with_columns(parent_id=pl.lit(None, pl.String)))
        links = new.filter(pl.col("parent_id").is_not_null()).select("parent_id", "id")
        target.execute('UPDATE "catalog_item" SET parent_id = ? WHERE id = ?', list(links.iter_rows()))
        progress.advance(spec.target, new.height)
    elif into_empty and new.height >= DEFER_ROWS and target.dialect == "postgresql":
        with target.loader.deferred_constraints([spec.target]):
            target.insert(spec.target, new, lambda _table, rows: progress.advance(spec.target, rows))
    else:
        for offset in range(0, new.height, CHUNK_ROWS):
            chunk = new.slice(offset, CHUNK_ROWS)
            target.insert(spec.target, chunk)
            target.commit()
            progress.advance(spec.target, chunk.height)
    if changed.height:
        target.update(spec.target, changed.drop(list(spec.insert_only)))
        progress.advance(spec.target, changed.height)
    target.commit()


def summary_line(report: ImportReport) -> str:
    """One line: the totals, what refused rows mean for the exit status, then per table read / written / refused.

    Refused rows are not a failure of the command (it exits 0): every other row moved, and each refused one is
    listed with its reason. A failure (an unreadable source, a database error) exits non-zero with a message."""
    parts = [f"{r.table} {r.read}/{r.written}/{r.refused.height}" for r in report.tables]
    refused = sum(r.refused.height for r in report.tables)
    written = sum(r.written for r in report.tables)
    verb = "would write" if report.dry_run else "wrote"
    moved = "would move" if report.dry_run else "moved"
    outcome = (
        f"refused {refused:,} rows (listed above, with reasons; every other row {moved})" if refused else "refused none"
    )
    return f"{verb} {written:,} rows, {outcome} (read/written/refused: {'; '.join(parts)})"


def as_dict(report: ImportReport) -> dict[str, Any]:
    return {
        "dry_run": report.dry_run,
        "tables": {
            r.table: {
                "source": r.source,
                "read": r.read,
                "inserted": r.inserted,
                "updated": r.updated,
                "unchanged": r.unchanged,
                "merged": r.merged,
                "rekeyed": r.rekeyed,
                "refused": r.refused.to_dicts(),
                "notes": dict(r.notes),
            }
            for r in report.tables
        },
        "counted_only": report.counted_only,
    }
