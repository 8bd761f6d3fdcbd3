"""`open_store(config)`: the blob store `C11_STORAGE_URL` names (docs/sharing.md, Storage configuration)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from c11.errors import ConfigError
from c11.server.config import Config
from c11.server.storage.base import BlobStore
from c11.server.storage.folder import FolderStore


def open_store(config: Config) -> BlobStore:
    """The configured store: `file:///path` or none (`<data-dir>/blobs`), or `s3://bucket/prefix`."""
    url = config.storage_url or ""
    if not url:
        return FolderStore(config.data_dir / "blobs")
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(f"storage_url: a file:// URL names a local folder (file:///path), not {parts.netloc!r}")
        return FolderStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        from c11.server.storage.s3 import S3Store  # boto3 is loaded only when S3 is configured

        if not parts.netloc:
            raise ConfigError("storage_url: s3://BUCKET/PREFIX needs a bucket")
        return S3Store.from_config(parts.netloc, parts.path.strip("/"), config)
    raise ConfigError(f"storage_url: unknown scheme {parts.scheme!r} (file:// or s3://)")
