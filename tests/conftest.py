"""Suite-wide fixtures and rules.

* Under CI=true a missing dependency (a tool "is not installed", a service "unreachable") fails the test
  instead of skipping it: `python3 dev.py test` installs and starts everything, so a skip there hides a bug.
* `pg_schemas` / `empty_db`: fresh PostgreSQL schemas and empty databases for any test folder.
* Key files written by the tests (in-process and by CLI subprocesses) use the test-only scrypt cost
  (C11_TEST_ONLY_INSECURE_SCRYPT_LOG_N=10); Argon2id of test servers is lowered through their Config
  (srvkit.server_config); tests/server/test_work_factors.py shows the production defaults.
* httpx loads the CA bundle again for every new client (tens of milliseconds; the suite makes thousands of
  clients): in the test process, clients with the default TLS settings share one verifying context.
* Compiled bytecode: the test processes and every Python process they start (CLI runs, servers) read and write it
  in one cache folder outside the work tree ($TMPDIR/c11-test-pycache-<uid>, or PYTHONPYCACHEPREFIX), also
  when PYTHONDONTWRITEBYTECODE is set: otherwise each of the suite's thousand-odd CLI runs compiles c11 anew.
* With `-n` and no `--dist`, xdist spreads tests by work stealing (module worlds built once; docs/testing.md).
* No test touches the real home: each pytest process points HOME and XDG_* at a temporary folder of its
  own (subprocesses inherit it), and a test after which the real ~/.config/c11 or ~/.local/share/c11*
  changed fails.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "server"))  # srvkit: the server test helpers

_MISSING = ("is not installed", "unreachable")
_REAL_HOME_VAR = "C11_TEST_REAL_HOME"  # the real home, kept for xdist workers that inherit the fake HOME
_XDG = {
    "XDG_CONFIG_HOME": ".config",
    "XDG_DATA_HOME": ".local/share",
    "XDG_CACHE_HOME": ".cache",
    "XDG_STATE_HOME": ".local/state",
}
_WATCHED = (".config/c11", ".local/share/c11", ".local/share/c11-shard-store")
_fake_home: Path | None = None
_real_home_key = pytest.StashKey[tuple[Path, dict[str, tuple[int, int]]]]()


def _snapshot(home: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime) of every file and folder under the watched c11 folders of `home`."""
    seen: dict[str, tuple[int, int]] = {}
    for rel in _WATCHED:
        for path in [home / rel, *(home / rel).rglob("*")] if (home / rel).exists() else []:
            st = path.lstat()
            seen[str(path)] = (st.st_size, st.st_mtime_ns)
    return seen


def pytest_configure(config: pytest.Config) -> None:
    """Point HOME and XDG_* at a fresh temporary folder for this process, before any test module loads."""
    global _fake_home
    real = os.environ.setdefault(_REAL_HOME_VAR, os.path.expanduser("~"))
    _fake_home = Path(tempfile.mkdtemp(prefix="c11-test-home-"))
    os.environ["HOME"] = str(_fake_home)
    for var, rel in _XDG.items():
        os.environ[var] = str(_fake_home / rel)
    for var in ("C11_CONFIG_DIR", "C11_DATA_DIR", "C11_IDENTITY", "C11_TOKEN", "C11_SERVER"):
        os.environ.pop(var, None)  # an operator's own settings must not steer the tests
    from srvkit import TEST_SCRYPT_ENV, TEST_SCRYPT_LOG_N

    os.environ[TEST_SCRYPT_ENV] = TEST_SCRYPT_LOG_N  # cheap key files (c11.keys.keyfile.ScryptCost.default)
    _share_default_ssl_context()
    _cache_bytecode()
    _steal_work(config)
    config.stash[_real_home_key] = (Path(real), _snapshot(Path(real)))


def _steal_work(config: pytest.Config) -> None:
    """With `-n` and no `--dist` given, spread tests with xdist's worksteal: each worker starts on a contiguous
    half and an idle one takes half of the other's queue, so a module's tests mostly run on one worker and its
    module-scoped world is built once (`--dist load` starts round-robin: both workers built it)."""
    given = any(a == "-d" or a.startswith(("--dist", "--tx")) for a in map(str, config.invocation_params.args))
    if config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") == "load" and not given:
        config.option.dist = "worksteal"


def _share_default_ssl_context() -> None:
    """Make httpx clients of this process with default TLS settings (verify=True, no client certificate) share
    one context, built by httpx itself for the same SSL_CERT_FILE/SSL_CERT_DIR (rebuilt if those change)."""
    try:
        from httpx._transports import default
    except ImportError:
        return
    build = default.create_ssl_context
    built: dict[tuple[bool, str | None, str | None], Any] = {}

    def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
        if verify is not True or cert is not None:
            return build(verify=verify, cert=cert, trust_env=trust_env)
        key = (trust_env, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        if key not in built:
            built[key] = build(verify=True, trust_env=trust_env)
        return built[key]

    default.create_ssl_context = create_ssl_context


def _cache_bytecode() -> None:
    """Compile each module once per change, not once per process: bytecode goes to a cache folder outside the
    work tree (Python checks each cached file against its source's mtime and size), for this process from now
    on and for every subprocess, which inherits the environment."""
    prefix = os.environ.get("PYTHONPYCACHEPREFIX") or str(
        Path(tempfile.gettempdir()) / f"c11-test-pycache-{os.getuid()}"
    )
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.pycache_prefix = prefix
    sys.dont_write_bytecode = False


def pytest_unconfigure(config: pytest.Config) -> None:
    if _fake_home is not None:
        shutil.rmtree(_fake_home, ignore_errors=True)


@pytest.fixture(autouse=True)
def _real_home_untouched(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if it created, changed or removed anything in the real home's c11 folders."""
    yield
    real, before = request.config.stash[_real_home_key]
    after = _snapshot(real)
    if after != before:
        changed = sorted(set(after.items()) ^ set(before.items()))
        request.config.stash[_real_home_key] = (real, after)  # report each change once
        pytest.fail(f"test touched the real home {real}: {[p for p, _ in changed][:5]}", pytrace=False)


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
