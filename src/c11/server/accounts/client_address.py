"""The client's address for rate limits: the TCP peer, or behind trusted reverse proxies their X-Forwarded-For.

X-Forwarded-For is read only when the peer is in `trusted_proxies`; then, from the right, the first address
that is not a trusted proxy is the client (anything further left was written by the client and is ignored).
"""

from __future__ import annotations

import ipaddress

from fastapi import Request

from c11.server.config import Config

_MAX_HOPS = 32


def client_address(request: Request, config: Config) -> str:
    """The address the login limits count failures for (`unknown` when there is none)."""
    peer = request.client.host if request.client else "unknown"
    nets = config.proxy_networks
    if not nets or not _trusted(peer, nets):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    client = peer
    for hop in reversed(hops[-_MAX_HOPS:]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return client  # not an address: written by the client, not by a trusted proxy
        client = hop
        if not _trusted(hop, nets):
            return hop
    return client


def _trusted(address: str, nets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in nets)
