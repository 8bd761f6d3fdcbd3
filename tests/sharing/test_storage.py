"""The blob store on both backends (a local folder and S3 on a real SeaweedFS), through the same tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import s3_config
from srvkit import server_config
from weedkit import Weed

from c11.server.storage import BlobStore, StorageError, open_store
from c11.server.storage.s3 import MIN_PART

PART = MIN_PART  # S3's smallest part (but the last)


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "folder":
        cfg = server_config(tmp_path / "data", "sqlite://")
        yield open_store(replace(cfg, storage_url=f"file://{tmp_path / 'blobs'}"))
    else:
        yield open_store(s3_config(request.getfixturevalue("weed"), tmp_path / "data"))


def _join(chunks: Iterator[bytes]) -> bytes:
    return b"".join(chunks)


def test_parts_tail_complete_and_ranges(store: BlobStore) -> None:
    data = os.urandom(2 * PART + 1234)
    handle = store.begin("blobs/a1")
    p1 = store.put_part("blobs/a1", handle, 1, data[:PART])
    store.put_tail("blobs/a1", handle, data[PART : PART + 10])
    assert store.get_tail("blobs/a1", handle) == data[PART : PART + 10]
    assert store.size("blobs/a1") is None  # nothing visible before completion
    p2 = store.put_part("blobs/a1", handle, 2, data[PART : 2 * PART])
    store.put_tail("blobs/a1", handle, b"")
    assert store.get_tail("blobs/a1", handle) == b""
    p3 = store.put_part("blobs/a1", handle, 3, data[2 * PART :])
    assert any(i.handle == handle for i in store.incomplete())
    store.complete("blobs/a1", handle, [p1, p2, p3], len(data))
    assert not any(i.handle == handle for i in store.incomplete())
    assert store.size("blobs/a1") == len(data)
    assert _join(store.read("blobs/a1")) == data
    assert _join(store.read("blobs/a1", 5, 17)) == data[5:17]
    assert _join(store.read("blobs/a1", PART - 3)) == data[PART - 3 :]
    store.delete("blobs/a1")
    assert store.size("blobs/a1") is None


def test_wrong_size_leaves_nothing_visible(store: BlobStore) -> None:
    handle = store.begin("blobs/a2")
    p1 = store.put_part("blobs/a2", handle, 1, b"x" * 100)
    with pytest.raises(StorageError, match="not 101"):
        store.complete("blobs/a2", handle, [p1], 101)
    assert store.size("blobs/a2") is None
    store.abort("blobs/a2", handle)
    assert not any(i.handle == handle for i in store.incomplete())


def test_bad_keys_are_refused(store: BlobStore) -> None:
    for key in ("../etc/passwd", "a//b", "A", ""):
        with pytest.raises(StorageError):
            store.begin(key)


def test_wrong_credentials_are_refused_by_seaweedfs(weed: Weed, tmp_path: Path) -> None:
    """Our credentials are the ones in use: SeaweedFS refuses the same store with another secret."""
    bad = open_store(replace(s3_config(weed, tmp_path / "data"), s3_secret_access_key="wrong-secret"))
    with pytest.raises(StorageError, match="SignatureDoesNotMatch"):
        bad.begin("blobs/x")
    unknown = open_store(replace(s3_config(weed, tmp_path / "data"), s3_access_key_id="nobody"))
    with pytest.raises(StorageError, match="InvalidAccessKeyId"):
        unknown.begin("blobs/x")
