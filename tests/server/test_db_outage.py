"""A PostgreSQL restart under load (found by bench/soak.py): a new connection waits for the restarting database
(c11._web.db._connect_patiently) instead of failing the request; a read whose connection the restart cut runs
again (c11._web.db_outage), a write is answered 503 `database-unavailable` with Retry-After, not a bare 500; the
log's read pool replaces connections the restart ended."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from c11._web import db as webdb
from c11._web import problems


def _forward(listener: socket.socket, target: tuple[str, int], stop: threading.Event) -> None:
    """Accept on `listener` and pipe each connection to `target` (a stand-in for the restarted server's port)."""

    def pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            a.close()
            b.close()

    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        upstream = socket.create_connection(target)
        threading.Thread(target=pipe, args=(conn, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, conn), daemon=True).start()


def test_a_new_connection_waits_for_a_restarting_postgresql(pg_schemas: object) -> None:
    """Nothing listens on the port for 1.5 s (the database is restarting): the connection is retried and the
    query answers once it is back, instead of failing with `connection refused`."""
    url = sa.make_url(pg_schemas.new())  # type: ignore[attr-defined]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = webdb.make_engine(url.set(port=port).render_as_string(hide_password=False))
    stop = threading.Event()

    def come_back() -> None:
        time.sleep(1.5)
        listener = socket.create_server(("127.0.0.1", port))
        _forward(listener, (url.host or "127.0.0.1", url.port or 5432), stop)
        listener.close()

    t = threading.Thread(target=come_back, daemon=True)
    t.start()
    started = time.monotonic()
    try:
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT 1")).scalar() == 1
        assert time.monotonic() - started >= 1.4  # it waited for the server rather than failing
    finally:
        engine.dispose()
        stop.set()
        t.join(timeout=5)


def test_the_event_loop_never_waits_for_a_restarting_database(
    pg_schemas: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read run on the event loop (hotpath.run_near with PostgreSQL on this host) while the database restarts:
    the engine does not retry on the loop (it stalled every request of the worker for up to 10 s, review finding
    14); the call runs again in a worker thread, whose connection waits for the database to come back."""
    import asyncio
    from types import SimpleNamespace

    from c11.server import hotpath

    url = sa.make_url(pg_schemas.new())  # type: ignore[attr-defined]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = webdb.make_engine(url.set(port=port).render_as_string(hide_password=False))
    monkeypatch.setattr(hotpath, "log_service", lambda _ctx: SimpleNamespace(inline_reads=True))
    stop = threading.Event()

    def come_back() -> None:
        time.sleep(1.0)
        listener = socket.create_server(("127.0.0.1", port))
        _forward(listener, (url.host or "127.0.0.1", url.port or 5432), stop)
        listener.close()

    threads: list[int] = []

    def read() -> int:
        threads.append(threading.get_ident())
        with engine.connect() as c:
            return int(c.execute(sa.text("SELECT 1")).scalar_one())

    async def main() -> tuple[int, float]:
        ticks: list[float] = []

        async def tick() -> None:
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.05)

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.1)
        result = await hotpath.run_near(None, read)  # type: ignore[arg-type]
        await asyncio.sleep(0.1)
        ticker.cancel()
        return result, max(b - a for a, b in zip(ticks, ticks[1:], strict=False))

    t = threading.Thread(target=come_back, daemon=True)
    t.start()
    started = time.monotonic()
    try:
        result, stall = asyncio.run(main())
    finally:
        engine.dispose()
        stop.set()
        t.join(timeout=5)
    assert result == 1 and time.monotonic() - started >= 0.9  # answered once the database was back
    assert stall < 0.5  # the loop kept running meanwhile
    assert len(threads) == 2 and threads[0] != threads[1]  # tried on the loop, then run in a worker thread


def test_a_database_that_stays_down_fails_after_the_patience(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webdb, "CONNECT_PATIENCE_SECONDS", 0.6)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    engine = webdb.make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/test")
    started = time.monotonic()
    try:
        with pytest.raises(sa.exc.OperationalError), engine.connect():
            pass
    finally:
        engine.dispose()
    assert 0.3 <= time.monotonic() - started < 5  # retried (50, 100, 200 ms pauses), then gave up


def test_other_connection_errors_are_not_retried(pg_schemas: object) -> None:
    """A wrong database name is a set-up error: raised at once, not after the patience."""
    url = sa.make_url(pg_schemas.new()).set(database="c11_no_such_database")  # type: ignore[attr-defined]
    engine = webdb.make_engine(url.render_as_string(hide_password=False))
    started = time.monotonic()
    try:
        with pytest.raises(sa.exc.OperationalError), engine.connect():
            pass
    finally:
        engine.dispose()
    assert time.monotonic() - started < webdb.CONNECT_PATIENCE_SECONDS / 2


def test_a_cut_database_connection_is_a_503_problem_and_a_bug_a_500() -> None:
    app = FastAPI()
    problems.install(app)

    @app.get("/cut")
    def cut() -> None:
        raise sa.exc.OperationalError("COMMIT", {}, Exception("terminating connection due to administrator command"))

    @app.get("/bug")
    def bug() -> None:
        raise ValueError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/cut")
        assert r.status_code == 503
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["retry-after"] == "1"
        assert r.json()["type"] == "urn:c11:problem:database-unavailable"
        r = client.get("/bug")
        assert r.status_code == 500 and r.json()["type"] == "about:blank"


def _cut() -> Exception:
    """What SQLAlchemy raises when the driver found the connection broken (it invalidates the connection)."""
    return sa.exc.OperationalError(
        "SELECT", {}, Exception("server closed the connection unexpectedly"), connection_invalidated=True
    )


def test_a_read_cut_by_the_database_runs_again_and_a_write_does_not() -> None:
    """An allow-listed GET/HEAD whose connection was lost before the answer started: run once more (it changes
    nothing). A write: 503 at once, run once (whether its commit happened is unknown; the client decides)."""
    from c11._web.db_outage import RetryReadsMiddleware

    app = FastAPI()
    problems.install(app)
    app.add_middleware(RetryReadsMiddleware, pause=0.01, retry=("/read", "/down", "/bug", "/slow"))
    calls: dict[str, int] = {"read": 0, "write": 0, "down": 0, "bug": 0, "slow": 0, "count": 0}

    @app.get("/read")
    def read() -> dict[str, int]:
        calls["read"] += 1
        if calls["read"] == 1:
            raise _cut()
        return {"calls": calls["read"]}

    @app.post("/write")
    def write() -> None:
        calls["write"] += 1
        raise _cut()

    @app.get("/down")
    def down() -> None:
        calls["down"] += 1
        raise _cut()

    @app.get("/bug")
    def bug() -> None:
        calls["bug"] += 1
        raise ValueError("a bug")

    @app.get("/slow")
    def slow() -> None:  # a statement timeout: the query's own error, the connection is fine
        calls["slow"] += 1
        raise sa.exc.OperationalError("SELECT", {}, Exception("canceling statement due to statement timeout"))

    @app.get("/count")
    def count() -> None:  # a GET that writes (a counted download): not on the allow-list
        calls["count"] += 1
        raise _cut()

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/slow")  # not a lost connection: 503, not run again (review finding 8)
        assert r.status_code == 503 and calls["slow"] == 1
        r = client.get("/count")  # a GET not known to be side-effect free: never run twice
        assert r.status_code == 503 and calls["count"] == 1
        r = client.get("/read")
        assert r.status_code == 200 and r.json() == {"calls": 2}
        r = client.post("/write")
        assert r.status_code == 503 and calls["write"] == 1
        r = client.get("/down")  # still down at the second run: 503, no third run
        assert r.status_code == 503 and calls["down"] == 2
        r = client.get("/bug")  # not a database loss: never run again
        assert r.status_code == 500 and calls["bug"] == 1


def test_registry_lookups_survive_the_database_ending_the_read_pool(server: object) -> None:
    """The log's read engine (registry lookups, proofs, the release path) was a plain engine: after a PostgreSQL
    restart the first use of its pool failed its request (503). Made by make_engine, a connection the database
    ended is replaced before use."""
    import accountkit
    import httpx
    from srvkit import PG_ADMIN_URL

    from c11.server.logsrv.service import log_service

    if getattr(server, "backend", "") != "postgresql":
        pytest.skip("PostgreSQL only")
    account = accountkit.signup(server, "outage", login=True)
    engine = log_service(server._server.config.app.state.ctx).read_engine  # type: ignore[attr-defined]
    conns = [engine.connect() for _ in range(4)]  # fill the pool with connections we know
    pids = [c.execute(sa.text("SELECT pg_backend_pid()")).scalar() for c in conns]
    for c in conns:
        c.close()
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as a:
            for pid in pids:  # what a restart does to them (only these backends: the database is shared)
                assert a.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    finally:
        admin.dispose()
    time.sleep(0.3)
    for _ in pids:  # every pooled connection's first use after the "restart" works
        with engine.connect() as c:
            assert c.execute(sa.text("SELECT pg_backend_pid()")).scalar() not in pids
    with httpx.Client(base_url=server.url, timeout=30) as h:  # type: ignore[attr-defined]
        for _ in range(8):
            r = h.get(
                "/api/v1/keys", params={"email": account.email}, headers={"authorization": f"Bearer {account.token}"}
            )
            assert r.status_code in (200, 404), r.text


def test_a_cut_write_keeps_the_connection_open() -> None:
    """The 503 of a write the database cut is answered by the middleware, not left to the server's error handler:
    uvicorn closes a connection after an unhandled exception, and a client's next request on it would be reset
    (the soak saw such resets next to the PostgreSQL restart)."""
    from srvkit import loopback_socket, serve_in_thread

    from c11._web.db_outage import RetryReadsMiddleware

    app = FastAPI()
    problems.install(app)
    app.add_middleware(RetryReadsMiddleware, pause=0.01, retry=("/ok",))

    @app.post("/write")
    def write() -> None:
        raise _cut()

    @app.get("/ok")
    def ok() -> dict[str, bool]:
        return {"ok": True}

    sock = loopback_socket()
    port = sock.getsockname()[1]
    server, thread = serve_in_thread(app, sock)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            first = c.recv(65536)
            assert first.startswith(b"HTTP/1.1 503") and b"database-unavailable" in first
            assert b"connection: close" not in first.lower()
            time.sleep(0.3)  # what a closing server would have done by now
            c.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.recv(65536).startswith(b"HTTP/1.1 200")  # the same connection still answers
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_only_reads_that_change_nothing_are_allow_listed() -> None:
    """The server's allow-list: public log/key reads and lookups; not downloads that count, logged shard fetches,
    opened links (review finding 8)."""
    import re

    from c11.server.hotpath import RETRY_READS

    def listed(path: str) -> bool:
        return any(re.fullmatch(p, path) for p in RETRY_READS)

    for path in ("/api/v1/keys", "/api/v1/keys/history", "/api/v1/log/checkpoint", "/api/v1/log/proof/inclusion"):
        assert listed(path), path
    for path in (
        "/api/v1/received/abc/blobs/def",
        "/api/v1/shards/shard",
        "/api/v1/request-links/abc",
        "/api/v1/accounts/verify",
        "/api/v1/keys/../received/x",
    ):
        assert not listed(path), path
