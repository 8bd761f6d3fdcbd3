"""What the hot routes (key lookups, key releases) share: a cheap login-session check and running short
database calls on the event loop when the database is near.

A login-session bearer token is checked with one Core query on the log service's autocommit read engine
(the same rules as `auth._session`); anything else (machine tokens, which record their last use, cookies)
goes through `auth.authenticate` itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import bindparam, select
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
    with log_service(ctx).read_engine.connect() as conn:
        row = conn.execute(_SESSION, {"h": digest(token)}).first()
    now = utcnow()
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
