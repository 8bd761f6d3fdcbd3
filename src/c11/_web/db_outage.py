"""What a database outage (a PostgreSQL restart, a dropped connection) costs a request: a read is run again.

`RetryReadsMiddleware` runs a GET or HEAD again, once, when the database connection was lost (as
`c11._web.problems.database_lost` tells) before any of its answer was sent: a read changes nothing, so running it
again is safe, and the new connection waits for a restarting server (`c11._web.db._connect_patiently`). A write
cut this way is answered `503` `database-unavailable` here: whether its commit happened is unknown, so only the
client may decide to repeat it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import Request

from c11._web.problems import database_lost, database_unavailable

_log = logging.getLogger("c11.db")

#: Methods whose requests are run again after a lost database connection.
SAFE_METHODS = frozenset({"GET", "HEAD"})


class RetryReadsMiddleware:
    """ASGI middleware: a GET/HEAD whose database connection was lost before its answer started runs once more;
    a write (or a read lost twice) is answered `503` `database-unavailable` here, the connection kept open."""

    def __init__(self, app: Any, pause: float = 0.2) -> None:
        self.app = app
        self.pause = pause

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Any) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
            return
        except Exception as e:
            if started or not database_lost(e):
                raise
            if scope.get("method") not in SAFE_METHODS:
                await _unavailable(scope, receive, send)
                return
        _log.warning("database connection lost on %s %s; running the read again", scope["method"], scope["path"])
        await asyncio.sleep(self.pause)
        started = False
        try:
            await self.app(scope, receive, watch)
        except Exception as e:
            if started or not database_lost(e):
                raise
            await _unavailable(scope, receive, send)


async def _unavailable(scope: Any, receive: Any, send: Any) -> None:
    """Answer the 503 problem here: an exception left to the server's error handler makes uvicorn close the
    connection after the answer, and a client that sends its next request on it at that moment sees a reset."""
    await database_unavailable(Request(scope, receive))(scope, receive, send)
