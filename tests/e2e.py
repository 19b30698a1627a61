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

# Ports for test servers come from a block of this process's own, below Linux's ephemeral range (32768-60999). A
# port the kernel hands out for `bind(0)` is free now but may be handed to the next `bind(0)` of another pytest-xdist
# worker before our server binds it; the blocks of two workers never overlap, and nothing else is given ports there.
PORT_BLOCK = 2000
_next_port = iter(range(0))


def _port_block() -> range:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw")[2:]
    index = int(worker) % 8 if worker.isdigit() else 8  # the main process (no xdist), benchmarks: their own block
    start = 12000 + index * PORT_BLOCK + (os.getpid() % 4) * (PORT_BLOCK // 4)
    return range(start, start + PORT_BLOCK // 4)


def free_port() -> int:
    """A loopback port nobody listens on, from this process's block (see PORT_BLOCK)."""
    global _next_port
    for _ in range(2 * PORT_BLOCK):
        port = next(_next_port, None)
        if port is None:
            _next_port = iter(_port_block())
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use (a server of an earlier test still closing, or another program)
            return port
    raise RuntimeError("no free port in this test process's block")


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
