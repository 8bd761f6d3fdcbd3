"""A PostgreSQL restart under load (found by bench/soak.py): a new connection waits for the restarting database
(c11._web.db._connect_patiently) instead of failing the request, and a request whose connection the restart cut
is answered 503 `database-unavailable` with Retry-After (c11._web.problems), not a bare 500."""

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
    assert 0.5 <= time.monotonic() - started < 5


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
