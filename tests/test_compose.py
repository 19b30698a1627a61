"""compose.yaml is safe as written (issue 17): no Docker engine is needed to check it, the file is read as Compose
reads it (anchors and `<<` merges resolved) and its properties asserted: the API published on loopback only, and
more than one API worker only with a shared Redis for the rate limits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

COMPOSE = Path(__file__).parents[1] / "compose.yaml"


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _command(service: dict[str, Any]) -> str:
    command = service.get("command") or ""
    return command if isinstance(command, str) else " ".join(command)


def _port_host(mapping: Any) -> str | None:
    """The host address a published port binds to; None when it binds to every interface."""
    if isinstance(mapping, dict):
        return mapping.get("host_ip")
    parts = str(mapping).rsplit(":", 2)
    return parts[0].strip("[]") if len(parts) == 3 else None


def test_published_ports_listen_on_loopback_only(services: dict[str, Any]) -> None:
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}
    assert "api" in published
    for name, ports in published.items():
        for mapping in ports:
            assert _port_host(mapping) in ("127.0.0.1", "::1"), f"{name} publishes {mapping} on every interface"


def test_several_api_workers_share_a_redis(services: dict[str, Any]) -> None:
    for name, service in services.items():
        found = re.search(r"--workers[ =](\d+)", _command(service))
        if not found or int(found.group(1)) == 1:
            continue
        url = _environment(service).get("CRM_REDIS_URL", "")
        assert url.startswith("redis://"), f"{name} runs {found.group(1)} workers without CRM_REDIS_URL"
        host = re.match(r"redis://([^:/]+)", url).group(1)  # type: ignore[union-attr]
        assert host in services, f"{name} points CRM_REDIS_URL at {host}, which compose does not run"
        assert services[host].get("healthcheck"), f"{host} has no health check"
        assert service["depends_on"][host]["condition"] == "service_healthy"


def test_every_app_process_shares_the_redis(services: dict[str, Any]) -> None:
    """The worker and bots too: rate limits and bot FSM state live in one place."""
    for name in ("api", "worker", "bot1", "bot2"):
        assert _environment(services[name]).get("CRM_REDIS_URL") == "redis://redis:6379/0", name
