"""Request rate limits per client address on the routes anyone can call (docs/server.md, Limits).

Each limited route belongs to a group (`GROUPS`) with a limit of N requests per S seconds per client address
(`client_address`: the TCP peer, or behind `trusted_proxies` their X-Forwarded-For). Over it, the answer is
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
import math
import re
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from c11.errors import ConfigError
from c11.server.accounts.client_address import client_address
from c11.server.accounts.models import LoginAttempt
from c11.server.context import ServerContext
from c11.server.db import utcnow


@dataclass(frozen=True)
class Group:
    """A set of routes limited together: `limit` requests per `seconds` per client address."""

    name: str
    limit: int
    seconds: int
    shared: bool  # counted in the database (across processes), else a token bucket per process
    routes: tuple[tuple[str, str], ...]  # (method or "*", path regex)


GROUPS: tuple[Group, ...] = (
    Group("signup", 20, 3600, True, (("POST", r"/api/v1/accounts"), ("POST", r"/api/v1/accounts/signup/start"))),
    Group(
        "reset",
        20,
        3600,
        True,
        (("POST", r"/api/v1/accounts/password-reset(/start|/complete)?"),),
    ),
    Group(
        "login",
        60,
        60,
        False,
        (
            ("POST", r"/api/v1/sessions(/opaque/start|/opaque/finish)?"),
            ("POST", r"/api/v1/auth/oidc/token"),
            ("GET", r"/api/v1/auth/oidc/[^/]+/(login|callback)"),
        ),
    ),
    Group(
        "links",
        120,
        60,
        False,
        (
            ("GET", r"/api/v1/accounts/(verify|password-reset)"),
            ("*", r"/api/v1/domain-confirmations(/.*)?"),
            ("*", r"/api/v1/request-links/.*"),
        ),
    ),
    Group(
        "invitations",
        60,
        60,
        False,
        (("*", r"/api/v1/invitations/(claim|key)"), ("POST", r"/api/v1/memberships/(accept|decline)")),
    ),
    Group(
        "reads",
        1200,
        60,
        False,
        (
            ("*", r"/api/v1/log(/.*)?"),
            ("GET", r"/api/v1/keyserver/key"),
            ("GET", r"/api/v1/auth/oidc/providers"),
            ("GET", r"/api/v1/shards/token-key"),
        ),
    ),
    Group("lookups", 1200, 60, False, (("GET", r"/api/v1/keys(/history)?"),)),
)
_ROUTES = [(g.name, m, re.compile(p)) for g in GROUPS for m, p in g.routes]
_SPEC = re.compile(r"(?P<name>[a-z]+)=(?:(?P<off>off)|(?P<limit>\d{1,9})/(?P<seconds>\d{1,7}))")
_MAX_BUCKETS = 100_000


def group_of(method: str, path: str) -> str | None:
    """The group a request's route belongs to, or None (not limited here)."""
    if not path.startswith("/api/v1/"):
        return None
    for name, m, pattern in _ROUTES:
        if (m == "*" or m == method) and pattern.fullmatch(path):
            return name
    return None


def parse_groups(spec: str | None) -> dict[str, Group]:
    """The groups in force: `GROUPS` changed by `spec` (`name=N/S` or `name=off`, comma-separated; `off`)."""
    groups = {g.name: g for g in GROUPS}
    text = (spec or "").strip()
    if text == "off":
        return {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        m = _SPEC.fullmatch(part)
        if m is None or m["name"] not in groups:
            raise ConfigError(f"rate_limits: {part!r} is not NAME=N/SECONDS or NAME=off (names: {', '.join(groups)})")
        if m["off"] or int(m["limit"]) == 0:
            del groups[m["name"]]
        else:
            g = groups[m["name"]]
            groups[g.name] = Group(g.name, int(m["limit"]), max(1, int(m["seconds"])), g.shared, g.routes)
    return groups


class RateLimiter:
    """One per application (`ctx.service`): the groups in force and this process's token buckets."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.groups = parse_groups(getattr(ctx.config, "rate_limits", None))
        self.loopback = bool(getattr(ctx.config, "rate_limit_loopback", False))
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()

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
        key = (group.name, address)
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
        scope, key = f"rl-{group.name}"[:16], f"addr:{address}"[:320]
        now = utcnow()
        since = now - timedelta(seconds=group.seconds)
        with self.ctx.db.session() as s:
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
        address = client_address(Request(scope), ctx.config) if group is not None else ""
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
