"""The smb:// backend against a private Samba smbd: the storage contract, a wrong password refused, a scan,
and modified times kept."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest
from _contract import check_scan, check_storage
from _servers import Samba

from c11.protector.connections import Connection
from c11.protector.storage import AuthFailed, NotFound, open_storage


def _conn(samba: Samba, root: str, password: str | None = None, share: str | None = None) -> Connection:
    return Connection(
        name="smb",
        url=f"smb://127.0.0.1:{samba.port}/{share or samba.share}/{root}",
        options={"username": samba.username},
        secrets={"password": password or samba.password},
    )


def test_contract(samba: Samba) -> None:
    root = f"contract-{secrets.token_hex(4)}"
    (samba.root / root).mkdir()
    with open_storage(_conn(samba, root)) as s:
        check_storage(s)
        when = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
        assert s.write("kept.txt", b"x", mtime=when).mtime == when
    assert sorted(p.name for p in (samba.root / root).iterdir()) == ["docs", "docsx", "kept.txt", "new.bin"]


def test_wrong_password_and_missing_share(samba: Samba) -> None:
    with pytest.raises(AuthFailed, match="logon refused"):
        open_storage(_conn(samba, "", password="not-the-password"))
    with pytest.raises(NotFound):
        open_storage(_conn(samba, "", share="nosuchshare"))


def test_scan(samba: Samba) -> None:
    root = f"scan-{secrets.token_hex(4)}"
    (samba.root / root).mkdir()
    with open_storage(_conn(samba, root)) as s:
        check_scan(s)
