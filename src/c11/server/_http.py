"""The HTTP/1.1 protocol `c11 serve` runs: uvicorn's httptools protocol with two limits it lacks.

* Request head size: the request target at most `MAX_URL` bytes (else `414`), the request line and header
  fields together at most `MAX_HEAD` bytes (else `431`); counted as the parser hands them over, so an
  oversized head is refused before it is held, and the connection is closed.
* Slow clients (slowloris): a request head must arrive completely within `HEAD_TIMEOUT` seconds of the
  connection (or of its first byte on a kept-alive connection), else the connection is closed. Idle
  kept-alive connections close after uvicorn's keep-alive timeout (5 s).

Bodies have their own caps (c11._web.body_limits). docs/server.md "Limits".
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_URL = 8 * 1024
MAX_HEAD = 64 * 1024
HEAD_TIMEOUT = 15.0

_REASONS = {414: "URI Too Long", 431: "Request Header Fields Too Large", 408: "Request Timeout"}


class _HeadTooLarge(Exception):
    def __init__(self, status: int, limit: int) -> None:
        self.status, self.limit = status, limit


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a bounded request head and a deadline for receiving it."""

    max_url = MAX_URL
    max_head = MAX_HEAD
    head_timeout = HEAD_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._in_head = True
        self._head_timer: asyncio.TimerHandle | None = None
        self._refusal: _HeadTooLarge | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self.logger.warning("Closed a connection whose request head did not arrive in %s s.", self.head_timeout)
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._arm()  # the first byte of a request on a kept-alive connection starts its deadline
        super().data_received(data)

    def on_message_begin(self) -> None:
        self._in_head, self._head_bytes = True, 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        if len(self.url) + len(url) > self.max_url:
            self._fail(414, self.max_url)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        super().on_headers_complete()

    def _count(self, n: int) -> None:
        self._head_bytes += n
        if self._head_bytes > self.max_head:
            self._fail(431, self.max_head)

    def _fail(self, status: int, limit: int) -> None:
        # httptools turns an exception in a callback into HttpParserCallbackError, which uvicorn answers
        # with send_400_response: note the cause for it, then stop parsing
        self._refusal = _HeadTooLarge(status, limit)
        raise _HeadTooLarge(status, limit)

    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:
            self._refuse(self._refusal)
            return
        super().send_400_response(msg)

    def _refuse(self, e: _HeadTooLarge) -> None:
        self._refusal = None
        if self.transport.is_closing():
            return
        body = json.dumps(
            {
                "type": "urn:c11:problem:request-head-too-large",
                "title": _REASONS[e.status],
                "status": e.status,
                "detail": f"The request {'target' if e.status == 414 else 'head'} is over {e.limit} bytes.",
                "limit": e.limit,
            }
        ).encode()
        head = (
            f"HTTP/1.1 {e.status} {_REASONS[e.status]}\r\ncontent-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        ).encode()
        self.transport.write(head + body)
        self.transport.close()
