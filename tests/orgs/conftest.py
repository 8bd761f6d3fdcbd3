"""Fixtures of the organization tests: a real server per database backend (shared by the module's tests),
and one of one's own for tests that change server-wide state."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from srvkit import E2E_BACKENDS, RunningServer, backend_server, server_config, start_server


@pytest.fixture(scope="module", params=E2E_BACKENDS)
def org_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A running server on SQLite and on PostgreSQL."""
    with backend_server(request, tmp_path_factory, "orgs") as running:
        yield running


@pytest.fixture
def sqlite_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """A factory for a SQLite server of one's own (stopped after the test)."""
    started: list[RunningServer] = []

    def make(**kw) -> RunningServer:
        url = f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        s = start_server(server_config(tmp_path / f"data-{len(started)}", url, **kw), "sqlite")
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
