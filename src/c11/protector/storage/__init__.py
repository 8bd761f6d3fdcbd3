"""Storage backends behind one `Storage` protocol, and `open_storage` that opens a connection's location.

Backends: `file://` (folders), `s3://` (S3 and S3-compatible), `smb://` (SMB shares), `azure://` (Azure Blob
Storage) and `gs://` (Google Cloud Storage); each is imported only when a connection uses it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from c11.protector.storage._base import (
    DEFAULT_PAGE_SIZE,
    AuthFailed,
    ChangesUnsupported,
    InvalidKey,
    NotFound,
    ObjectInfo,
    PreconditionFailed,
    Storage,
    StorageError,
    check_key,
    read_all,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "SCHEMES",
    "AuthFailed",
    "ChangesUnsupported",
    "InvalidKey",
    "Location",
    "NotFound",
    "ObjectInfo",
    "PreconditionFailed",
    "Storage",
    "StorageError",
    "check_key",
    "open_storage",
    "read_all",
]

#: URL scheme -> module holding its `open_location(location) -> Storage`
SCHEMES: dict[str, str] = {
    "file": "c11.protector.storage._file",
    "s3": "c11.protector.storage._s3",
    "gs": "c11.protector.storage._gcs",
    "smb": "c11.protector.storage._smb",
    "azure": "c11.protector.storage._azure",
}


class Location(Protocol):
    """What `open_storage` needs of a connection: its URL, options and secrets (c11.protector.connections)."""

    @property
    def url(self) -> str: ...

    @property
    def options(self) -> Mapping[str, str]: ...

    @property
    def secrets(self) -> Mapping[str, str]: ...


def open_storage(connection: Location) -> Storage:
    """The `Storage` for `connection`'s URL (`StorageError` for an unknown scheme, `AuthFailed` for refused
    credentials where the backend checks them on connecting)."""
    scheme = urlsplit(connection.url).scheme.lower()
    module = SCHEMES.get(scheme)
    if module is None:
        known = ", ".join(f"{s}://" for s in SCHEMES)
        raise StorageError(f"unsupported storage URL scheme {scheme + '://' if scheme else '(none)'}; use {known}")
    opener = importlib.import_module(module).open_location
    storage: Storage = opener(connection)
    return storage


def url_path(url: str) -> str:
    """The unquoted path of `url` (the part after host), without its leading and trailing "/"."""
    return unquote(urlsplit(url).path).strip("/")
