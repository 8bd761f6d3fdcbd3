"""Fixtures of the server tests: real servers (uvicorn in a thread) on loopback, over SQLite and PostgreSQL.

PostgreSQL: a fresh schema in the `test` database per server, dropped afterwards; unreachable fails under CI=true.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from srvkit import (
    E2E_BACKENDS,
    RunningServer,
    loopback_socket,
    serve_in_thread,
    server_config,
    start_server,
)


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Any]:
    """The fake identity provider, on its own loopback port."""
    from fake_idp import FakeIdP

    provider = FakeIdP()
    sock = loopback_socket()
    provider.issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server, thread = serve_in_thread(provider.app(), sock)
    yield provider
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session", params=E2E_BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, oidc_provider: Any
) -> Iterator[RunningServer]:
    """The shared server of a test session, once per database backend."""
    from c11.server.config import OidcProvider

    tmp = tmp_path_factory.mktemp(f"server-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'c11.db'}"
    else:
        url = request.getfixturevalue("pg_schemas").new()
    provider = OidcProvider(
        name="test",
        issuer=oidc_provider.issuer,
        client_id="c11-test",
        client_secret="test-client-secret",
        display_name="Test IdP",
    )
    running = start_server(server_config(tmp / "data", url, oidc_providers=(provider,)), request.param)
    yield running
    running.stop()


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """A factory for a server of one's own (SQLite) with special settings; stopped after the test."""
    started: list[RunningServer] = []

    def make(**kw: Any) -> RunningServer:
        url = f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        s = start_server(server_config(tmp_path / f"data-{len(started)}", url, **kw))
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def user(server: RunningServer) -> dict[str, str]:
    """A signed-up user with a verified email and a bearer token on the shared server."""
    import accountkit

    found = _signed_up(server)
    accountkit.verify_email(server, found["email"])
    return found


@pytest.fixture
def unverified_user(server: RunningServer) -> dict[str, str]:
    """A signed-up user who never opened the verification link, with a bearer token."""
    return _signed_up(server)


def _signed_up(server: RunningServer) -> dict[str, str]:
    import accountkit

    return accountkit.signup(server, verified=False, login=True).as_dict()
