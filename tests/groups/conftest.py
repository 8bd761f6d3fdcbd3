"""Fixtures of the group and recovery key tests: a real server per database backend, shared by a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from srvkit import BACKENDS, RunningServer, server_config, start_server


@pytest.fixture(scope="module", params=BACKENDS)
def grp_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A running server on SQLite and on PostgreSQL."""
    tmp = tmp_path_factory.mktemp(f"groups-{request.param}")
    url = f"sqlite:///{tmp / 'c11.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_schemas").new()
    running = start_server(server_config(tmp / "data", url), request.param)
    yield running
    running.stop()
