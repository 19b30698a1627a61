"""CPU seconds spent by the server under test and by the database's backends (Linux /proc), so a benchmark can say
where each request's cost goes: a figure that, unlike requests/s, barely moves when other work shares the machine."""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid_dir: Path) -> tuple[str, int, float] | None:
    """(command name, parent pid, user+system CPU seconds) of one process, or None if it has gone."""
    try:
        raw = (pid_dir / "stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def process_tree_cpu(root: int) -> float:
    """CPU seconds of `root` and its children (uvicorn's supervisor and its workers)."""
    total = 0.0
    for pid_dir in Path("/proc").glob("[0-9]*"):
        stat = _stat(pid_dir)
        if stat is not None and (int(pid_dir.name) == root or stat[1] == root):
            total += stat[2]
    return total


def postgres_backends_cpu(database: str) -> float:
    """CPU seconds of the Postgres backends connected to `database` (their command line names it)."""
    total = 0.0
    for pid_dir in Path("/proc").glob("[0-9]*"):
        stat = _stat(pid_dir)
        if stat is None or stat[0] != "postgres":
            continue
        try:
            cmdline = (pid_dir / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if f" {database} " in cmdline:
            total += stat[2]
    return total
