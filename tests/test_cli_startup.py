"""`crm --help` imports click and nothing heavier: each command's module is imported when that command runs."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

from crm.cli import COMMANDS, cli
from crm.commands.seed import seed

HEAVY = ("litestar", "sqlalchemy", "polars", "duckdb", "pyarrow", "aiogram", "alembic", "uvicorn", "numpy")

# Run the real entry point, then report which top-level packages ended up imported (click exits via SystemExit).
PROBE = """
import json, sys
from crm.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""


def _imported_by(*args: str) -> set[str]:
    run = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(run.stdout.strip().splitlines()[-1]))


def test_help_imports_no_heavy_dependency() -> None:
    imported = _imported_by("--help")
    assert "click" in imported
    assert imported.isdisjoint(HEAVY), sorted(imported & set(HEAVY))


@pytest.mark.parametrize(("group", "name"), [(cli, n) for n in COMMANDS] + [(seed, "mock")])
def test_each_listed_help_line_is_the_commands_own(group: click.Group, name: str) -> None:
    command = group.load(name)  # type: ignore[attr-defined]
    assert command.name == name
    assert group.lazy[name][1] == command.get_short_help_str(limit=1000)  # type: ignore[attr-defined]


def test_the_server_starts_without_the_export_and_docs_libraries() -> None:
    """DuckDB, pyarrow's compute kernels, xlsxwriter and swagger_ui's jinja2 load with the first snapshot, export or
    docs page, not with the app (together ~0.25 s of every `crm serve` start)."""
    probe = (
        "import json, sys; from crm.app import create_app; create_app(); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} | set(sys.modules))))"
    )
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    imported = set(json.loads(run.stdout.strip().splitlines()[-1]))
    lazy = {"duckdb", "xlsxwriter", "jinja2", "swagger_ui", "pyarrow.compute"}
    assert imported.isdisjoint(lazy), sorted(imported & lazy)
