"""The client's IP: the socket peer, or the right-most untrusted `X-Forwarded-For` hop when the peer is one of the
configured trusted proxies (CRM_TRUSTED_PROXIES, addresses or networks). A client can never pick its own IP."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from litestar.connection import ASGIConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(ip: str, networks: tuple[Network, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr in net for net in networks)


def client_ip(connection: ASGIConnection[Any, Any, Any, Any], trusted_proxies: tuple[str, ...]) -> str | None:
    peer = connection.client.host if connection.client else None
    networks = _networks(trusted_proxies)
    if not peer or not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in connection.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            return hop if _valid(hop) else peer
    return peer


def _valid(ip: str) -> bool:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True
