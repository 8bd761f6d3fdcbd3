"""The `s3://bucket/prefix` backend: Amazon S3 and S3-compatible stores (Wasabi, MinIO, SeaweedFS) via boto3.

Options: `endpoint` (S3-compatible services), `region`, `access_key_id`; secret: `secret_access_key`. Without
them boto3's own chain is used (AWS_* variables, an instance or task role). Conditional writes use S3's
`If-Match`/`If-None-Match` on PutObject; a conditional delete checks the ETag first (S3 general-purpose buckets
have no conditional DeleteObject), which leaves a short window that versioning closes (docs/protector.md).
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
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

#: the largest object one PutObject takes (5 GiB)
MAX_PUT = 5 << 30
_AUTH = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken", "403"}
_MISSING = {"NoSuchKey", "NoSuchBucket", "404", "NotFound"}
_PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def _fail(e: Exception, what: str) -> NoReturn:
    """Raise the typed error for a botocore failure about `what` (never quoting credentials)."""
    from botocore.exceptions import (  # type: ignore[import-untyped]
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
    )

    if isinstance(e, StorageError):
        raise e
    if isinstance(e, ClientError):
        code = str(e.response.get("Error", {}).get("Code", ""))
        status = str(e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code in _AUTH or status == "403":
            raise AuthFailed(f"{what}: access refused ({code or status}): check the credentials and permissions")
        if code in _MISSING or status == "404":
            raise NotFound(f"{what}: no such {'bucket' if code == 'NoSuchBucket' else 'object'}")
        if code in _PRECONDITION or status in ("412", "409"):
            raise PreconditionFailed(f"{what}: changed since it was read, or already exists")
        raise StorageError(f"{what}: S3 error {code or status}")
    if isinstance(e, NoCredentialsError):
        raise AuthFailed(f"{what}: no S3 credentials (set access_key_id and secret_access_key)")
    if isinstance(e, EndpointConnectionError):
        raise StorageError(f"{what}: cannot reach the S3 endpoint")
    raise StorageError(f"{what}: {type(e).__name__}")


def _info(key: str, size: int, mtime: datetime | None, etag: str | None, **kw: Any) -> ObjectInfo:
    if mtime is not None and mtime.tzinfo is None:
        mtime = mtime.replace(tzinfo=UTC)
    return ObjectInfo(key=key, size=int(size), mtime=mtime, etag=etag, **kw)


class _Body(io.RawIOBase):
    """A botocore StreamingBody as a raw binary stream (wrapped in a BufferedReader for `open_read`)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self._body.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


class S3Storage:
    """A bucket (under a key prefix) as a `Storage`."""

    scheme = "s3"

    def __init__(self, client: Any, bucket: str, root: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.root = root.strip("/") + "/" if root.strip("/") else ""

    def _k(self, key: str) -> str:
        return self.root + check_key(key)

    def list(self, prefix: str = "", *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[ObjectInfo]:
        """ListObjectsV2, `page_size` keys per request (at most 1,000), continuation token by token."""
        check_prefix(prefix)
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.root + prefix, PaginationConfig={"PageSize": min(page_size, 1000)}
        )
        try:
            for page in pages:
                for o in page.get("Contents", ()):
                    key = o["Key"][len(self.root) :]
                    if not key or key.endswith("/"):  # a "folder" marker
                        continue
                    yield _info(key, o["Size"], o.get("LastModified"), o.get("ETag"))
        except Exception as e:
            _fail(e, f"s3://{self.bucket}/{self.root}{prefix}")

    def stat(self, key: str) -> ObjectInfo:
        """HeadObject."""
        k = self._k(key)
        try:
            r = self.client.head_object(Bucket=self.bucket, Key=k)
        except Exception as e:
            _fail(e, key)
        return _info(
            key,
            r["ContentLength"],
            r.get("LastModified"),
            r.get("ETag"),
            content_type=r.get("ContentType"),
            version_id=r.get("VersionId") if r.get("VersionId") not in (None, "null") else None,
        )

    def open_read(self, key: str) -> BinaryIO:
        """GetObject, streamed."""
        k = self._k(key)
        try:
            r = self.client.get_object(Bucket=self.bucket, Key=k)
        except Exception as e:
            _fail(e, key)
        return io.BufferedReader(_Body(r["Body"]), buffer_size=1 << 20)

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
        """PutObject (If-Match / If-None-Match: * when asked); `mtime` is kept as the `mtime` metadata."""
        k = self._k(key)
        args: dict[str, Any] = {"Bucket": self.bucket, "Key": k}
        if content_type:
            args["ContentType"] = content_type
        if if_match is not None:
            args["IfMatch"] = if_match
        if if_none_match:
            args["IfNoneMatch"] = "*"
        if mtime is not None:
            args["Metadata"] = {"mtime": f"{mtime.timestamp():.9f}"}
        with tempfile.SpooledTemporaryFile(max_size=8 << 20) as spool:
            if isinstance(data, bytes | bytearray | memoryview):
                body: Any = bytes(data)
            else:
                size = 0
                while chunk := data.read(1 << 20):
                    size += len(chunk)
                    if size > MAX_PUT:
                        raise StorageError(f"{key}: larger than one S3 PUT takes (5 GiB)")
                    spool.write(chunk)
                spool.seek(0)
                body = spool
            try:
                r = self.client.put_object(Body=body, **args)
            except Exception as e:
                _fail(e, key)
        info = self.stat(key)
        if r.get("ETag") and info.etag != r["ETag"]:  # replaced again in between: report what we wrote
            return ObjectInfo(key=key, size=info.size, mtime=info.mtime, etag=r["ETag"], content_type=content_type)
        return info

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """DeleteObject (after HeadObject: a missing object is `NotFound`; `if_match` is checked against it)."""
        current = self.stat(key)
        if if_match is not None and current.etag != if_match:
            raise PreconditionFailed(f"{key}: changed since it was read")
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._k(key))
        except Exception as e:
            _fail(e, key)

    def versioning_enabled(self) -> bool:
        """GetBucketVersioning says Enabled."""
        try:
            r = self.client.get_bucket_versioning(Bucket=self.bucket)
        except Exception as e:
            _fail(e, f"s3://{self.bucket}")
        return bool(r.get("Status") == "Enabled")

    @property
    def supports_changes(self) -> bool:
        """S3 has no delta API: compare listings by ETag."""
        return False

    def changes(self, cursor: str | None) -> tuple[Iterator[ObjectInfo], str]:
        """`ChangesUnsupported`: compare listings by ETag."""
        raise ChangesUnsupported("S3 has no change feed: compare listings by ETag")

    def close(self) -> None:
        """Close the client's connection pool."""
        self.client.close()

    def __enter__(self) -> S3Storage:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_location(location: Location) -> S3Storage:
    """An S3 client for `s3://bucket/prefix` with the connection's endpoint, region and keys."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    parts = urlsplit(location.url)
    if not parts.netloc:
        raise InvalidKey(f"an S3 URL names its bucket: s3://BUCKET/prefix, not {location.url[:80]!r}")
    opts, secrets = location.options, location.secrets
    client = boto3.client(
        "s3",
        endpoint_url=opts.get("endpoint") or None,
        region_name=opts.get("region") or "us-east-1",
        aws_access_key_id=opts.get("access_key_id") or None,
        aws_secret_access_key=secrets.get("secret_access_key") or None,
        aws_session_token=secrets.get("session_token") or None,
        config=Config(
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": 5, "mode": "standard"},
            max_pool_connections=32,
        ),
    )
    return S3Storage(client, parts.netloc, unquote(parts.path))
