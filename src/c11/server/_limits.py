"""Request body limits: every route gets a cap, checked before the body is read (docs/server.md, Limits).

`BodyLimit` is a pure ASGI middleware. A request whose Content-Length is over its route's cap is
answered 413 at once, unread; a chunked body (or one longer than it said) is counted as it streams
and the route fails with 413 as soon as the count passes the cap, so the server never holds more
than the cap of any request. Caps are small (64 KiB) unless a route needs more (`ROUTE_CAPS`); such a
larger cap applies only once the caller's credentials are checked valid (`_for_caller`: a verified account,
or a valid SCIM token under `/scim/`), so nobody without one makes the server hold more than 64 KiB.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from c11.server import problems

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

KiB, MiB = 1 << 10, 1 << 20
#: The cap of every route not listed below: accounts, sessions, tokens, keys, invitations...
DEFAULT_CAP = 64 * KiB
#: (method, path pattern, cap): the routes that take larger bodies, first match wins.
ROUTE_CAPS: tuple[tuple[str, re.Pattern[str], int], ...] = tuple(
    (m, re.compile(p), cap) for m, p, cap in [
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
    ]
)


class BodyTooLarge(HTTPException):
    """Raised while reading a body that passed its route's cap (answered as a 413 problem)."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"The request body is larger than this route accepts ({cap:,} bytes).")
        self.cap = cap


def cap_for(method: str, path: str) -> int:
    """The body cap of a request (bytes)."""
    for m, pattern, cap in ROUTE_CAPS:
        if (m == "*" or m == method) and pattern.fullmatch(path):
            return cap
    return DEFAULT_CAP


class BodyLimit:
    """ASGI middleware enforcing `cap_for` on every HTTP request body, before and while it is read."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]],
                 caps: Callable[[str, str], int] = cap_for) -> None:
        self.app, self.caps = app, caps

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.caps(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > DEFAULT_CAP:
            cap = await _for_caller(scope, cap)
        if declared is not None and declared > cap:
            await _too_large(scope, send, cap)
            return
        seen, checked = 0, declared is not None

        async def counted() -> Message:
            nonlocal seen, cap, checked
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > DEFAULT_CAP and not checked:
                    cap, checked = await _for_caller(scope, cap), True
                if seen > cap:
                    raise BodyTooLarge(cap)
            return message

        await self.app(scope, counted, send)


async def _for_caller(scope: Scope, cap: int) -> int:
    """A route's cap above the default holds only for a caller with valid credentials (checked here, before
    the body is read: routes read their body before their own login check), else the default cap: under
    `/api/` a verified account (an unverified sign-up costs nothing), under `/scim/` a valid SCIM token."""
    if cap <= DEFAULT_CAP or not scope["path"].startswith(("/api/", "/scim/")):
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
    from c11.server.auth import authenticate

    principal = await run_in_threadpool(authenticate, Request(scope), ctx)
    return cap if principal is not None and principal.email_verified else DEFAULT_CAP


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(scope: Scope, send: Send, cap: int) -> None:
    if scope["path"].startswith("/scim/"):  # SCIM clients read SCIM error bodies (RFC 7644 §3.12)
        from c11.server.scim.errors import ScimError, error_response

        response = error_response(ScimError(413, f"The request is larger than {cap:,} bytes.", "tooMany"))
    else:
        response = _problem(Request(scope), cap)
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _problem(request: Request, cap: int) -> JSONResponse:
    return problems.problem_response(request, 413, "Content Too Large",
                                     f"The request body is larger than this route accepts ({cap:,} bytes).",
                                     "body-too-large", {"Connection": "close"}, limit=cap)


async def _on_too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return _problem(request, exc.cap)


def install(app: FastAPI, caps: Callable[[str, str], int] = cap_for) -> None:
    """Cap every request body of `app` (and answer a body over its cap with a 413 problem)."""
    app.add_middleware(BodyLimit, caps=caps)
    app.add_exception_handler(BodyTooLarge, _on_too_large)
