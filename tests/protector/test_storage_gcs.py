"""The gs:// backend against gcp-storage-emulator: the storage contract (generations as etags) and a scan."""

from __future__ import annotations

import secrets

import pytest
from _contract import check_scan, check_storage
from _servers import GCS

from c11.protector.connections import Connection
from c11.protector.storage import NotFound, open_storage


def _conn(gcs: GCS, root: str, bucket: str | None = None) -> Connection:
    return Connection(name="gcs", url=f"gs://{bucket or gcs.bucket}/{root}", options={"endpoint": gcs.endpoint})


def test_contract(gcs: GCS) -> None:
    with open_storage(_conn(gcs, f"contract-{secrets.token_hex(4)}")) as s:
        check_storage(s)
        assert s.stat("docs/b.csv").etag.isdigit()  # type: ignore[union-attr]


def test_scan_and_missing_bucket(gcs: GCS) -> None:
    with open_storage(_conn(gcs, f"scan-{secrets.token_hex(4)}")) as s:
        check_scan(s)
    with open_storage(_conn(gcs, "", bucket="no-such-bucket")) as s, pytest.raises(NotFound):
        list(s.list())
