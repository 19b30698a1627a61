"""The import itself (issue 14): the reference's tables in an order that keeps foreign keys valid, each one read,
mapped, checked against what our store already holds, and written (new rows bulk loaded, changed rows updated,
identical rows left alone), with exact counts and every refused row with its reason.

Links survive: reference uuids are kept. A row whose natural key (an e-mail, a telegram id, a catalog code) already
belongs to another row of our store is merged into it (its children are re-pointed), except that a catalog item our
store holds unreferenced (the seeded catalog of `crm up`) takes the reference's uuid instead. Re-running changes
nothing; an interrupted run keeps its committed chunks and the next run completes it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from crm.reference_import import mapping
from crm.reference_import.frames import json_canonical, student_keys
from crm.reference_import.source import COUNTED_ONLY, Source, count_rows, read_table
from crm.reference_import.target import Target, column_kinds
from ingest.core.schema import metadata
from ingest.submissions.bot2_write import AUTO_CAMPAIGN

STUDENT_ID = "student_external_id"  # matched in any case (student_id_key), as the server does since 0004
CHUNK_ROWS = 100_000  # rows per commit: what an interrupted run can lose, and redo next time
# A table that already holds rows is compared (and its changes written and committed) this many source rows at a
# time: only their stored rows are read, so a re-run's memory beyond the source table stays bounded by the chunk.
COMPARE_ROWS = 25_000
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
    keep_stored: tuple[str, ...] = ()  # columns a NULL in the reference never clears (a merge or the bot filled them)


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
    TableSpec(
        "bot2_bot2student",
        "bot2_student",
        (("student_external_id",), ("telegram_user_id",)),
        merge=True,
        keep_stored=("telegram_user_id",),
    ),
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
    # rows merged into another row (a stored one, or a reference one whose id differs only in case): id, into, reason
    merges: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={"id": pl.String, "into": pl.String, "reason": pl.String})
    )

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
    present: dict[str, pl.Series] = field(default_factory=dict)  # ids of each table's rows that moved or were kept
    remap: dict[str, dict[str, str]] = field(default_factory=dict)  # merged reference id → kept row's id, per table
    profiles: pl.DataFrame | None = None  # applicant gender / birth_date from the applications' answers
    spelling: pl.DataFrame | None = None  # (id, student_external_id) of the roster rows that moved


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
    df = _remapped(spec.target, df, state)
    mapped = _map(spec, df, target, state)
    mapped.rows = _checked_links(spec.target, mapped, state, target)
    merges = _merge_student_ids(spec, mapped, target, state)
    if spec.target == "bot2_student" and state.spelling is not None:
        mapping.spelled_as_roster(mapped, state.spelling)
    _refuse_duplicates(spec, mapped)
    rekeys = _settle_key_clashes(spec, mapped, target, state, result, merges)
    rows = mapped.rows.select(list(column_kinds(spec.target)))
    # A stored row merges away only into a row that moves (a winner refused later leaves it as it is).
    merges = merges.filter(~pl.col("stored") | pl.col("into").is_in(rows["id"].implode()))
    _report_merges(result, merges)
    losers = merges.filter("stored")
    result.rekeyed = len(rekeys)
    result.notes = mapped.notes
    if mapped.refused:
        result.refused = pl.concat(mapped.refused)
    if spec.target == "bot2_roster":
        state.spelling = rows.select("id", "student_external_id")
    kept = pl.Series(list(state.remap.get(spec.target, {}).values()), dtype=pl.String)
    state.present[spec.target] = pl.concat([rows["id"], kept])
    progress.start(spec.target, rows.height)
    if target.is_empty(spec.target):  # a first move: every row is new, nothing to compare
        result.inserted = rows.height
        if dry_run:
            progress.advance(spec.target, rows.height)
        else:
            _write_first(spec, target, rows, progress)
        return result
    if rekeys and not dry_run:
        target.execute(f'UPDATE "{spec.target}" SET id = ? WHERE id = ?', [(r, s) for s, r in rekeys])
    # Compared chunk by chunk: the stored rows of one chunk's ids are read (one statement), never the whole table.
    # The catalog moves in one chunk: an item's parent may come later in the frame.
    size = max(rows.height, 1) if spec.target == "catalog_item" else COMPARE_ROWS
    for offset in range(0, rows.height, size):
        chunk = rows.slice(offset, size)
        stored = _stored(target, spec.target, chunk["id"], rekeys)
        chunk = _kept_from_store(spec, chunk, stored)
        new = chunk.filter(~pl.col("id").is_in(stored["id"].implode()))
        changed = _changed(spec, chunk, stored)
        result.inserted += new.height
        result.updated += changed.height
        result.unchanged += chunk.height - new.height - changed.height
        if not dry_run:
            retired = losers.filter(pl.col("into").is_in(new["id"].implode()))
            _write_chunk(spec, target, new, changed, retired)
        progress.advance(spec.target, chunk.height)
    target.commit()
    return result


def _map(spec: TableSpec, df: pl.DataFrame, target: Target, state: _State) -> mapping.Mapped:
    t = spec.target
    if t == "bot1_applicant":
        assert state.profiles is not None
        return mapping.applicants(df, state.profiles)
    if t == "catalog_item":
        stored = target.read("catalog_item", ["id", "type", "code"])  # the catalog: small
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


def _children(table: str) -> list[tuple[str, str]]:
    """(table, column) of every foreign key that points at `table`."""
    tables = metadata.sorted_tables
    return [(t.name, col) for t in tables for col, parent, _ in _foreign_keys(t.name) if parent == table]


def _remapped(table: str, df: pl.DataFrame, state: _State) -> pl.DataFrame:
    """Links to merged rows point at the rows they were merged into."""
    exprs = [
        pl.col(col).replace(state.remap[parent])
        for col, parent, _ in _foreign_keys(table)
        if col in df.columns and state.remap.get(parent)
    ]
    return df.with_columns(exprs) if exprs else df


def _in_chunks(values: pl.Series) -> Iterator[pl.Series]:
    values = values.drop_nulls().unique()
    for offset in range(0, values.len(), CHUNK_ROWS):
        yield values.slice(offset, CHUNK_ROWS)


def _checked_links(table: str, m: mapping.Mapped, state: _State, target: Target) -> pl.DataFrame:
    """A link to a row our store will not hold (refused, or missing in the reference) refuses the row, or is
    cleared where the reference itself clears it (ON DELETE SET NULL). Present: the parent's rows that moved or
    were merged into, and (asked of the store, for the few other values) any row the store already holds."""
    for col, parent, set_null in _foreign_keys(table):
        present = pl.concat(
            [state.present.get(parent, pl.Series(dtype=pl.String)), *([m.rows["id"]] if parent == table else [])]
        )
        unknown = m.rows.filter(pl.col(col).is_not_null() & ~pl.col(col).is_in(present.implode()))[col]
        held = [target.read_where(parent, "id", part, ["id"])["id"] for part in _in_chunks(unknown)]
        present = pl.concat([present, *held])
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


# --- student ids in any case (migration 0004) ---------------------------------------------------------------------

_MERGES = {"id": pl.String, "into": pl.String, "reason": pl.String, "stored": pl.Boolean, "spelling": pl.String}


def _student_key(col: str = STUDENT_ID) -> pl.Expr:
    return student_keys(pl.col(col))


def _merge_student_ids(spec: TableSpec, m: mapping.Mapped, target: Target, state: _State) -> pl.DataFrame:
    """Roster rows and students whose ids differ only in case (`SE54321`, `se54321`), in the reference or against
    the store, merged the way migration 0004 merges them: the roster row kept is an imported one (not campaign
    `bot2_auto`), else the oldest; the student kept is the oldest, taking a merged one's Telegram id when it has
    none. The kept row keeps its spelling and uuid; links to the others are re-pointed to it (reference rows through
    `state.remap`, stored rows when the kept row is written). Returns every merge (id, into, reason, stored,
    spelling: the kept row's)."""
    if spec.target not in ("bot2_roster", "bot2_student"):
        return pl.DataFrame(schema=_MERGES)
    roster = spec.target == "bot2_roster"
    extra = "roster_campaign" if roster else "telegram_user_id"
    cols = ["id", STUDENT_ID, "created_at", extra]
    ref = m.rows.select(cols).with_columns(key=_student_key(), stored=pl.lit(False))
    held = [target.read_where(spec.target, f"lower({STUDENT_ID})", part, cols) for part in _in_chunks(ref["key"])]
    stored = pl.concat([ref.clear().select(cols), *held]).filter(~pl.col("id").is_in(ref["id"].implode()))
    group = pl.concat([ref, stored.with_columns(key=_student_key(), stored=pl.lit(True))])
    group = group.filter(pl.len().over("key") > 1)
    if not group.height:
        return pl.DataFrame(schema=_MERGES)
    order = [pl.col("roster_campaign") == AUTO_CAMPAIGN] if roster else []
    group = group.sort([*order, "created_at", "id"]).with_columns(
        into=pl.col("id").first().over("key"),
        spelling=pl.col(STUDENT_ID).first().over("key"),
        into_stored=pl.col("stored").first().over("key"),
    )
    if roster:
        rule = pl.when(pl.col("roster_campaign") == AUTO_CAMPAIGN).then(
            pl.lit("an imported roster row wins over bot2_auto")
        )
        why = rule.otherwise(pl.lit("the oldest roster row wins"))
    else:
        # the kept student takes the first Telegram id of the group (0004) when it has none
        # (a stored student kept is not rewritten: it keeps its own)
        first = pl.col(extra).first().over("key")
        any_telegram = pl.col(extra).drop_nulls().first().over("key")
        telegram = pl.when("into_stored").then(first).otherwise(pl.coalesce(first, any_telegram))
        group = group.with_columns(telegram=telegram)
        dropped = pl.col(extra).is_not_null() & pl.col(extra).ne_missing(pl.col("telegram"))
        why = pl.when(dropped).then(
            pl.format("the oldest student wins; its Telegram id {} is dropped, the kept one has {}", extra, "telegram")
        )
        why = why.otherwise(pl.lit("the oldest student wins"))
        winner = (pl.col("id") == pl.col("into")) & ~pl.col("stored")
        taken = group.filter(winner & pl.col(extra).is_null() & pl.col("telegram").is_not_null())
        if taken.height:
            m.notes["student took the Telegram id of a student merged into it"] += taken.height
            inherited = dict(taken.select("id", "telegram").iter_rows())
            m.rows = m.rows.with_columns(pl.col(extra).fill_null(pl.col("id").replace_strict(inherited, default=None)))
    where = pl.when(pl.col("stored")).then(pl.lit("stored")).otherwise(pl.lit("reference"))
    merges = group.filter(pl.col("id") != pl.col("into")).select(
        "id",
        "into",
        reason=pl.format(
            "{} student id {} differs only in case from {}: merged into {} ({})",
            where,
            pl.col(STUDENT_ID),
            "spelling",
            "into",
            why,
        ),
        stored=pl.col("stored"),
        spelling="spelling",
    )
    # a stored row can only lose to a reference row: the store holds no two ids that differ only in case
    merged = merges.filter(~pl.col("stored")).select("id", "into")
    state.remap.setdefault(spec.target, {}).update(dict(merged.iter_rows()))
    m.rows = m.rows.filter(~pl.col("id").is_in(merged["id"].implode()))
    if merges.height:
        m.notes["student id differing only in case: merged into the kept row (listed above)"] += merges.height
    return merges


def _report_merges(result: TableResult, merges: pl.DataFrame) -> None:
    result.merged += merges.height
    result.merges = pl.concat([result.merges, merges.select("id", "into", "reason")])


def _settle_key_clashes(
    spec: TableSpec,
    m: mapping.Mapped,
    target: Target,
    state: _State,
    result: TableResult,
    merges: pl.DataFrame,
) -> list[tuple[str, str]]:
    """Rows whose key a different stored row holds: re-keyed, merged or refused. Returns (stored id, new id)."""
    rekeys: list[tuple[str, str]] = []
    leaving = merges.filter("stored")["id"].implode()  # stored rows merged away in this step hold no key
    for i, key in enumerate(spec.keys):
        if key == (STUDENT_ID,):
            continue  # matched in any case by _merge_student_ids
        clash = _stored_clashes(target, spec.target, m.rows, key).filter(~pl.col("stored_id").is_in(leaving))
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
        state.remap.setdefault(spec.target, {}).update(pairs)
        merged = clash.filter(pl.col("id").is_in(list(pairs))).select(
            "id",
            into="stored_id",
            reason=pl.format("{} ({}) belongs to stored row {}", pl.lit("/".join(key)), _key_label(key), "stored_id"),
        )
        _report_merges(result, merged)
        m.rows = m.rows.filter(~pl.col("id").is_in(list(pairs)))
    return rekeys


def _stored_clashes(target: Target, table: str, rows: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
    """(id, stored_id, *key): reference rows whose key a stored row with another id holds, asked of the store one
    chunk of key values at a time (by the key's first column)."""
    found = []
    for part in _in_chunks(rows[key[0]]):
        stored = target.read_where(table, key[0], part, ["id", *key])
        clash = rows.select("id", *key).join(stored.rename({"id": "stored_id"}), on=list(key))
        found.append(clash.filter(pl.col("id") != pl.col("stored_id")))
    schema = {"id": pl.String, "stored_id": pl.String, **{k: rows.schema[k] for k in key}}
    return pl.concat([pl.DataFrame(schema=schema), *found], how="diagonal_relaxed")


def _unreferenced(target: Target, ids: pl.Series) -> set[str]:
    """The catalog items among `ids` that nothing in our store points at (safe to give another uuid)."""
    used: set[str] = set()
    for table, col in _children("catalog_item"):
        used |= set(target.read_where(table, col, ids, [col])[col].to_list())
    return set(ids.to_list()) - used


def _stored(target: Target, table: str, ids: pl.Series, rekeys: list[tuple[str, str]]) -> pl.DataFrame:
    """The stored rows with these ids (a re-keyed row under its new id, whether or not the re-key ran yet)."""
    if rekeys:
        back = {new: old for old, new in rekeys}
        ids = pl.concat([ids, ids.filter(ids.is_in(list(back))).replace(back)])
    stored = target.read_where(table, "id", ids)
    return stored.with_columns(pl.col("id").replace(dict(rekeys))) if rekeys else stored


def _kept_from_store(spec: TableSpec, rows: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
    """`rows` with the stored value of each `keep_stored` column where the reference has NULL."""
    if not spec.keep_stored:
        return rows
    kept = stored.select("id", *[pl.col(c).alias(f"{c}__stored") for c in spec.keep_stored])
    rows = rows.join(kept, on="id", how="left", maintain_order="left")
    filled = [pl.coalesce(c, f"{c}__stored").alias(c) for c in spec.keep_stored]
    return rows.with_columns(filled).drop([f"{c}__stored" for c in spec.keep_stored])


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


def _write_first(spec: TableSpec, target: Target, new: pl.DataFrame, progress: Progress) -> None:
    """A table that holds no row yet: bulk loaded, with its constraints deferred when it is big (Postgres)."""
    if spec.target == "catalog_item":
        _insert_catalog(target, new)
        progress.advance(spec.target, new.height)
    elif new.height >= DEFER_ROWS and target.dialect == "postgresql":
        with target.loader.deferred_constraints([spec.target]):
            target.insert(spec.target, new, lambda _table, rows: progress.advance(spec.target, rows))
    else:
        for offset in range(0, new.height, CHUNK_ROWS):
            chunk = new.slice(offset, CHUNK_ROWS)
            target.insert(spec.target, chunk)
            target.commit()
            progress.advance(spec.target, chunk.height)
    target.commit()


def _insert_catalog(target: Target, new: pl.DataFrame) -> None:
    """Parents may come later in the frame: insert without them, then link, in the same transaction."""
    target.insert("catalog_item", new.with_columns(parent_id=pl.lit(None, pl.String)))
    links = new.filter(pl.col("parent_id").is_not_null()).select("parent_id", "id")
    target.execute('UPDATE "catalog_item" SET parent_id = ? WHERE id = ?', list(links.iter_rows()))


def _write_chunk(
    spec: TableSpec, target: Target, new: pl.DataFrame, changed: pl.DataFrame, retired: pl.DataFrame
) -> None:
    """One chunk in one transaction: stored rows merged into a new row give up their key first, then lose their
    links to it and go (so a kill -9 leaves either both or the merged result)."""
    if retired.height:
        free = ", telegram_user_id = NULL" if spec.target == "bot2_student" else ""
        sql = f'UPDATE "{spec.target}" SET {STUDENT_ID} = ?{free} WHERE id = ?'
        target.execute(sql, [(f"~{loser}", loser) for loser in retired["id"]])
    if spec.target == "catalog_item":
        _insert_catalog(target, new)
    else:
        target.insert(spec.target, new)
    if changed.height:
        target.update(spec.target, changed.drop(list(spec.insert_only)))
    if retired.height:
        now = datetime.now(UTC)
        moves = list(retired.select("into", "id").iter_rows())
        for child, col in _children(spec.target):
            sql = f'UPDATE "{child}" SET "{col}" = ?, updated_at = ? WHERE "{col}" = ?'
            target.execute(sql, [(i, now, o) for i, o in moves])
        if spec.target == "bot2_roster":
            # students of a merged roster row take the kept row's spelling, as 0004 does
            target.execute(
                f"UPDATE bot2_student SET {STUDENT_ID} = ?, updated_at = ? WHERE roster_id = ? AND {STUDENT_ID} <> ?"
                f" AND lower({STUDENT_ID}) = lower(?)",
                [(s, now, i, s, s) for i, s in retired.select("into", "spelling").iter_rows()],
            )
        target.execute(f'DELETE FROM "{spec.target}" WHERE id = ?', [(loser,) for loser in retired["id"]])
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
                "merges": r.merges.to_dicts(),
                "refused": r.refused.to_dicts(),
                "notes": dict(r.notes),
            }
            for r in report.tables
        },
        "counted_only": report.counted_only,
    }
