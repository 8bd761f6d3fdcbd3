"""The `gs://bucket/prefix` backend: Google Cloud Storage through `google-cloud-storage`.

Options: `endpoint` (an emulator: anonymous access), `project`; secret: `credentials_json` (a service account
key), else Application Default Credentials. An object's etag here is its *generation*, the number GCS changes on
every new content: conditional writes and deletes use `if_generation_match` (0: the object must not exist).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn
from urllib.parse import unquote, urlsplit

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


def _fail(e: Exception, what: str) -> NoReturn:
    """Raise the typed error for a google-api-core failure about `what`."""
    from google.api_core import exceptions as gx
    from google.auth import exceptions as ga

    if isinstance(e, StorageError):
        raise e
    if isinstance(e, gx.NotFound):
        raise NotFound(f"{what}: no such object or bucket")
    if isinstance(e, gx.PreconditionFailed):
        raise PreconditionFailed(f"{what}: changed since it was read, or already exists")
    if isinstance(e, gx.Forbidden | gx.Unauthorized | ga.GoogleAuthError):
        raise AuthFailed(f"{what}: access refused: check the credentials and the roles on the bucket")
    if isinstance(e, gx.GoogleAPIError):
        raise StorageError(f"{what}: Cloud Storage error {getattr(e, 'code', '') or type(e).__name__}")
    raise StorageError(f"{what}: {type(e).__name__}")


class GCSStorage:
    """A bucket (under a prefix) as a `Storage`."""

    scheme = "gs"

    def __init__(self, client: Any, bucket: str, root: str = "") -> None:
        self.client = client
        self.bucket = client.bucket(bucket)
        self.root = root.strip("/") + "/" if root.strip("/") else ""

    def _k(self, key: str) -> str:
        return self.root + check_key(key)

    def _info(self, key: str, blob: Any) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=int(blob.size or 0),
            mtime=blob.updated,
            etag=str(blob.generation),
            content_type=blob.content_type,
            version_id=str(blob.generation),
        )

    def list(self, prefix: str = "", *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[ObjectInfo]:
        """objects.list, `page_size` per request, page token by page token."""
        check_prefix(prefix)
        try:
            for blob in self.client.list_blobs(self.bucket, prefix=self.root + prefix, page_size=page_size):
                key = blob.name[len(self.root) :]
                if key and not key.endswith("/"):
                    yield self._info(key, blob)
        except Exception as e:
            _fail(e, f"gs://{self.bucket.name}/{self.root}{prefix}")

    def stat(self, key: str) -> ObjectInfo:
        """objects.get (metadata)."""
        k = self._k(key)
        try:
            blob = self.bucket.get_blob(k)
        except Exception as e:
            _fail(e, key)
        if blob is None:
            raise NotFound(f"{key}: no such object")
        return self._info(key, blob)

    def open_read(self, key: str) -> BinaryIO:
        """The object's content at its current generation, streamed in chunks."""
        info = self.stat(key)
        blob = self.bucket.blob(self._k(key), generation=int(info.etag or 0) or None)
        try:
            reader: BinaryIO = blob.open("rb", chunk_size=1 << 20)
        except Exception as e:
            _fail(e, key)
        return reader

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
        """An upload (resumable for large streams), conditional on the generation; `mtime` kept as metadata."""
        blob = self.bucket.blob(self._k(key))
        if mtime is not None:
            blob.metadata = {"mtime": f"{mtime.timestamp():.9f}"}
        cond: dict[str, int] = {}
        if if_none_match:
            cond["if_generation_match"] = 0
        elif if_match is not None:
            if not if_match.isdigit():
                raise PreconditionFailed(f"{key}: {if_match!r} is not a generation of this object")
            cond["if_generation_match"] = int(if_match)
        self._precheck(key, cond.get("if_generation_match"))
        ctype = content_type or "application/octet-stream"
        try:
            if isinstance(data, bytes | bytearray | memoryview):
                blob.upload_from_string(bytes(data), content_type=ctype, **cond)
            else:
                blob.upload_from_file(data, content_type=ctype, **cond)
        except Exception as e:
            _fail(e, key)
        return self._info(key, blob) if blob.generation else self.stat(key)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """objects.delete, conditional on the generation when `if_match` is given."""
        cond: dict[str, int] = {}
        if if_match is not None:
            if not if_match.isdigit():
                raise PreconditionFailed(f"{key}: {if_match!r} is not a generation of this object")
            cond["if_generation_match"] = int(if_match)
        self._precheck(key, cond.get("if_generation_match"))
        try:
            self.bucket.blob(self._k(key)).delete(**cond)
        except Exception as e:
            _fail(e, key)

    def _precheck(self, key: str, generation: int | None) -> None:
        """Check a precondition before sending it too: Cloud Storage enforces `if_generation_match` itself
        (atomically), emulators may not; the early check keeps the contract there as well."""
        if generation is None:
            return
        try:
            current = int(self.stat(key).etag or 0)
        except NotFound:
            current = 0
        if current != generation:
            raise PreconditionFailed(
                f"{key}: " + ("already exists" if generation == 0 else "changed since it was read")
            )

    def versioning_enabled(self) -> bool:
        """The bucket's versioning setting (buckets.get)."""
        try:
            self.bucket.reload()
        except Exception as e:
            _fail(e, f"gs://{self.bucket.name}")
        return bool(self.bucket.versioning_enabled)

    @property
    def supports_changes(self) -> bool:
        """Cloud Storage's change notifications need Pub/Sub, not a pull cursor: compare listings instead."""
        return False

    def changes(self, cursor: str | None) -> tuple[Iterator[ObjectInfo], str]:
        """`ChangesUnsupported`: compare listings by generation."""
        raise ChangesUnsupported("Cloud Storage has no pull change feed: compare listings by generation")

    def close(self) -> None:
        """Close the client's HTTP session."""
        self.client.close()

    def __enter__(self) -> GCSStorage:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_location(location: Location) -> GCSStorage:
    """A Cloud Storage client for `gs://bucket/prefix`."""
    from google.cloud import storage  # type: ignore[import-untyped]

    parts = urlsplit(location.url)
    if not parts.netloc:
        raise InvalidKey(f"a Cloud Storage URL names its bucket: gs://BUCKET/prefix, not {location.url[:80]!r}")
    opts, secrets = location.options, location.secrets
    kwargs: dict[str, Any] = {"project": opts.get("project") or None}
    if opts.get("endpoint"):
        kwargs["client_options"] = {"api_endpoint": opts["endpoint"]}
    if secrets.get("credentials_json"):
        from google.oauth2 import service_account

        try:
            info = json.loads(secrets["credentials_json"])
            kwargs["credentials"] = service_account.Credentials.from_service_account_info(  # type: ignore[no-untyped-call]
                info, scopes=["https://www.googleapis.com/auth/devstorage.read_write"]
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise AuthFailed(f"gs://{parts.netloc}: credentials_json is not a service account key") from None
        kwargs["project"] = kwargs["project"] or info.get("project_id")
    elif opts.get("endpoint"):
        from google.auth.credentials import AnonymousCredentials

        kwargs["credentials"] = AnonymousCredentials()  # type: ignore[no-untyped-call]
        kwargs["project"] = kwargs["project"] or "c11-protector"
    try:
        client = storage.Client(**kwargs)
    except Exception as e:
        _fail(e, f"gs://{parts.netloc}")
    s = GCSStorage(client, parts.netloc, unquote(parts.path))
    return s
