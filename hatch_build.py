"""Build hook: compile the project's own modules to bytecode when it is installed in editable mode.

`compile-bytecode` (pyproject, `[tool.uv]`) compiles what is installed into the environment, but an editable install
of this project points at the source tree, which it leaves alone. Where PYTHONDONTWRITEBYTECODE is set (as on our
servers and CI) Python then compiles every one of our modules again in every process (~0.3 s of each `crm serve`
start). This hook writes the `__pycache__` files once, at install; Python reads them even with writing disabled, and
recompiles in memory only a module edited since (its timestamp no longer matches). `cache-keys` in pyproject makes
uv reinstall, and so recompile, after each commit.
"""

from __future__ import annotations

import compileall
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileSources(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version != "editable":
            return  # a regular wheel is compiled by the installer itself
        for package in self.build_config.target_config.get("packages", []):
            compileall.compile_dir(Path(self.root) / package, quiet=1)
