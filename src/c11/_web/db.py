"""SQLAlchemy 2 engine, sessions and column types every service's database uses.

One `Database` per application (no module-level engine); SQLite gets WAL, foreign keys and a busy timeout.
"""

from __future__ import annotations

import select as _select
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A random, unguessable object ID (32 hex characters)."""
    return uuid.uuid4().hex


class Database:
    """Engine and session factory for one database URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on any error."""
        with self._sessions() as s, s.begin():
            yield s

    def dispose(self) -> None:
        self.engine.dispose()


def make_engine(url: str | URL, **options: Any) -> Engine:
    """Create an engine; for SQLite, make the folder and set pragmas on every connection. PostgreSQL engines
    (`options` go to `create_engine`, e.g. a pool size or an isolation level) survive a database restart: new
    connections wait for it, pooled ones it ended are replaced before use."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Enough pooled connections for the request thread pool (40 threads): overflow connections are
        # closed on return, so a small pool under load means a new PostgreSQL connection per request.
        # No pool_pre_ping (a round trip at every checkout, ~1 in 3 of a key release's): `_check_out` below
        # pings only a connection that may be dead.
        engine = create_engine(url, **{"pool_size": 20, "max_overflow": 30, **options})
        event.listen(engine, "do_connect", _connect_patiently)
        event.listen(engine, "checkout", _check_out)
        event.listen(engine, "checkin", _checked_in)
        return engine
    if parsed.database and parsed.database != ":memory:":
        from pathlib import Path

        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


#: How long a new PostgreSQL connection is retried while the server restarts (refused, starting up, shutting down)
#: before the request fails: a restart of a few seconds delays the requests that need a new connection instead of
#: failing them.
CONNECT_PATIENCE_SECONDS = 10.0
_RESTARTING = ("connection refused", "starting up", "shutting down", "not yet accepting connections", "recovery mode")


class NotWaitingOnLoop(exc.DisconnectionError):
    """A new PostgreSQL connection was refused (the server restarts) on a thread running an event loop: waiting
    there would stall every request of the process, so the caller should run the call in a worker thread
    (`c11.server.hotpath.run_near` does), where the connection is retried patiently."""


def _on_event_loop() -> bool:
    import asyncio  # only on a refused connection

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _connect_patiently(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """Connect, retrying (50 ms doubling to 500 ms, for CONNECT_PATIENCE_SECONDS) while the server is
    restarting; any other error (a wrong password, an unknown database) is raised at once. On an event loop's
    thread nothing is retried: a restarting server raises `NotWaitingOnLoop` at once."""
    deadline = time.monotonic() + CONNECT_PATIENCE_SECONDS
    delay = 0.05
    while True:
        try:
            return dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError as e:
            text = str(e).lower()
            if not any(m in text for m in _RESTARTING):
                raise
            if _on_event_loop():
                raise NotWaitingOnLoop(f"database not reachable: {text.splitlines()[0] if text else e!r}") from e
            if time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


#: A pooled connection unused for longer than this is pinged at checkout whatever its socket says.
PING_AFTER_IDLE_SECONDS = 30.0


def _checked_in(_dbapi_conn: Any, record: Any) -> None:
    if record is not None:
        record.info["c11_idle_since"] = time.monotonic()


def _check_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    """Pessimistic disconnect handling without a round trip per checkout.

    An idle PostgreSQL connection has nothing to read: when the server ends it (restart, pg_terminate_backend,
    idle timeout) its socket becomes readable (the FATAL notice, then EOF). So the connection is pinged
    (SELECT 1) only if the driver knows it is broken, its socket is readable, or it sat unused for
    PING_AFTER_IDLE_SECONDS; a failed ping raises DisconnectionError, and the pool replaces the connection
    (what pool_pre_ping does, for every checkout).
    """
    idle_since = record.info.get("c11_idle_since") if record is not None else None
    try:
        if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
            raise exc.DisconnectionError("connection closed")
        stale = idle_since is None or time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS
        if not stale:
            readable, _, _ = _select.select([dbapi_conn.fileno()], [], [], 0)
            stale = bool(readable)
        if stale:
            if record is not None:
                record.info["c11_pings"] = record.info.get("c11_pings", 0) + 1
            cur = dbapi_conn.cursor()
            try:
                cur.execute("SELECT 1")
            finally:
                cur.close()
            dbapi_conn.rollback()
    except exc.DisconnectionError:
        raise
    except Exception as e:  # any driver error: the connection is unusable
        raise exc.DisconnectionError(f"connection lost: {type(e).__name__}") from None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
