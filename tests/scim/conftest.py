"""Fixtures of the SCIM tests: one real server per database backend (SQLite, PostgreSQL) for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from srvkit import E2E_BACKENDS, RunningServer, backend_server


@pytest.fixture(scope="session", params=E2E_BACKENDS)
def scim_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with backend_server(request, tmp_path_factory, "scim") as running:
        yield running


@pytest.fixture
def org(scim_server: RunningServer):  # type: ignore[no-untyped-def]
    """A fresh organization (admin + SCIM token) on the shared server."""
    from scimkit import new_org

    return new_org(scim_server)


@pytest.fixture(scope="session")
def shared_org(scim_server: RunningServer):  # type: ignore[no-untyped-def]
    """One organization per server for tests that only read or make uniquely named resources."""
    from scimkit import new_org

    return new_org(scim_server)
