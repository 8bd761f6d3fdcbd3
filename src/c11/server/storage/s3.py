"""The S3 backend (AWS S3, Wasabi, MinIO, SeaweedFS...) through boto3: S3 multipart uploads, no hand-written signing.

Objects are `<prefix>/<key>`; the tail of an upload (bytes of a part not yet full) is a small object under
`<prefix>/.incoming/<handle>.tail` until the part fills. Endpoint, region and credentials come from the TOML file
(`s3_endpoint_url`, `s3_region`, `s3_access_key_id`, `s3_secret_access_key`) or else boto3's usual sources
(AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, profiles, instance roles).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from c11.server.config import Config
from c11.server.storage.base import READ_CHUNK, Incomplete, Part, StorageError, check_key

MIN_PART = 5 * 1024 * 1024


def _fail(what: str, e: Exception) -> StorageError:
    if isinstance(e, ClientError):
        code = e.response.get("Error", {}).get("Code", "error")
        return StorageError(f"object storage refused {what}: {code}")
    return StorageError(f"object storage unreachable ({what}): {type(e).__name__}")


class S3Store:
    """Blobs in an S3 bucket under a prefix."""

    min_part_size = MIN_PART

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket, self.prefix, self._s3 = bucket, prefix.strip("/"), client
        self.description = f"s3://{bucket}/{self.prefix}"

    @classmethod
    def from_config(cls, bucket: str, prefix: str, config: Config) -> S3Store:
        kwargs: dict[str, Any] = {}
        if config.s3_endpoint_url:
            kwargs["endpoint_url"] = config.s3_endpoint_url
        if config.s3_region:
            kwargs["region_name"] = config.s3_region
        if config.s3_access_key_id:
            kwargs["aws_access_key_id"] = config.s3_access_key_id
            kwargs["aws_secret_access_key"] = config.s3_secret_access_key
        boto = BotoConfig(
            retries={"max_attempts": 3, "mode": "standard"},
            max_pool_connections=64,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return cls(bucket, prefix, boto3.session.Session().client("s3", config=boto, **kwargs))

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _tail(self, handle: str) -> str:
        name = f".incoming/{handle[:200].replace('/', '_')}.tail"
        return f"{self.prefix}/{name}" if self.prefix else name

    def begin(self, key: str) -> str:
        try:
            r = self._s3.create_multipart_upload(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as e:
            raise _fail("starting an upload", e) from None
        return str(r["UploadId"])

    def put_part(self, key: str, handle: str, number: int, data: bytes | bytearray) -> Part:
        try:
            r = self._s3.upload_part(
                Bucket=self.bucket, Key=self._key(key), UploadId=handle, PartNumber=number, Body=data
            )
        except (BotoCoreError, ClientError) as e:
            raise _fail("a part", e) from None
        return Part(number, len(data), str(r["ETag"]))

    def put_tail(self, key: str, handle: str, data: bytes) -> None:
        try:
            if data:
                self._s3.put_object(Bucket=self.bucket, Key=self._tail(handle), Body=data)
            else:
                self._s3.delete_object(Bucket=self.bucket, Key=self._tail(handle))
        except (BotoCoreError, ClientError) as e:
            raise _fail("the tail of an upload", e) from None

    def get_tail(self, key: str, handle: str) -> bytes:
        try:
            r = self._s3.get_object(Bucket=self.bucket, Key=self._tail(handle))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return b""
            raise _fail("the tail of an upload", e) from None
        except BotoCoreError as e:
            raise _fail("the tail of an upload", e) from None
        return bytes(r["Body"].read())

    def complete(self, key: str, handle: str, parts: Sequence[Part], size: int) -> None:
        if sum(p.size for p in parts) != size:
            raise StorageError(f"the parts hold {sum(p.size for p in parts)} bytes, not {size}")
        full = self._key(key)
        try:
            if not parts:  # S3 needs at least one part: an empty object
                self._s3.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=handle)
                self._s3.put_object(Bucket=self.bucket, Key=full, Body=b"")
            else:
                self._s3.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=full,
                    UploadId=handle,
                    MultipartUpload={
                        "Parts": [
                            {"PartNumber": p.number, "ETag": p.etag} for p in sorted(parts, key=lambda p: p.number)
                        ]
                    },
                )
            found = self.size(key)
        except (BotoCoreError, ClientError) as e:
            raise _fail("completing an upload", e) from None
        if found != size:
            self.delete(key)
            raise StorageError(f"the stored object holds {found} bytes, not {size}")
        self.put_tail(key, handle, b"")

    def abort(self, key: str, handle: str) -> None:
        try:
            self._s3.abort_multipart_upload(Bucket=self.bucket, Key=self._key(key), UploadId=handle)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("NoSuchUpload", "404"):
                raise _fail("aborting an upload", e) from None
        except BotoCoreError as e:
            raise _fail("aborting an upload", e) from None
        self.put_tail(key, handle, b"")

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if end is not None and end <= start:
            return iter(())
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if start or end is not None:
            kwargs["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            body = self._s3.get_object(**kwargs)["Body"]
        except (BotoCoreError, ClientError) as e:
            raise _fail("reading an object", e) from None
        return _stream(body)

    def size(self, key: str) -> int | None:
        try:
            return int(self._s3.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"])
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise _fail("an object's size", e) from None
        except BotoCoreError as e:
            raise _fail("an object's size", e) from None

    def delete(self, key: str) -> None:
        try:
            self._s3.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as e:
            raise _fail("deleting an object", e) from None

    def incomplete(self) -> Iterator[Incomplete]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        try:
            pages = self._s3.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for u in page.get("Uploads", []):
                    key = str(u["Key"])[len(prefix) :]
                    yield Incomplete(key, str(u["UploadId"]), u["Initiated"])
        except (BotoCoreError, ClientError) as e:
            raise _fail("listing uploads", e) from None


def _stream(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(READ_CHUNK)
    finally:
        body.close()
