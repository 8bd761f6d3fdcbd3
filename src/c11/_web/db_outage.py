"""What a database outage (a PostgreSQL restart, a dropped connection) costs a request: a read is run again.

`RetryReadsMiddleware` runs a GET or HEAD of an allow-listed route (`retry`: path patterns of routes known to
change nothing; many GETs do write: a counted download, a logged shard fetch) again, once, when its database
connection was lost (`connection_lost`: the driver reported the connection broken, not a statement timeout or
another error of the query) before any of its answer was sent; the new connection waits for a restarting
server (`c11._web.db._connect_patiently`). Any other request the database failed (`c11._web.problems.
database_lost`) is answered `503` `database-unavailable` here: whether a commit happened is unknown, so only
the client may decide to repeat it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request

from c11._web.problems import database_lost, database_unavailable

_log = logging.getLogger("c11.db")

#: Methods whose requests may run again after a lost database connection (on an allow-listed route only).
SAFE_METHODS = frozenset({"GET", "HEAD"})


def connection_lost(exc: BaseException) -> bool:
    """The database connection broke (a restart, a network drop): SQLAlchemy invalidated it or the pool could not
    provide one. Not a query's own error (a statement timeout, a serialization failure), which may come again."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.DBAPIError):
        return bool(exc.connection_invalidated)
    return isinstance(exc, sa_exc.DisconnectionError)


class RetryReadsMiddleware:
    """ASGI middleware: a GET/HEAD of a route in `retry` (path regexes, matched in full) whose database connection
    was lost before its answer started runs once more; any other request the database failed (or a read lost
    twice) is answered `503` `database-unavailable` here, the connection kept open."""

    def __init__(self, app: Any, pause: float = 0.2, retry: Iterable[str] = ()) -> None:
        self.app = app
        self.pause = pause
        self.retry = tuple(re.compile(p) for p in retry)

    def _may_retry(self, scope: Any) -> bool:
        path = scope.get("path", "")
        return scope.get("method") in SAFE_METHODS and any(p.fullmatch(path) for p in self.retry)

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
            if not (connection_lost(e) and self._may_retry(scope)):
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
