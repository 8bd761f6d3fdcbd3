"""The hot paths' shortcuts (c11.server.hotpath) answer exactly as the general code: the session check gives the
same principal as `auth.authenticate` for every kind of token, a lost PostgreSQL connection raises the error the
outage handling expects, and mounting the hot routers first sends no request to another route."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.requests import Request
from starlette.routing import Match

from c11.server import hotpath, migrate
from c11.server.accounts.models import LoginSession, User
from c11.server.app import create_app
from c11.server.auth import SESSION_PREFIX, authenticate
from c11.server.config import Config
from c11.server.credentials import digest, new_secret
from c11.server.db import utcnow
from c11.server.logsrv.service import log_service


def _request(app: Any, token: str | None) -> Request:
    headers = [] if token is None else [(b"authorization", f"Bearer {token}".encode())]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "app": app})


def _session(
    s: Any, *, verified: bool = True, age_hours: float = 0, expires_hours: float = 24, kind: str = "bearer"
) -> str:
    now = utcnow()
    user = User(
        email=f"{new_secret('u')[-10:].lower()}@example.com",
        password_hash=None,
        email_verified_at=now if verified else None,
        created_at=now - timedelta(hours=age_hours),
    )
    s.add(user)
    s.flush()
    token = new_secret(SESSION_PREFIX)
    s.add(
        LoginSession(
            user_id=user.id,
            token_hash=digest(token),
            kind=kind,
            created_at=now,
            expires_at=now + timedelta(hours=expires_hours),
        )
    )
    return token


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_session_check_answers_as_authenticate(backend: str, empty_db: Any, tmp_path: Path) -> None:
    url = empty_db(backend)
    migrate.upgrade(url)
    app = create_app(Config(data_dir=tmp_path / "data", database_url=url))
    ctx = app.state.ctx
    try:
        with ctx.db.session() as s:
            tokens = {
                "valid": _session(s),
                "expired": _session(s, expires_hours=-1),
                "unverified, new": _session(s, verified=False, age_hours=1),
                "unverified, past its time": _session(s, verified=False, age_hours=73),
                "a cookie session's token": _session(s, kind="cookie"),
            }
        tokens["unknown"] = new_secret(SESSION_PREFIX)
        answers = {}
        for name, token in tokens.items():
            fast, general = hotpath.caller(_request(app, token), ctx), authenticate(_request(app, token), ctx)
            assert fast == general, name
            answers[name] = None if fast is None else fast.email_verified
        assert answers == {
            "valid": True,
            "expired": None,
            "unverified, new": False,
            "unverified, past its time": None,
            "a cookie session's token": None,
            "unknown": None,
        }
    finally:
        log_service(ctx).close()
        ctx.db.dispose()


def test_a_lost_connection_is_an_invalidated_dbapi_error(pg_schemas: Any) -> None:
    """`fetch_one` on a connection PostgreSQL ends mid-statement: SQLAlchemy's DBAPIError with
    connection_invalidated (what RetryReadsMiddleware runs a read again on), its parameters not in its text, and
    the pool's next connection works. A statement's own error leaves the connection in the pool."""
    from c11._web.db import make_engine
    from c11._web.db_outage import connection_lost

    engine = make_engine(pg_schemas.new(), isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        first = hotpath.fetch_one(engine, "SELECT pg_backend_pid() + %s", (0,))
        with pytest.raises(sa.exc.DBAPIError) as failed:
            hotpath.fetch_one(engine, "SELECT 1 / %s", (0,))
        assert not connection_lost(failed.value)
        assert hotpath.fetch_one(engine, "SELECT pg_backend_pid() + %s", (0,)) == first  # the same connection
        with pytest.raises(sa.exc.DBAPIError) as lost:
            hotpath.fetch_one(engine, "SELECT pg_terminate_backend(pg_backend_pid()), %s::text", ("secret-param",))
        assert connection_lost(lost.value) and "secret-param" not in str(lost.value)
        again = hotpath.fetch_one(engine, "SELECT pg_backend_pid() + %s", (0,))
        assert again is not None and again != first
        # on an open Connection (the registry lookup): the Connection is invalidated, and closes cleanly
        with pytest.raises(sa.exc.DBAPIError) as lost, engine.connect() as conn:
            row = hotpath.driver_row(
                conn.connection.driver_connection,
                conn.dialect,
                conn.invalidate,
                "SELECT pg_backend_pid() AS n",
                (),
                True,
            )
            pid = row.n
            hotpath.driver_row(
                conn.connection.driver_connection,
                conn.dialect,
                conn.invalidate,
                "SELECT pg_terminate_backend(pg_backend_pid())",
                (),
            )
        assert connection_lost(lost.value)
        assert hotpath.fetch_one(engine, "SELECT pg_backend_pid() + %s", (0,)) != (pid,)  # a new connection
    finally:
        engine.dispose()


def test_the_hot_routes_are_matched_by_no_other_route(tmp_path: Path) -> None:
    """hotpath.FIRST routers are mounted before all others: each of their routes must be the only one that
    matches its path and method, else a request would change route."""
    app = create_app(Config(data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'c11.db'}"))
    hot = {
        (r.path, m) for r in app.router.routes[:8] for r in _flat(r) if getattr(r, "methods", None) for m in r.methods
    }
    assert ("/api/v1/keyserver/release", "POST") in hot and ("/api/v1/keys", "GET") in hot
    for path, method in hot:
        scope = {"type": "http", "path": path, "method": method, "root_path": "", "headers": [], "app": app}
        full = [r for r in app.router.routes for r in _flat(r) if r.matches(scope)[0] == Match.FULL]
        assert len(full) == 1, (path, method, full)
        assert app.router.routes.index(next(r for r in app.router.routes if r.matches(scope)[0] == Match.FULL)) < 8


def _flat(route: Any) -> list[Any]:
    """A mounted router's routes (FastAPI keeps an included router as one route object; its routes have full paths)."""
    inner = getattr(route, "original_router", None)
    return [route] if inner is None else [leaf for child in inner.routes for leaf in _flat(child)]
