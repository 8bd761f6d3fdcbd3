"""The s3:// backend against SeaweedFS: the storage contract, refused credentials, a prefix as the root."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from _contract import check_scan, check_storage

from c11.protector.connections import Connection
from c11.protector.storage import AuthFailed, NotFound, open_storage


def _conn(weed: Any, root: str, secret: str | None = None, bucket: str | None = None) -> Connection:
    return Connection(
        name="s3",
        url=f"s3://{bucket or weed.bucket}/{root}",
        options={"endpoint": weed.endpoint, "access_key_id": weed.access_key},
        secrets={"secret_access_key": secret or weed.secret_key},
    )


def test_contract(weed: Any) -> None:
    root = f"contract-{secrets.token_hex(4)}"
    with open_storage(_conn(weed, root)) as s:
        check_storage(s)
        assert s.versioning_enabled() is False
    # the root prefix confines the connection: a sibling prefix's objects are not listed
    with open_storage(_conn(weed, root + "x")) as other:
        assert list(other.list()) == []


def test_wrong_secret_is_refused(weed: Any) -> None:
    with open_storage(_conn(weed, "x", secret="not-the-secret")) as s, pytest.raises(AuthFailed, match="refused"):
        list(s.list())
    with open_storage(_conn(weed, "x", bucket="no-such-bucket")) as s, pytest.raises(NotFound):
        list(s.list())


def test_scan(weed: Any) -> None:
    with open_storage(_conn(weed, f"scan-{secrets.token_hex(4)}")) as s:
        check_scan(s)


def test_cli_refuses_a_wrong_secret(weed: Any, tmp_path: Any) -> None:
    """`connect` checks the location first: a wrong secret is refused in one line that does not quote it, and
    nothing is saved."""
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "C11_PROTECTOR_DIR": str(tmp_path),
        "C11_PROTECTOR_PASSPHRASE": "pw",
        "C11_PROTECTOR_BUCKET_SECRET_ACCESS_KEY": "wrong-secret-value-123",
    }
    args = ["connect", "bucket", f"s3://{weed.bucket}/x", "--endpoint", weed.endpoint]
    args += ["-o", f"access_key_id={weed.access_key}"]
    r = subprocess.run(
        [sys.executable, "-m", "c11.cli.main", "protector", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert r.returncode == 1 and "access refused" in r.stderr, r.stderr
    assert "wrong-secret-value-123" not in r.stderr + r.stdout and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "connections.json").exists()
    env["C11_PROTECTOR_BUCKET_SECRET_ACCESS_KEY"] = weed.secret_key
    r = subprocess.run(
        [sys.executable, "-m", "c11.cli.main", "protector", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert weed.secret_key.encode() not in (tmp_path / "connections.json").read_bytes()
    assert weed.secret_key.encode() not in (tmp_path / "secrets.enc").read_bytes()
