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
