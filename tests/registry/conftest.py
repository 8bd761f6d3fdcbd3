"""Fixtures of the registry tests: a real server (uvicorn in a thread) on loopback, over SQLite and
PostgreSQL, built with the server tests' helpers (tests/server/srvkit.py)."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from srvkit import (  # noqa: E402
    BACKENDS,
    PG_ADMIN_URL,
    PgSchemas,
    RunningServer,
    pg_unreachable_reason,
    server_config,
    start_server,
)


@pytest.fixture(scope="session")
def reg_pg() -> Iterator[PgSchemas]:
    """Fresh PostgreSQL schemas (c11_test_*) in the test database; fails when unreachable under CI=true."""
    why = pg_unreachable_reason()
    if why is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is unreachable (CI=true): {why}")
        pytest.skip(f"PostgreSQL unreachable: {why}")
    schemas = PgSchemas()
    yield schemas
    schemas.drop_all()


@pytest.fixture
def reg_db(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """A factory: backend name -> URL of a new, empty database."""

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        return request.getfixturevalue("reg_pg").new()

    return make


@pytest.fixture(scope="session", params=BACKENDS)
def reg_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The shared server of the registry tests, once per database backend."""
    tmp = tmp_path_factory.mktemp(f"registry-{request.param}")
    url = f"sqlite:///{tmp / 'c11.db'}" if request.param == "sqlite" else request.getfixturevalue("reg_pg").new()
    running = start_server(server_config(tmp / "data", url), request.param)
    yield running
    running.stop()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """A factory for a server of one's own (SQLite by default); stopped after the test."""
    started: list[RunningServer] = []

    def make(database_url: str | None = None, data_dir: Path | None = None, **kw) -> RunningServer:
        url = database_url or f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        s = start_server(server_config(data_dir or tmp_path / f"data-{len(started)}", url, **kw),
                         "postgresql" if url.startswith("postgresql") else "sqlite")
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()
