"""Fixtures of the usage-events tests: a real server (uvicorn in a thread) on loopback, once per database
backend (SQLite and PostgreSQL), built with the server tests' helpers (tests/server/srvkit.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from srvkit import BACKENDS, RunningServer, server_config, start_server


@pytest.fixture(scope="module", params=BACKENDS)
def ev_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of this test module, once per database backend."""
    tmp = tmp_path_factory.mktemp(f"events-{request.param}")
    url = f"sqlite:///{tmp / 'c11.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_schemas").new()
    running = start_server(server_config(tmp / "data", url), request.param)
    yield running
    running.stop()
