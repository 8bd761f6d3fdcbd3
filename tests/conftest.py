"""Suite-wide fixtures and rules.

* Under CI=true a missing dependency (a tool "is not installed", a service "unreachable") fails the test
  instead of skipping it: `python3 dev.py test` installs and starts everything, so a skip there hides a bug.
* `pg_schemas` / `empty_db`: fresh PostgreSQL schemas and empty databases for any test folder.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "server"))  # srvkit: the server test helpers

_MISSING = ("is not installed", "unreachable")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI", "").lower() == "true":
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if any(m in reason for m in _MISSING):
            report.outcome = "failed"
            report.longrepr = f"CI=true, so this must not be skipped: {reason}"


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[object]:
    """Fresh PostgreSQL schemas (c11_test_*) in the test database, dropped at the end."""
    from srvkit import PgSchemas, pg_unreachable_reason

    why = pg_unreachable_reason()
    if why is not None:
        pytest.skip(f"PostgreSQL unreachable: {why}")
    schemas = PgSchemas()
    yield schemas
    schemas.drop_all()


@pytest.fixture
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """A factory: backend name ("sqlite" or "postgresql") -> URL of a new, empty database."""

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
        return request.getfixturevalue("pg_schemas").new()

    return make
