"""A real `crm serve` process on a test database, for tests that need real HTTP: a free loopback port, its own log
file, ready when `/healthz` answers, and restartable on the same port (fault tests kill it with SIGKILL)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e import clean_env, free_port, wait_ready

SECRET = "test-secret-key-that-is-long-enough-for-hs256"


@dataclass
class Served:
    """One `crm serve` (restartable on the same port); `log` collects stdout and stderr of every run."""

    db_url: str
    data_dir: Path
    log: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return clean_env(
            CRM_DATABASE_URL=self.db_url,
            CRM_DATA_DIR=str(self.data_dir),
            CRM_ENV="test",
            CRM_SECRET_KEY=SECRET,
            CRM_LOG_LEVEL="INFO",
            **self.env_extra,
        )

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "crm", "serve", "--port", str(self.port)],
                cwd=self.data_dir.parent,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_ready(self.base, self.proc, deadline_s=90, path="/healthz")  # liveness: no database needed
        except AssertionError:
            self.kill()  # a server that never came up must not outlive the test
            raise

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, connections cut mid-request."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def served(db_url: str, tmp_path: Path, **env_extra: str) -> Iterator[Served]:
    """`crm serve` on `db_url` (already migrated), started and ready; stopped on exit."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    server = Served(db_url, data_dir, tmp_path / "serve.log", env_extra)
    server.start()
    try:
        yield server
    finally:
        server.stop()
