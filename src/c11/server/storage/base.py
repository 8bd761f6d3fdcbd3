"""The blob store interface: a blob is written as numbered parts of a multipart upload, becomes an object only
when completed with the right size, and is read back as a stream (with byte ranges).

At most one part of an upload is in memory at a time (the caller hands over one part; backends never hold two).
An upload that is never completed stays invisible (`incomplete` lists it for the cleanup, `abort` removes it).
The bytes of a part not yet full when a request ends are kept as the upload's *tail* (`put_tail`), so an upload
resumes at any byte offset (as tusd's S3 store does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from c11.errors import C11Error

#: Object keys: lower-case letters, digits, '-', '_' and '/' separators (the server makes them; never a name).
KEY_RE = re.compile(r"[a-z0-9_-]+(/[a-z0-9_-]+)*")
#: Size of the chunks `read` yields.
READ_CHUNK = 256 * 1024


class StorageError(C11Error):
    """The storage backend refused or failed (the message names no secret)."""


@dataclass(frozen=True)
class Part:
    """A stored part of an upload: its number (from 1), size in bytes and the backend's tag (ETag)."""

    number: int
    size: int
    etag: str


@dataclass(frozen=True)
class Incomplete:
    """An upload begun and neither completed nor aborted: `key`, backend `handle`, when it began."""

    key: str
    handle: str
    started: datetime


def check_key(key: str) -> str:
    if not KEY_RE.fullmatch(key) or len(key) > 512:
        raise StorageError(f"bad object key {key!r}")
    return key


class BlobStore(Protocol):
    """What the upload and sharing services need from a storage backend."""

    #: Smallest part size the backend accepts (except for the last part): S3's is 5 MiB.
    min_part_size: int
    #: Where the objects are, for messages (no credentials).
    description: str

    def begin(self, key: str) -> str:
        """Start a multipart upload of object `key`; returns the backend's handle for it."""

    def put_part(self, key: str, handle: str, number: int, data: bytes | bytearray) -> Part:
        """Store part `number` (from 1) of the upload (`data` is not kept after the call)."""

    def put_tail(self, key: str, handle: str, data: bytes) -> None:
        """Keep `data` (less than a part) as the upload's tail; empty `data` drops the tail."""

    def get_tail(self, key: str, handle: str) -> bytes:
        """The upload's tail (b"" when none)."""

    def complete(self, key: str, handle: str, parts: Sequence[Part], size: int) -> None:
        """Assemble `parts` into object `key`; `StorageError` (and nothing visible) unless its size is `size`."""

    def abort(self, key: str, handle: str) -> None:
        """Drop an upload that will not be completed, with its parts and tail (no error if already gone)."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes [start, end) of object `key` (end None: to its end), as chunks."""

    def size(self, key: str) -> int | None:
        """The size of object `key`, or None when there is none."""

    def delete(self, key: str) -> None:
        """Remove object `key` (no error if already gone)."""

    def incomplete(self) -> Iterator[Incomplete]:
        """Every upload begun and not completed or aborted (for the cleanup of abandoned uploads)."""
