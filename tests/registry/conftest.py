"""Fixtures of the registry tests: a real server (uvicorn in a thread) on loopback, over SQLite and
PostgreSQL, built with the server tests' helpers (tests/server/srvkit.py)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from srvkit import (  # noqa: E402
    E2E_BACKENDS,
    RunningServer,
    backend_server,
    server_config,
    start_server,
)


@pytest.fixture(scope="session", params=E2E_BACKENDS)
def reg_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The shared server of the registry tests, once per database backend."""
    with backend_server(request, tmp_path_factory, "registry") as running:
        yield running


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """A factory for a server of one's own (SQLite by default); stopped after the test."""
    started: list[RunningServer] = []

    def make(database_url: str | None = None, data_dir: Path | None = None, **kw) -> RunningServer:
        url = database_url or f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        s = start_server(
            server_config(data_dir or tmp_path / f"data-{len(started)}", url, **kw),
            "postgresql" if url.startswith("postgresql") else "sqlite",
        )
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
