"""The local folder backend: objects in `<root>/objects/<key>`, uploads in `<root>/incoming/<handle>/`.

Each part is a file (`00001`...); `complete` streams the parts into one file in the upload's folder, checks its
size, fsyncs it and renames it into place, so an object appears whole or not at all.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from c11.server.storage.base import READ_CHUNK, Incomplete, Part, StorageError, check_key

_STARTED = "key"  # the file in an upload's folder naming its object key


class FolderStore:
    """Blobs in a local folder (the embedded default: `<data-dir>/blobs`)."""

    min_part_size = 1

    def __init__(self, root: Path) -> None:
        self.root = root
        self.description = f"folder {root}"

    def _object(self, key: str) -> Path:
        return self.root / "objects" / check_key(key)

    def _upload(self, handle: str) -> Path:
        if not handle.isalnum() or len(handle) > 64:
            raise StorageError("bad upload handle")
        return self.root / "incoming" / handle

    def begin(self, key: str) -> str:
        check_key(key)
        handle = secrets.token_hex(16)
        folder = self._upload(handle)
        folder.mkdir(parents=True)
        (folder / _STARTED).write_text(key)
        return handle

    def put_part(self, key: str, handle: str, number: int, data: bytes | bytearray) -> Part:
        folder = self._upload(handle)
        if not folder.is_dir():
            raise StorageError("no such upload")
        tmp = folder / f"{number:05d}.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / f"{number:05d}")
        return Part(number, len(data), f"{number}-{len(data)}")

    def put_tail(self, key: str, handle: str, data: bytes) -> None:
        folder = self._upload(handle)
        if not data:
            (folder / "tail").unlink(missing_ok=True)
            return
        tmp = folder / "tail.tmp"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / "tail")

    def get_tail(self, key: str, handle: str) -> bytes:
        try:
            return (self._upload(handle) / "tail").read_bytes()
        except FileNotFoundError:
            return b""

    def complete(self, key: str, handle: str, parts: Sequence[Part], size: int) -> None:
        folder = self._upload(handle)
        target = self._object(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        assembled = folder / "assembled"
        written = 0
        try:
            with open(assembled, "wb") as out:
                for part in sorted(parts, key=lambda p: p.number):
                    with open(folder / f"{part.number:05d}", "rb") as f:
                        while chunk := f.read(READ_CHUNK):
                            out.write(chunk)
                            written += len(chunk)
                out.flush()
                os.fsync(out.fileno())
        except FileNotFoundError:
            raise StorageError("a part of the upload is missing") from None
        if written != size:
            assembled.unlink(missing_ok=True)
            raise StorageError(f"the parts hold {written} bytes, not {size}")
        os.replace(assembled, target)
        shutil.rmtree(folder, ignore_errors=True)

    def abort(self, key: str, handle: str) -> None:
        shutil.rmtree(self._upload(handle), ignore_errors=True)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        try:
            f = open(self._object(key), "rb")  # closed by the generator
        except FileNotFoundError:
            raise StorageError("no such object") from None
        return _chunks(f, start, end)

    def size(self, key: str) -> int | None:
        try:
            return self._object(key).stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self._object(key).unlink(missing_ok=True)

    def incomplete(self) -> Iterator[Incomplete]:
        base = self.root / "incoming"
        if not base.is_dir():
            return
        for folder in base.iterdir():
            try:
                key = (folder / _STARTED).read_text()
                started = datetime.fromtimestamp((folder / _STARTED).stat().st_mtime, UTC)
            except OSError:
                continue
            yield Incomplete(key, folder.name, started)


def _chunks(f: BinaryIO, start: int, end: int | None) -> Iterator[bytes]:
    with f:
        f.seek(start)
        left = None if end is None else end - start
        while left is None or left > 0:
            chunk = f.read(READ_CHUNK if left is None else min(READ_CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk
