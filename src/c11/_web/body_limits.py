"""Request body caps as a pure ASGI middleware: every route gets a cap, checked before the body is read.

A request whose Content-Length is over its route's cap is answered 413 at once, unread; a chunked body (or one
longer than it said) is counted as it streams and the route fails with 413 as soon as the count passes the cap.
A service passes its caps (`caps(method, path)`), and optionally `for_caller` (which may lower a cap above
`default_cap` once it knows who asks) and `too_large` (its own 413 response for some paths).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from c11._web import problems

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Caps = Callable[[str, str], int]
ForCaller = Callable[[Scope, int], Awaitable[int]]
TooLarge = Callable[[Scope, int], "Response | None"]

KiB, MiB = 1 << 10, 1 << 20
#: The cap of a route that needs no more: accounts, sessions, tokens, keys, shards...
DEFAULT_CAP = 64 * KiB


class BodyTooLarge(HTTPException):
    """Raised while reading a body that passed its route's cap (answered as a 413 problem)."""

    def __init__(self, cap: int) -> None:
        super().__init__(413, f"The request body is larger than this route accepts ({cap:,} bytes).")
        self.cap = cap


def default_caps(method: str, path: str) -> int:
    """Every route: `DEFAULT_CAP`."""
    return DEFAULT_CAP


class BodyLimit:
    """ASGI middleware enforcing `caps` on every HTTP request body, before and while it is read."""

    def __init__(
        self,
        app: Callable[[Scope, Receive, Send], Awaitable[None]],
        caps: Caps = default_caps,
        default_cap: int = DEFAULT_CAP,
        for_caller: ForCaller | None = None,
        too_large: TooLarge | None = None,
    ) -> None:
        self.app, self.caps, self.default_cap = app, caps, default_cap
        self.for_caller, self.too_large = for_caller, too_large

    async def _cap_for_caller(self, scope: Scope, cap: int) -> int:
        return cap if self.for_caller is None else await self.for_caller(scope, cap)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.caps(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > self.default_cap:
            cap = await self._cap_for_caller(scope, cap)
        if declared is not None and declared > cap:
            response = (self.too_large(scope, cap) if self.too_large else None) or problem(Request(scope), cap)
            await response(scope, _no_body, send)
            return
        seen, checked = 0, declared is not None

        async def counted() -> Message:
            nonlocal seen, cap, checked
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.default_cap and not checked:
                    cap, checked = await self._cap_for_caller(scope, cap), True
                if seen > cap:
                    raise BodyTooLarge(cap)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def problem(request: Request, cap: int) -> JSONResponse:
    """The 413 problem of a body over `cap` (the connection is closed after it)."""
    return problems.problem_response(
        request,
        413,
        "Content Too Large",
        f"The request body is larger than this route accepts ({cap:,} bytes).",
        "body-too-large",
        {"Connection": "close"},
        limit=cap,
    )


async def _on_too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return problem(request, exc.cap)


def install(
    app: FastAPI,
    caps: Caps = default_caps,
    *,
    default_cap: int = DEFAULT_CAP,
    for_caller: ForCaller | None = None,
    too_large: TooLarge | None = None,
) -> None:
    """Cap every request body of `app` (and answer a body over its cap with a 413 problem)."""
    app.add_middleware(BodyLimit, caps=caps, default_cap=default_cap, for_caller=for_caller, too_large=too_large)
    app.add_exception_handler(BodyTooLarge, _on_too_large)
