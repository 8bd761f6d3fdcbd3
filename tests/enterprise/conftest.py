"""Fixtures of the enterprise key server tests: a SoftHSM2 token, the test IdP (tests/server/fake_idp.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # entkit: the helpers

from entkit import PIN, SOFTHSM_MODULE, Hsm  # noqa: E402


@pytest.fixture(scope="session")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> Hsm:
    """One SoftHSM2 token for the session; tests make their own key labels in it."""
    if shutil.which("softhsm2-util") is None or not Path(SOFTHSM_MODULE).exists():
        pytest.skip("SoftHSM2 is not installed (deps/apt.txt: softhsm2)")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # read by the PKCS#11 module when it is loaded
    subprocess.run(
        ["softhsm2-util", "--init-token", "--free", "--label", "c11-test", "--pin", PIN, "--so-pin", "1234-so"],
        check=True,
        capture_output=True,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    return Hsm(conf, "c11-test")


@pytest.fixture(scope="session")
def idp() -> Iterator[Any]:
    """The test OpenID provider (tests/server/fake_idp.py: discovery, JWKS, RS256 tokens) on loopback."""
    from fake_idp import FakeIdP
    from srvkit import loopback_socket, serve_in_thread

    provider = FakeIdP()
    sock = loopback_socket()
    provider.issuer = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server, thread = serve_in_thread(provider.app(), sock)
    yield provider
    server.should_exit = True
    thread.join(timeout=10)
