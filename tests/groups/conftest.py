"""Fixtures of the group and recovery key tests: a real server per database backend, shared by a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from srvkit import E2E_BACKENDS, RunningServer, backend_server


@pytest.fixture(scope="module", params=E2E_BACKENDS)
def grp_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A running server on SQLite and on PostgreSQL."""
    with backend_server(request, tmp_path_factory, "groups") as running:
        yield running
