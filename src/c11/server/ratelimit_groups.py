"""The rate-limit groups and their `C11_RATE_LIMITS` syntax (c11.server.ratelimits applies them).

Apart from `ratelimits` so that the configuration can check `rate_limits` at start without importing the
limiter (which needs the configuration: an import cycle).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from c11.errors import ConfigError


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


@functools.lru_cache(maxsize=4096)
def group_of(method: str, path: str) -> str | None:
    """The group a request's route belongs to, or None (not limited here). Remembered per method and path (a
    bounded cache): every API request asked all the route patterns before (~1 % of a key release's CPU)."""
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
