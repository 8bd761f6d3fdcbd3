"""Fixtures of the usage-events tests: a real server (uvicorn in a thread) on loopback, once per database
backend (SQLite and PostgreSQL), built with the server tests' helpers (tests/server/srvkit.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from srvkit import E2E_BACKENDS, RunningServer, backend_server


@pytest.fixture(scope="module", params=E2E_BACKENDS)
def ev_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server of this test module, once per database backend."""
    with backend_server(request, tmp_path_factory, "events") as running:
        yield running
