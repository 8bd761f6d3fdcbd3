"""Fixtures of the sender-verification tests: one real server (uvicorn in a thread, SQLite: what is
checked here is client-side, the registry's storage is tested in tests/registry) for the module."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))

from srvkit import RunningServer, server_config, start_server  # noqa: E402


@pytest.fixture(scope="module")
def sender_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A running server with a fresh SQLite database, shared by one test module."""
    tmp = tmp_path_factory.mktemp("sender")
    running = start_server(server_config(tmp / "data", f"sqlite:///{tmp / 'c11.db'}"), "sqlite")
    try:
        yield running
    finally:
        running.stop()
