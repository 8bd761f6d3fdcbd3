"""The azure:// backend against Azurite: the storage contract with shared-key auth, a wrong key refused, a scan."""

from __future__ import annotations

import base64
import secrets

import pytest
from _contract import check_scan, check_storage
from _servers import Azurite

from c11.protector.connections import Connection
from c11.protector.storage import AuthFailed, NotFound, open_storage


def _conn(az: Azurite, root: str, key: str | None = None, container: str | None = None) -> Connection:
    return Connection(
        name="az",
        url=f"azure://{az.account}/{container or az.container}/{root}",
        options={"endpoint": az.endpoint},
        secrets={"account_key": key or az.key},
    )


def test_contract(azurite: Azurite) -> None:
    with open_storage(_conn(azurite, f"contract-{secrets.token_hex(4)}")) as s:
        check_storage(s)
        assert s.versioning_enabled() is False


def test_wrong_key_and_missing_container(azurite: Azurite) -> None:
    wrong = base64.b64encode(secrets.token_bytes(32)).decode()
    with open_storage(_conn(azurite, "x", key=wrong)) as s, pytest.raises(AuthFailed, match="refused"):
        list(s.list())
    with open_storage(_conn(azurite, "", container="no-such-container")) as s, pytest.raises(NotFound):
        list(s.list())


def test_scan(azurite: Azurite) -> None:
    with open_storage(_conn(azurite, f"scan-{secrets.token_hex(4)}")) as s:
        check_scan(s)
