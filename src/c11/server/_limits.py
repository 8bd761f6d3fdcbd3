"""The server's request body caps (docs/server.md, Limits), enforced by `c11._web.body_limits` before a body is read.

Caps are small (64 KiB) unless a route needs more (`ROUTE_CAPS`); such a larger cap applies only once the
caller's credentials are checked valid (`_for_caller`: a verified account, or a valid SCIM token under
`/scim/`), so nobody without one makes the server hold more than 64 KiB.
"""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from starlette.responses import Response

from c11._web import body_limits
from c11._web.body_limits import DEFAULT_CAP, KiB, MiB, Scope
from c11.server.ratelimits import RateLimits

#: A route that authorizes its caller (an upload grant) before it reads, and stops at the length it was given.
SELF_BOUNDED = 1 << 62


#: (method, path pattern, cap): the routes that take larger bodies, first match wins.
ROUTE_CAPS: tuple[tuple[str, re.Pattern[str], int], ...] = tuple(
    (m, re.compile(p), cap)
    for m, p, cap in [
        # group keys and wraps: one wrap (at most 16 KiB, base64) per member, up to 10,000 members
        ("PUT", r"/api/v1/org/groups/[^/]+/key", 32 * MiB),
        ("POST", r"/api/v1/org/groups/[^/]+/wraps", 32 * MiB),
        ("POST", r"/api/v1/org/groups(/[^/]+/members(/remove)?)?", 4 * MiB),  # up to 10,000 emails
        ("POST", r"/api/v1/org/members(/preload)?", 1 * MiB),  # up to 1,000 emails
        ("POST", r"/api/v1/policies", 8 * MiB),  # up to 500 recipients with their key lines
        ("*", r"/scim/v2/.*", 1 * MiB),  # SCIM bodies (c11.server.scim.service reads at most 1,000,000 bytes)
        ("PUT", r"/api/v1/shards/archive", 3 * MiB),  # base64 of an archive of at most 1 MiB
        ("PUT", r"/api/v1/shards/shard", 256 * KiB),  # a shard and up to 255 placements
        ("POST", r"/api/v1/keyserver/release", 256 * KiB),  # an online-policy stanza (<= 120,000 base64)
        ("*", r"/api/v1/documents(/.*)?", 1 * MiB),  # a stanza, or up to 1,000 recipients
        # resumable uploads: the route authorizes first, then reads at most the declared length (c11.server.uploads)
        ("PATCH", r"/api/v1/uploads/[^/]+", SELF_BOUNDED),
        ("POST", r"/api/v1/sends(/[^/]+/versions)?", 2 * MiB),  # an envelope of at most 1 MiB, base64
    ]
)


def cap_for(method: str, path: str) -> int:
    """The body cap of a request (bytes)."""
    for m, pattern, cap in ROUTE_CAPS:
        if (m == "*" or m == method) and pattern.fullmatch(path):
            return cap
    return DEFAULT_CAP


async def _for_caller(scope: Scope, cap: int) -> int:
    """A route's cap above the default holds only for a caller with valid credentials (checked here, before
    the body is read: routes read their body before their own login check), else the default cap: under
    `/api/` a verified account (an unverified sign-up costs nothing), under `/scim/` a valid SCIM token."""
    if cap <= DEFAULT_CAP or not scope["path"].startswith(("/api/", "/scim/")):
        return cap
    if cap == SELF_BOUNDED:
        return cap
    ctx = getattr(getattr(scope.get("app"), "state", None), "ctx", None)
    if ctx is None:
        return DEFAULT_CAP
    from starlette.concurrency import run_in_threadpool

    if scope["path"].startswith("/scim/"):
        from c11.server.scim.errors import ScimError
        from c11.server.scim.service import authenticate as scim_authenticate

        try:
            await run_in_threadpool(scim_authenticate, Request(scope), ctx)
        except ScimError:
            return DEFAULT_CAP
        return cap
    from c11.server import hotpath

    # one authentication per request: the route's dependencies (require_account, the release route's
    # release_caller) find the principal in the request state instead of checking the credential again
    request = Request(scope)
    principal = await hotpath.run_near(ctx, hotpath.caller, request, ctx)
    if principal is not None:
        request.state.principal = principal
    return cap if principal is not None and principal.email_verified else DEFAULT_CAP


def _scim_too_large(scope: Scope, cap: int) -> Response | None:
    """SCIM clients read SCIM error bodies (RFC 7644 §3.12); other paths get the 413 problem."""
    if not scope["path"].startswith("/scim/"):
        return None
    from c11.server.scim.errors import ScimError, error_response

    return error_response(ScimError(413, f"The request is larger than {cap:,} bytes.", "tooMany"))


def install(app: FastAPI) -> None:
    """Cap every request body of `app` (and answer a body over its cap with a 413 problem), and limit the
    request rate per client address of the routes anyone can call (`c11.server.ratelimits`)."""
    body_limits.install(app, cap_for, default_cap=DEFAULT_CAP, for_caller=_for_caller, too_large=_scim_too_large)
    app.add_middleware(RateLimits)  # outside the body caps: a request over its rate is refused unread
