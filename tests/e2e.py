"""Starting real `crm` server processes for end-to-end tests: a free loopback port and a readiness wait."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The parent's environment without any CRM_* or bot settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "SERVICE_TOKEN_", "BOT_", "TELEGRAM_"))}
    env.update(extra)
    return env


def wait_ready(base: str, proc: subprocess.Popen[bytes], deadline_s: float, path: str = "/readyz") -> float:
    """Poll `path` until it answers 200; returns the seconds it took. Fails if the process dies first."""
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}{path}", timeout=2).status_code == 200:
                return time.monotonic() - start
        except httpx.TransportError:
            pass
        time.sleep(0.2 if path == "/readyz" else 0.05)  # polling interval of a wait, not a synchronisation guess
    raise AssertionError(f"{base}{path} not ready within {deadline_s} s")


@contextmanager
def crm_process(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run `python -m crm <args>` in `cwd`, stopping it (SIGINT, then SIGKILL) on exit."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crm", *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
