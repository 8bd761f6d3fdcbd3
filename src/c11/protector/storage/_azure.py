"""The `azure://account/container/prefix` backend: Azure Blob Storage through `azure-storage-blob`.

Secret: `account_key` (shared-key auth) or `sas_token`; option `endpoint` for Azurite or a sovereign cloud
(default `https://ACCOUNT.blob.core.windows.net`). Writes and deletes are conditional on the blob's ETag
(`If-Match`), creation on its absence (`If-None-Match: *`), both enforced by the service.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn
from urllib.parse import unquote, urlsplit

from azure.core import MatchConditions
from azure.core import exceptions as ax
from azure.storage.blob import ContainerClient, ContentSettings

from c11.protector.storage._base import (
    DEFAULT_PAGE_SIZE,
    AuthFailed,
    ChangesUnsupported,
    InvalidKey,
    NotFound,
    ObjectInfo,
    PreconditionFailed,
    StorageError,
    check_key,
    check_prefix,
)

if TYPE_CHECKING:
    from c11.protector.storage import Location

#: the largest blob one upload call sends in a single request; larger ones go in blocks
_SINGLE_PUT = 64 << 20


def _fail(e: BaseException, what: str) -> NoReturn:
    """Raise the typed error for an azure-core failure about `what`."""
    if isinstance(e, StorageError):
        raise e
    if isinstance(e, ax.ResourceNotFoundError):
        raise NotFound(f"{what}: no such blob or container")
    if isinstance(e, ax.ResourceExistsError | ax.ResourceModifiedError):
        raise PreconditionFailed(f"{what}: changed since it was read, or already exists")
    if isinstance(e, ax.ClientAuthenticationError):
        raise AuthFailed(f"{what}: access refused: check the account key (or SAS) and its permissions")
    if isinstance(e, ax.HttpResponseError):
        status = getattr(e, "status_code", None)
        if status == 403:
            raise AuthFailed(f"{what}: access refused: check the account key (or SAS) and its permissions")
        if status == 412:
            raise PreconditionFailed(f"{what}: changed since it was read")
        raise StorageError(f"{what}: Azure error {status or type(e).__name__}")
    if isinstance(e, ax.AzureError):
        raise StorageError(f"{what}: {type(e).__name__}")
    raise StorageError(f"{what}: {type(e).__name__}")


def _quoted(etag: str) -> str:
    """An etag as HTTP headers carry it (listings give it bare, properties quoted: `ObjectInfo` keeps it bare)."""
    return etag if etag.startswith('"') else f'"{etag}"'


class _Chunks(io.RawIOBase):
    """A blob download (its chunk iterator) as a raw binary stream."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class AzureStorage:
    """A container (under a prefix) as a `Storage`."""

    scheme = "azure"

    def __init__(self, container: ContainerClient, root: str = "") -> None:
        self.container = container
        self.root = root.strip("/") + "/" if root.strip("/") else ""

    def _k(self, key: str) -> str:
        return self.root + check_key(key)

    @staticmethod
    def _info(key: str, p: Any) -> ObjectInfo:
        settings = getattr(p, "content_settings", None)
        return ObjectInfo(
            key=key,
            size=int(p.size),
            mtime=p.last_modified,
            etag=(p.etag or "").strip('"') or None,
            content_type=getattr(settings, "content_type", None),
            version_id=getattr(p, "version_id", None),
        )

    def list(self, prefix: str = "", *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[ObjectInfo]:
        """List Blobs, `page_size` per request (at most 5,000), continuation marker by marker."""
        check_prefix(prefix)
        try:
            pages = self.container.list_blobs(name_starts_with=self.root + prefix, results_per_page=page_size)
            for p in pages:
                key = p.name[len(self.root) :]
                if key and not key.endswith("/"):
                    yield self._info(key, p)
        except Exception as e:
            _fail(e, f"azure {self.container.container_name}/{self.root}{prefix}")

    def stat(self, key: str) -> ObjectInfo:
        """Get Blob Properties."""
        k = self._k(key)
        try:
            p = self.container.get_blob_client(k).get_blob_properties()
        except Exception as e:
            _fail(e, key)
        return self._info(key, p)

    def open_read(self, key: str) -> BinaryIO:
        """The blob's content, downloaded in chunks as it is read (pinned to the ETag it had when opened)."""
        k = self._k(key)
        try:
            dl = self.container.get_blob_client(k).download_blob()
        except Exception as e:
            _fail(e, key)
        return io.BufferedReader(_Chunks(iter(dl.chunks())), buffer_size=1 << 20)

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
        """Put Blob (or blocks, then Put Block List, for large streams: the blob appears whole at the end)."""
        blob = self.container.get_blob_client(self._k(key))
        kw: dict[str, Any] = {"overwrite": not if_none_match, "max_concurrency": 2}
        if content_type:
            kw["content_settings"] = ContentSettings(content_type=content_type)
        if mtime is not None:
            kw["metadata"] = {"mtime": f"{mtime.timestamp():.9f}"}
        if if_match is not None and not if_none_match:
            kw["etag"] = _quoted(if_match)
            kw["match_condition"] = MatchConditions.IfNotModified
        try:
            blob.upload_blob(bytes(data) if isinstance(data, bytes | bytearray | memoryview) else data, **kw)
        except Exception as e:
            _fail(e, key)
        return self.stat(key)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete Blob (If-Match when `if_match` is given)."""
        kw: dict[str, Any] = {}
        if if_match is not None:
            kw = {"etag": _quoted(if_match), "match_condition": MatchConditions.IfNotModified}
        try:
            self.container.get_blob_client(self._k(key)).delete_blob(**kw)
        except Exception as e:
            _fail(e, key)

    def versioning_enabled(self) -> bool:
        """Whether blobs of the container carry version ids (blob versioning is an account setting the data plane
        does not report; a listing with versions shows it)."""
        try:
            for p in self.container.list_blobs(name_starts_with=self.root, include=["versions"], results_per_page=1):
                return getattr(p, "version_id", None) is not None
        except Exception as e:
            _fail(e, f"azure {self.container.container_name}")
        return False

    @property
    def supports_changes(self) -> bool:
        """The change feed needs the account's management plane: compare listings by ETag instead."""
        return False

    def changes(self, cursor: str | None) -> tuple[Iterator[ObjectInfo], str]:
        """`ChangesUnsupported`: compare listings by ETag."""
        raise ChangesUnsupported("the Azure change feed is not used: compare listings by ETag")

    def close(self) -> None:
        """Close the client's HTTP pipeline."""
        self.container.close()

    def __enter__(self) -> AzureStorage:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_location(location: Location) -> AzureStorage:
    """A container client for `azure://account/container/prefix` with the account key (or a SAS token)."""
    parts = urlsplit(location.url)
    account = parts.netloc
    container, _, root = unquote(parts.path).strip("/").partition("/")
    if not account or not container:
        raise InvalidKey(
            f"an Azure URL names account and container: azure://ACCOUNT/CONTAINER/prefix, not {location.url[:80]!r}"
        )
    endpoint = location.options.get("endpoint") or f"https://{account}.blob.core.windows.net"
    secrets = location.secrets
    credential: Any = None
    if secrets.get("account_key"):
        credential = {"account_name": account, "account_key": secrets["account_key"]}
    elif secrets.get("sas_token"):
        credential = secrets["sas_token"]
    try:
        client = ContainerClient(
            account_url=endpoint,
            container_name=container,
            credential=credential,
            max_single_put_size=_SINGLE_PUT,
            connection_timeout=30,
            read_timeout=120,
        )
    except ValueError:
        raise AuthFailed(f"azure://{account}: the account key is not valid base64") from None
    return AzureStorage(client, root)
