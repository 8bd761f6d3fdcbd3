"""Request rate limits per client address on the routes anyone can call (docs/server.md, Limits).

Each limited route belongs to a group (`GROUPS`) with a limit of N requests per S seconds per client address
(`client_address`: the TCP peer, or behind `trusted_proxies` their X-Forwarded-For; an IPv6 client counts by its
/64, `bucket_of`: one customer network holds 2^64 addresses). Over it, the answer is
`429` `urn:c11:problem:rate-limited` with `Retry-After`, before the route runs or its body is read.

* Low-rate groups that matter across processes (sign-up, password reset) are counted in the database
  (`login_attempts`, scope `rl-<group>`): the limit holds across `c11 serve --workers` and replicas.
* High-rate groups (public log and key reads, lookups, logins, links, invitations) use a token bucket per
  server process (capacity N, refilled at N/S per second): with W worker processes an address gets up to
  W times the limit.
* A loopback peer is not limited unless `rate_limit_loopback` is set: it is this machine (its tools, or a
  local reverse proxy whose X-Forwarded-For is only believed when `trusted_proxies` names it).

`C11_RATE_LIMITS` changes groups: `lookups=5000/60,signup=off`; `off` alone turns every group off.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import threading
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from c11.server.accounts.client_address import client_address
from c11.server.accounts.models import LoginAttempt
from c11.server.context import ServerContext
from c11.server.db import utcnow
from c11.server.ratelimit_groups import GROUPS, Group, group_of, parse_groups

__all__ = ["GROUPS", "Group", "RateLimiter", "RateLimits", "bucket_of", "group_of", "parse_groups"]


_MAX_BUCKETS = 100_000
_PURGE_EVERY = 60.0  # seconds between deletions of expired shared-limit rows, per process and group
_log = logging.getLogger("c11.server.ratelimits")


def bucket_of(address: str) -> str:
    """What a client's requests are counted under: an IPv4 address as it is, an IPv6 address by its /64.

    An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`) counts as its IPv4 address; anything that is not an address
    (`unknown`) as it is.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _proxied_without_trust(peer: str, forwarded: bool) -> bool:
    """A request that came through a reverse proxy on this machine or a private network we do not trust."""
    try:
        ip = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return forwarded and (ip.is_loopback or ip.is_private)


def warn_at_start(config: Any) -> bool:
    """Log a warning (and say True) when the configuration itself shows a reverse proxy in front while
    `trusted_proxies` is unset: the server listens on a loopback or private address and `public_url` names
    another host. Then every client has the proxy's address (see `RateLimiter.warn_untrusted_proxy`)."""
    from urllib.parse import urlsplit

    if getattr(config, "trusted_proxies", None) or not parse_groups(getattr(config, "rate_limits", None)):
        return False
    try:
        bind = ipaddress.ip_address(str(getattr(config, "host", "")))
    except ValueError:
        return False
    public = (urlsplit(str(getattr(config, "public_url", "") or "")).hostname or "").strip("[]")
    if not public or public == "localhost" or not (bind.is_loopback or bind.is_private):
        return False
    try:
        if ipaddress.ip_address(public) == bind or ipaddress.ip_address(public).is_loopback:
            return False
    except ValueError:
        pass  # a name: served through something else than this address
    _log.warning(
        "the server listens on %s and is reached as %s (a reverse proxy in front?) but trusted_proxies is unset: "
        "rate limits count the proxy, not its clients (%s); set C11_TRUSTED_PROXIES (docs/server.md, Limits)",
        bind,
        public,
        "exempt: loopback"
        if bind.is_loopback and not getattr(config, "rate_limit_loopback", False)
        else "one bucket for everyone",
    )
    return True


class RateLimiter:
    """One per application (`ctx.service`): the groups in force and this process's token buckets."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.groups = parse_groups(getattr(ctx.config, "rate_limits", None))
        self.loopback = bool(getattr(ctx.config, "rate_limit_loopback", False))
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._purged: dict[str, float] = {}  # scope -> time.monotonic() of this process's last purge
        self._warned_proxy = False

    def warn_untrusted_proxy(self, peer: str, forwarded: bool) -> None:
        """Log once per process that requests come through a loopback/private proxy while `trusted_proxies` is unset.

        Then every client has the proxy's address: exempt when it is on loopback (no limits at all), else one
        bucket shared by every user (one abuser locks everyone out).
        """
        if self._warned_proxy or getattr(self.ctx.config, "trusted_proxies", None):
            return
        if _proxied_without_trust(peer, forwarded):
            self._warned_proxy = True
            _log.warning(
                "requests come through a reverse proxy at %s (X-Forwarded-For) but trusted_proxies is unset: "
                "rate limits count the proxy, not its clients (%s); set C11_TRUSTED_PROXIES (docs/server.md, Limits)",
                peer,
                "exempt: loopback" if not self.loopback and ipaddress.ip_address(peer).is_loopback else "one bucket",
            )

    def exempt(self, address: str) -> bool:
        """A loopback client is not limited unless `rate_limit_loopback` is set."""
        if self.loopback:
            return False
        try:
            return ipaddress.ip_address(address).is_loopback
        except ValueError:
            return False

    def take(self, group: Group, address: str) -> int:
        """0 if a request of `address` may go ahead (and counts it), else the seconds to wait (token bucket)."""
        rate = group.limit / group.seconds
        now = time.monotonic()
        key = (group.name, bucket_of(address))
        with self._lock:
            tokens, last = self._buckets.get(key, (float(group.limit), now))
            tokens = min(float(group.limit), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return max(1, math.ceil((1.0 - tokens) / rate))
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > _MAX_BUCKETS:  # forget the longest idle addresses (they are refilled)
                for k, _ in sorted(self._buckets.items(), key=lambda kv: kv[1][1])[: _MAX_BUCKETS // 2]:
                    del self._buckets[k]
        return 0

    def take_shared(self, group: Group, address: str) -> int:
        """As `take`, counted in the database over a sliding window (holds across processes and replicas)."""
        scope, key = f"rl-{group.name}"[:16], f"addr:{bucket_of(address)}"[:320]
        now = utcnow()
        since = now - timedelta(seconds=group.seconds)
        with self.ctx.db.session() as s:
            # Expired rows go at most once a minute per process: that DELETE has no (scope, at) index to use and
            # reads the whole scope; the count below uses the (scope, key, at) index and skips expired rows.
            tick = time.monotonic()
            with self._lock:
                purge = tick - self._purged.get(scope, -_PURGE_EVERY) >= _PURGE_EVERY
                if purge:
                    self._purged[scope] = tick
            if purge:
                s.execute(delete(LoginAttempt).where(LoginAttempt.scope == scope, LoginAttempt.at <= since))
            count, oldest = s.execute(
                select(func.count(), func.min(LoginAttempt.at)).where(
                    LoginAttempt.scope == scope, LoginAttempt.key == key, LoginAttempt.at > since
                )
            ).one()
            if count >= group.limit:
                return max(1, math.ceil((oldest + timedelta(seconds=group.seconds) - now).total_seconds()))
            s.add(LoginAttempt(scope=scope, key=key, at=now))
        return 0


class RateLimits:
    """ASGI middleware: answers `429` for a request over its group's limit, before the route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = group_of(scope["method"], scope["path"])
        ctx: ServerContext | None = getattr(getattr(scope.get("app"), "state", None), "ctx", None)
        if name is None or ctx is None:
            await self.app(scope, receive, send)
            return
        limiter = ctx.service("rate_limits", RateLimiter)
        group = limiter.groups.get(name)
        request = Request(scope)
        address = client_address(request, ctx.config) if group is not None else ""
        if group is not None and request.client is not None:
            limiter.warn_untrusted_proxy(request.client.host, "x-forwarded-for" in request.headers)
        if group is None or limiter.exempt(address):
            await self.app(scope, receive, send)
            return
        if group.shared:
            wait = await run_in_threadpool(limiter.take_shared, group, address)
        else:
            wait = limiter.take(group, address)
        if not wait:
            await self.app(scope, receive, send)
            return
        await _refuse(send, scope["path"], group, wait)


async def _refuse(send: Send, path: str, group: Group, wait: int) -> None:
    body: dict[str, Any] = {
        "type": "urn:c11:problem:rate-limited",
        "title": "Too Many Requests",
        "status": 429,
        "detail": f"Too many requests from your address ({group.name}: at most {group.limit} per "
        f"{group.seconds} s); retry in {wait} s.",
        "instance": path,
        "retry_after": wait,
        "limit": group.limit,
        "window_seconds": group.seconds,
    }
    data = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(data)).encode()),
        (b"retry-after", str(wait).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": data})
