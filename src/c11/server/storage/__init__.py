"""Storage of ciphertext blobs (docs/sharing.md): one interface (`base.BlobStore`), two backends.

`C11_STORAGE_URL` chooses: `file:///path` (`folder.FolderStore`, the default: `<data-dir>/blobs`) or
`s3://bucket/prefix` (`s3.S3Store`: AWS, Wasabi, MinIO, SeaweedFS... through boto3). `open_store(config)`
builds the configured one. Only ciphertext is ever stored; the server never holds a name or a key.
"""

from __future__ import annotations

from c11.server.storage.base import BlobStore, Incomplete, Part, StorageError
from c11.server.storage.factory import open_store

__all__ = ["BlobStore", "Incomplete", "Part", "StorageError", "open_store"]
