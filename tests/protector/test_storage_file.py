"""The file:// backend: the storage contract, crash safety of writes, and keys that try to leave the folder."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from _contract import check_scan, check_storage

from c11.protector.connections import Connection
from c11.protector.storage import ChangesUnsupported, InvalidKey, NotFound, StorageError, open_storage
from c11.protector.storage._file import TMP_PREFIX, FileStorage


def _open(root: Path) -> FileStorage:
    s = open_storage(Connection(name="local", url=root.as_uri()))
    assert isinstance(s, FileStorage)
    return s


def test_contract(tmp_path: Path) -> None:
    with _open(tmp_path) as s:
        check_storage(s)
        assert s.versioning_enabled() is False and s.supports_changes is False
        with pytest.raises(ChangesUnsupported):
            s.changes(None)


def test_write_keeps_mtime_and_leaves_no_temp_file(tmp_path: Path) -> None:
    s = _open(tmp_path)
    when = datetime(2020, 5, 17, 12, 30, tzinfo=UTC)
    info = s.write("x/report.docx", b"data", mtime=when)
    assert info.mtime == when
    assert info.content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["report.docx"]


def test_failed_write_keeps_the_original(tmp_path: Path) -> None:
    """A stream that fails half-way leaves the old content and no temporary file."""
    s = _open(tmp_path)
    s.write("f.txt", b"original")

    class Broken:
        def read(self, n: int = -1) -> bytes:
            raise OSError(5, "Input/output error")

    with pytest.raises(StorageError):
        s.write("f.txt", Broken())  # type: ignore[arg-type]
    assert (tmp_path / "f.txt").read_bytes() == b"original"
    assert sorted(os.listdir(tmp_path)) == ["f.txt"]


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    """A link inside the folder to a file or folder outside is neither listed nor read nor written through."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.txt").symlink_to(outside / "secret.txt")
    (root / "linkdir").symlink_to(outside)
    (root / f"{TMP_PREFIX}abc").write_text("half-written")
    s = _open(root)
    assert list(s.list()) == []
    with pytest.raises(NotFound):
        s.open_read("link.txt")
    with pytest.raises(InvalidKey):
        s.open_read("linkdir/secret.txt")
    with pytest.raises(InvalidKey):
        s.write("linkdir/new.txt", b"x")
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_bad_urls(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        open_storage(Connection(name="x", url=(tmp_path / "missing").as_uri()))
    with pytest.raises(InvalidKey):
        open_storage(Connection(name="x", url="file://server/share"))
    with pytest.raises(StorageError, match="unsupported storage URL scheme ftp://"):
        open_storage(Connection(name="x", url="ftp://host/x"))


def test_scan(tmp_path: Path) -> None:
    check_scan(_open(tmp_path))
