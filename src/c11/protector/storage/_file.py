"""The `file://` backend: a local or mounted on-premises folder.

Writes go to a temporary file in the same folder, are flushed to disk and then renamed over the object (or
hard-linked to a new name for `if_none_match`), so a crash leaves the old content or the new, never half of it.
Symbolic links are not followed: an object is a regular file inside the root.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import stat as _stat
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote, urlsplit

from c11.protector.storage._base import (
    DEFAULT_PAGE_SIZE,
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

#: names of the temporary files a write creates next to its object (never listed)
TMP_PREFIX = ".c11-tmp-"
_CHUNK = 1 << 20


def _etag(st: os.stat_result) -> str:
    return f"{st.st_mtime_ns:x}-{st.st_size:x}-{st.st_ino:x}"


class FileStorage:
    """A folder as a `Storage`: keys are paths relative to `root`."""

    scheme = "file"

    def __init__(self, root: str | Path) -> None:
        path = Path(root)
        if not path.is_absolute():
            raise InvalidKey(f"file:// needs an absolute folder path, not {str(root)!r}")
        if not path.is_dir():
            raise NotFound(f"no such folder: {path}")
        self.root = path.resolve()

    # -- paths -------------------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        p = self.root.joinpath(*check_key(key).split("/"))
        parent = p.parent.resolve()
        if parent != self.root and not parent.is_relative_to(self.root):
            raise InvalidKey(f"{key}: leaves the connection's folder (a symbolic link on the way)")
        return p

    def _info(self, key: str, st: os.stat_result) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=st.st_size,
            mtime=datetime.fromtimestamp(st.st_mtime_ns / 1e9, UTC),
            etag=_etag(st),
            content_type=mimetypes.guess_type(key)[0],
        )

    def _lstat(self, key: str) -> tuple[Path, os.stat_result]:
        p = self._path(key)
        try:
            st = p.lstat()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"{key}: no such object") from None
        except OSError as e:
            raise StorageError(f"{key}: {e.strerror}") from None
        if not _stat.S_ISREG(st.st_mode):
            raise NotFound(f"{key}: not a regular file")
        return p, st

    # -- Storage -----------------------------------------------------------------------------------------

    def list(self, prefix: str = "", *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[ObjectInfo]:
        """Regular files under the root whose key starts with `prefix`, folder by folder (sorted by name)."""
        check_prefix(prefix)
        head, _, _ = prefix.rpartition("/")
        start = self.root.joinpath(*head.split("/")) if head else self.root
        if not start.resolve().is_relative_to(self.root):
            raise InvalidKey(f"{prefix}: leaves the connection's folder")
        stack = [(start, head + "/" if head else "")]
        while stack:
            folder, rel = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name, reverse=True)
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as e:
                raise StorageError(f"{rel or '/'}: cannot list: {e.strerror}") from None
            files = []
            for ent in entries:
                key = rel + ent.name
                if ent.is_dir(follow_symlinks=False):
                    if (key + "/").startswith(prefix) or prefix.startswith(key + "/"):
                        stack.append((Path(ent.path), key + "/"))
                elif (
                    ent.is_file(follow_symlinks=False)
                    and not ent.name.startswith(TMP_PREFIX)
                    and key.startswith(prefix)
                ):
                    files.append((key, ent))
            for key, ent in reversed(files):
                try:
                    st = ent.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                yield self._info(key, st)

    def stat(self, key: str) -> ObjectInfo:
        """The file's size, modified time and etag (modified time, size and inode)."""
        return self._info(key, self._lstat(key)[1])

    def open_read(self, key: str) -> BinaryIO:
        """The file opened for reading (not through a symbolic link)."""
        p, _ = self._lstat(key)
        try:
            fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise NotFound(f"{key}: no such object") from None
        except OSError as e:
            raise StorageError(f"{key}: {e.strerror}") from None
        return os.fdopen(fd, "rb")

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
        """Write to a temporary file, flush it, then rename it over the object (content_type is not kept)."""
        p = self._path(key)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(f"{key}: cannot create its folder: {e.strerror}") from None
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=p.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes | bytearray | memoryview):
                    out.write(data)
                else:
                    while chunk := data.read(_CHUNK):
                        out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if mtime is not None:
                ns = int(mtime.timestamp() * 1e9)
                os.utime(tmp, ns=(ns, ns))
            if if_none_match:
                try:
                    os.link(tmp, p)
                except FileExistsError:
                    raise PreconditionFailed(f"{key}: already exists") from None
            else:
                if if_match is not None:
                    self._check_match(key, if_match)
                os.replace(tmp, p)
        except OSError as e:
            raise StorageError(f"{key}: cannot write: {e.strerror}") from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        _fsync_dir(p.parent)
        return self.stat(key)

    def _check_match(self, key: str, if_match: str) -> None:
        try:
            current = _etag(self._lstat(key)[1])
        except NotFound:
            raise PreconditionFailed(f"{key}: no longer exists") from None
        if current != if_match:
            raise PreconditionFailed(f"{key}: changed since it was read")

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Remove the file (after checking `if_match`, when given)."""
        p, st = self._lstat(key)
        if if_match is not None and _etag(st) != if_match:
            raise PreconditionFailed(f"{key}: changed since it was read")
        try:
            p.unlink()
        except FileNotFoundError:
            raise NotFound(f"{key}: no such object") from None
        except OSError as e:
            raise StorageError(f"{key}: cannot delete: {e.strerror}") from None
        _fsync_dir(p.parent)

    def versioning_enabled(self) -> bool:
        """A folder keeps no earlier versions."""
        return False

    @property
    def supports_changes(self) -> bool:
        """A folder has no change feed that survives restarts (compare listings by etag instead)."""
        return False

    def changes(self, cursor: str | None) -> tuple[Iterator[ObjectInfo], str]:
        """Not available for folders: `ChangesUnsupported`."""
        raise ChangesUnsupported("file:// has no change feed: compare listings by etag")

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> FileStorage:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _fsync_dir(folder: Path) -> None:
    """Make a rename or unlink in `folder` durable (where the platform allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_location(location: Location) -> FileStorage:
    """The folder named by a `file:///absolute/path` URL."""
    parts = urlsplit(location.url)
    if parts.netloc not in ("", "localhost"):
        raise InvalidKey(f"file:// URLs name a local folder (file:///path), not host {parts.netloc!r}")
    return FileStorage(unquote(parts.path))
