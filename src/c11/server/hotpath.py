"""What the hot routes (key lookups, key releases) share: a cheap login-session check and running short
database calls on the event loop when the database is near.

A login-session bearer token is checked with one query on the log service's autocommit read engine
(the same rules as `auth._session`); anything else (machine tokens, which record their last use, cookies)
goes through `auth.authenticate` itself. On PostgreSQL that query is a prepared statement sent on the pooled
driver connection (`fetch_one`): SQLAlchemy's execution layer cost more CPU than the query (0.58 against
0.19 ms per call, measured with `time.process_time` on this machine).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import Engine, bindparam, select
from sqlalchemy import exc as sa_exc
from starlette.concurrency import run_in_threadpool

from c11._web.db import NotWaitingOnLoop
from c11.server.accounts.models import LoginSession, User
from c11.server.auth import MACHINE_PREFIX, Principal, _bearer, authenticate
from c11.server.context import ServerContext
from c11.server.credentials import digest
from c11.server.db import utcnow
from c11.server.logsrv.service import log_service
from c11.server.scopes import SCOPES

#: A CLI/SDK login session by its token hash (what `c11.server.auth._session` reads, as one Core query).
_SESSION = (
    select(
        LoginSession.id,
        LoginSession.expires_at,
        User.id.label("user_id"),
        User.email,
        User.email_verified_at,
        User.created_at,
    )
    .join(User, User.id == LoginSession.user_id)
    .where(LoginSession.token_hash == bindparam("h"), LoginSession.kind == "bearer")
)

#: The same on PostgreSQL with the time rules in the statement (only a usable session's row comes back).
_PG_SESSION = (
    "SELECT s.id, u.id, u.email, u.email_verified_at IS NOT NULL FROM login_sessions s"
    " JOIN users u ON u.id = s.user_id WHERE s.token_hash = %s AND s.kind = 'bearer' AND s.expires_at > %s"
    " AND (u.email_verified_at IS NOT NULL OR u.created_at > %s)"
)


#: Routers the app mounts before all others (`c11.server.app.create_app`): a request is matched against the
#: routes in order, and the hot routes came after ~20 routers (0.2-0.3 ms of CPU per request to find them).
#: Their paths are matched by no other route (tests/server/test_hotpath.py), so no request changes route.
FIRST = ("c11.server.keyserver.router:releases", "c11.server.registry.router:reads")

#: GET/HEAD routes run again after a lost database connection (`c11._web.db_outage.RetryReadsMiddleware`): only
#: routes known to change nothing. Not downloads that count, shard fetches that are logged, links that are opened.
RETRY_READS = (
    r"/api/v1/log/(key|checkpoint|entries|proof/inclusion|proof/consistency|handovers)",
    r"/api/v1/keys(/history)?",
    r"/api/v1/keyserver/key",
    r"/api/v1/shards/token-key",
    r"/api/v1/auth/oidc/providers",
)


def caller(request: Request, ctx: ServerContext) -> Principal | None:
    """`c11.server.auth.authenticate`, with a fast path for a login session bearer token: one query on the
    autocommit read engine (token hash, kind bearer, not expired, account not unverified past its time; all
    scopes). Machine tokens and cookies go through `authenticate`."""
    token = _bearer(request)
    if token is None or token.startswith(MACHINE_PREFIX + "_"):
        return authenticate(request, ctx)
    engine = log_service(ctx).read_engine
    now = utcnow()
    if engine.dialect.name == "postgresql":
        cutoff = now - timedelta(hours=ctx.config.unverified_account_hours)  # as auth._unverified_expired
        found = fetch_one(engine, _PG_SESSION, (digest(token), now, cutoff))
        if found is None:
            return None
        return Principal(found[1], found[2], bool(found[3]), "bearer", found[0], frozenset(SCOPES))
    with engine.connect() as conn:
        row = conn.execute(_SESSION, {"h": digest(token)}).first()
    if (
        row is None
        or row.expires_at <= now
        or (
            row.email_verified_at is None
            and row.created_at <= now - timedelta(hours=ctx.config.unverified_account_hours)
        )
    ):  # as auth._unverified_expired
        return None
    return Principal(row.user_id, row.email, row.email_verified_at is not None, "bearer", row.id, frozenset(SCOPES))


def fetch_one(engine: Engine, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The first row of `sql` (driver parameter style) run as a prepared statement on a pooled PostgreSQL driver
    connection of `engine`, without SQLAlchemy's execution layer (`driver_row`).

    The pool's checkout rules still apply (a connection that may be dead is pinged and replaced; a refused new
    connection on the event loop raises `NotWaitingOnLoop`)."""
    pooled = engine.raw_connection()
    try:
        return driver_row(pooled.driver_connection, engine.dialect, pooled.invalidate, sql, params)
    finally:
        pooled.close()


def driver_row(
    driver: Any, dialect: Any, invalidate: Any, sql: str, params: tuple[Any, ...], named: bool = False
) -> Any:
    """The first row of `sql` run as a prepared statement on the PostgreSQL driver connection `driver` (of a pool
    connection, or of an open `Connection`: `conn.connection.driver_connection`), a named tuple if `named`.

    A driver error is raised as SQLAlchemy's `DBAPIError` (parameters hidden), after `invalidate(error)` when
    the connection was lost (`pooled.invalidate`, `Connection.invalidate`), as `Connection.execute` does, so
    the outage handling (`c11._web.db_outage`) sees the same errors."""
    if named:
        from psycopg.rows import namedtuple_row  # PostgreSQL only (the driver is imported already)

        cursor = driver.cursor(row_factory=namedtuple_row)
    else:
        cursor = driver.cursor()
    try:
        with cursor as cur:
            cur.execute(sql, params, prepare=True)
            return cur.fetchone()
    except dialect.loaded_dbapi.Error as e:
        lost = bool(getattr(driver, "broken", False) or getattr(driver, "closed", False))
        lost = lost or dialect.is_disconnect(e, driver, None)
        if lost:
            invalidate(e)
        raise sa_exc.DBAPIError.instance(
            sql,
            params,
            e,
            dialect.loaded_dbapi.Error,
            hide_parameters=True,
            connection_invalidated=lost,
            dialect=dialect,
        ) from e


async def run_near(ctx: ServerContext, fn: Any, *args: Any) -> Any:
    """Run a short database call on the event loop when the database is near (SQLite, PostgreSQL on this
    host: the call costs less than a thread hop), else in the thread pool (`LogService.inline_reads`).

    The event loop never waits for the database: when a new connection is refused (PostgreSQL restarting),
    the engine raises `NotWaitingOnLoop` at once and the call runs again in the thread pool, where the
    connection is retried patiently (`c11._web.db.CONNECT_PATIENCE_SECONDS`)."""
    if log_service(ctx).inline_reads:
        try:
            return fn(*args)
        except NotWaitingOnLoop:
            pass
    return await run_in_threadpool(fn, *args)
