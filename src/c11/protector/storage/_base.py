"""The `Storage` protocol every backend implements, its object metadata and its typed errors.

Keys are relative POSIX paths ("folder/report.docx"): no leading "/", no empty, "." or ".." part, no NUL.
Listings are paged by the backend and yielded lazily, so a bucket of millions of objects is never held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import BinaryIO, Protocol, runtime_checkable

from c11.errors import C11Error

#: the page size `list` asks the backend for unless told otherwise
DEFAULT_PAGE_SIZE = 1000


class StorageError(C11Error):
    """A storage backend refused or failed an operation (the message names the connection's key, never a secret)."""


class NotFound(StorageError):  # noqa: N818 - the name the protocol documents
    """The object (or the location itself) does not exist."""


class PreconditionFailed(StorageError):  # noqa: N818
    """A conditional write or delete lost: the object changed (if_match) or already exists (if_none_match)."""


class AuthFailed(StorageError):  # noqa: N818
    """The backend refused the connection's credentials or their permissions."""


class ChangesUnsupported(StorageError):  # noqa: N818
    """The backend has no change feed (delta API): compare listings by ETag/mtime instead."""


class InvalidKey(StorageError, ValueError):  # noqa: N818
    """An object key is not a clean relative path (absolute, empty part, "..", NUL, too long)."""


@dataclass(frozen=True)
class ObjectInfo:
    """What a backend says about one object: `etag` changes whenever the content does (an opaque string to hand
    back as `if_match`); `mtime` is timezone-aware UTC; `deleted` is set only by `changes` for a removal."""

    key: str
    size: int
    mtime: datetime | None = None
    etag: str | None = None
    content_type: str | None = None
    version_id: str | None = None
    deleted: bool = False


@runtime_checkable
class Storage(Protocol):
    """One storage location (a connection opened by `open_storage`).

    Writes are conditional where the backend can: `if_match` (an etag from `stat`/`list`) fails with
    `PreconditionFailed` if the object changed since; `if_none_match=True` fails if the key exists. A write is
    never visible half-done: the object is either the old content or the complete new one."""

    #: the URL scheme this backend serves ("file", "s3", "smb", "az", "gs")
    scheme: str

    def list(self, prefix: str = "", *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix` (a folder prefix ends with "/"), fetched page by page.

        Order is the backend's; folders themselves are not objects."""
        ...

    def stat(self, key: str) -> ObjectInfo:
        """The object's metadata; `NotFound` if it does not exist."""
        ...

    def open_read(self, key: str) -> BinaryIO:
        """A binary stream of the object's content (the caller closes it); `NotFound` if it does not exist."""
        ...

    def write(
        self,
        key: str,
        data: bytes | BinaryIO,
        *,
        content_type: str | None = None,
        if_match: str | None = None,
        if_none_match: bool = False,
        mtime: datetime | None = None,
    ) -> ObjectInfo:
        """Create or replace the object with `data` (bytes, or a stream read to its end) and return its new info.

        `mtime`, where the backend lets a client set it (file://, SMB), becomes the object's modified time."""
        ...

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Remove the object (`NotFound` if absent; `PreconditionFailed` if `if_match` is stale)."""
        ...

    def versioning_enabled(self) -> bool:
        """Whether the backend keeps earlier versions of an object it replaces or deletes."""
        ...

    @property
    def supports_changes(self) -> bool:
        """Whether `changes` works (the backend has a delta API or change feed)."""
        ...

    def changes(self, cursor: str | None) -> tuple[Iterator[ObjectInfo], str]:
        """Objects changed since `cursor` (None: every object) and the cursor to pass next time; deleted objects
        come with `deleted=True`. Consume the iterator fully before using the new cursor.
        `ChangesUnsupported` where the backend has no change feed."""
        ...

    def close(self) -> None:
        """Release connections and sessions (the object cannot be used after)."""
        ...

    def __enter__(self) -> Storage: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


#: the longest key accepted (S3's and Azure's limit is 1024 bytes)
MAX_KEY_BYTES = 1024


def check_key(key: str) -> str:
    """`key` if it is a clean relative object key, else `InvalidKey` (never lets a key climb out of the root)."""
    if not key or key.startswith("/") or "\\" in key or "\x00" in key or len(key.encode()) > MAX_KEY_BYTES:
        raise InvalidKey(f"not a valid object key: {key[:80]!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidKey(f"not a valid object key (empty, '.' or '..' part): {key[:80]!r}")
    return key


def check_prefix(prefix: str) -> str:
    """`prefix` if it is "" or a clean key prefix (a folder prefix may end with "/")."""
    if prefix:
        check_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def read_all(storage: Storage, key: str, *, limit: int) -> bytes:
    """The whole content of `key`, at most `limit` bytes (`StorageError` if it is larger: bound every read)."""
    with storage.open_read(key) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise StorageError(f"{key}: larger than the {limit}-byte limit")
    return data
