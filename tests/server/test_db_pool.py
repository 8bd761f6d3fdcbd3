"""The PostgreSQL pool's disconnect handling (c11._web.db._check_out): no ping per checkout, yet a pooled
connection the server ended is replaced before use, so a restarted or culled backend costs no failed request."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from c11._web.db import make_engine


@pytest.fixture
def pg_url(pg_schemas: object) -> str:
    return pg_schemas.new()  # type: ignore[attr-defined]


def test_terminated_backend_is_replaced_without_error(pg_url: str) -> None:
    engine = make_engine(pg_url)
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with admin.connect() as a:
            assert a.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
        time.sleep(0.2)  # the FATAL notice reaches the pooled connection's socket
        with engine.connect() as c:  # the same pooled connection would fail: it is replaced at checkout
            assert c.execute(sa.text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()
        admin.dispose()


def test_live_connection_is_pinged_once(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        for _ in range(5):
            with engine.connect() as c:
                c.execute(sa.text("SELECT 1"))
                pings = c.connection._connection_record.info["c11_pings"]  # type: ignore[union-attr]
        assert pings == 1  # when it was new; then never while its socket is quiet and it was used lately
    finally:
        engine.dispose()
