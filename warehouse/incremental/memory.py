"""The frames of the last published marts kept in the worker's memory (SPEC §7: incremental builds), and reading a
previous snapshot's marts and kept staged tables back, from memory when this process published them."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse import contract as c
from warehouse.marts.applications import ROLLUPS
from warehouse.marts.frames import CAT, is_categorical
from warehouse.snapshot import parts
from warehouse.staging import SOURCES

# The frames of the last published marts, by file identity (an unchanged mart keeps its inode through the hard
# links of later snapshots). The worker is a long-lived process: its next incremental build starts from memory
# instead of reading a million rows back from Parquet.
_PUBLISHED: dict[tuple[int, ...], pl.DataFrame] = {}
_LAST: list[str] = []  # the id of the snapshot whose frames _PUBLISHED holds
CACHED = frozenset({"fct_applications", "fct_survey_responses", *ROLLUPS})


def _identity(path: Path) -> tuple[int, ...]:
    """A file's identity, or a segmented mart's: its parts' (parts linked from an earlier snapshot keep theirs)."""
    if path.is_dir():
        return tuple(n for part in parts(path) for n in _identity(part))
    st = path.stat()
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def start_from(snapshot_id: str | None) -> None:
    """Before a build: the memory is only good if this process published the snapshot the build starts from (another
    process may have published since, and pruned files whose inodes the new ones reuse)."""
    if not _LAST or _LAST[0] != snapshot_id:
        forget()


def remember(snapshot_id: str, files: dict[str, Path], frames: dict[str, pl.DataFrame]) -> None:
    """After a publish: keep the frames of CACHED marts and staged tables written now, and the ones still valid for
    files that were hard-linked from the previous snapshot."""
    keep: dict[tuple[int, ...], pl.DataFrame] = {}
    for name, path in files.items():
        if name not in CACHED and name not in SOURCES:
            continue
        ident = _identity(path)
        if name in frames:
            keep[ident] = frames[name]
        elif ident in _PUBLISHED:
            keep[ident] = _PUBLISHED[ident]
    _PUBLISHED.clear()
    _PUBLISHED.update(keep)
    _LAST[:] = [snapshot_id]


def forget() -> None:
    _PUBLISHED.clear()
    _LAST.clear()


def is_remembered(path: Path) -> bool:
    return _identity(path) in _PUBLISHED


def read_staged(path: Path) -> pl.DataFrame:
    """A kept staged table of the previous snapshot (from memory when this process published it)."""
    cached = _PUBLISHED.get(_identity(path))
    return cached if cached is not None else pl.read_parquet(path)


def read_fact(path: Path, spec: c.Mart) -> pl.DataFrame:
    """A published mart back in memory with its categoricals (from memory when this process published it, else
    from the Parquet dictionaries, not re-hashed)."""
    cached = _PUBLISHED.get(_identity(path))
    if cached is not None:
        return cached
    dictionary = [n for n in spec.columns if is_categorical(spec, n)]
    table = pa.concat_tables(pq.read_table(part, read_dictionary=dictionary) for part in parts(path))
    df = pl.from_arrow(table)
    assert isinstance(df, pl.DataFrame)
    return df.with_columns(pl.col(n).cast(CAT) for n in spec.columns if is_categorical(spec, n))
