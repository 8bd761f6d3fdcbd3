"""The `smb://server[:port]/share/path` backend: Windows and Samba file shares (SMB 2/3) through `smbprotocol`.

Options: `username`, `port` (445), `encrypt` ("true": require SMB 3 encryption); secret: `password`. Each storage
keeps its own connection cache (no process-wide session). Writes go to a temporary file beside the object, then a
rename over it (a rename without replace for `if_none_match`, which the server refuses if the name exists).
"""

from __future__ import annotations

import contextlib
import errno
import mimetypes
import secrets
import stat as _stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn
from urllib.parse import unquote, urlsplit

import smbclient  # type: ignore[import-untyped]
from smbprotocol import exceptions as sx  # type: ignore[import-untyped]

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

TMP_PREFIX = ".c11-tmp-"
_CHUNK = 1 << 20


_MISSING = (errno.ENOENT, errno.ENOTDIR)


def _errno(e: BaseException) -> int | None:
    return e.errno if isinstance(e, OSError) else None


def _fail(e: BaseException, what: str) -> NoReturn:
    """Raise the typed error for an smbprotocol failure about `what`."""
    if isinstance(e, StorageError):
        raise e
    if isinstance(e, sx.LogonFailure | sx.SMBAuthenticationError):
        raise AuthFailed(f"{what}: logon refused: check the user name and password")
    if isinstance(e, FileNotFoundError | NotADirectoryError | sx.BadNetworkName) or _errno(e) in _MISSING:
        raise NotFound(f"{what}: no such file, folder or share")
    if isinstance(e, FileExistsError) or _errno(e) == errno.EEXIST:
        raise PreconditionFailed(f"{what}: already exists")
    if isinstance(e, PermissionError | sx.AccessDenied) or _errno(e) == errno.EACCES:
        raise AuthFailed(f"{what}: access denied: check the account's permissions on the share")
    if isinstance(e, OSError | sx.SMBException | ValueError):
        raise StorageError(f"{what}: SMB error ({type(e).__name__})")
    raise StorageError(f"{what}: {type(e).__name__}")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_DIRECTORY, _REPARSE_POINT = 0x10, 0x400


def _etag(mtime_us: int, size: int, file_id: int) -> str:
    """Modified time (in microseconds: what a directory listing gives), size and file id."""
    return f"{mtime_us:x}-{size:x}-{file_id:x}"


def _stat_etag(st: Any) -> str:
    return _etag(int(st.st_mtime_ns) // 1000, int(st.st_size), int(st.st_ino))


class SMBStorage:
    """A folder of an SMB share as a `Storage`."""

    scheme = "smb"

    def __init__(self, server: str, share: str, root: str, *, port: int, login: dict[str, Any]) -> None:
        self.server = server
        self.port = port
        self._login = login  # username, password, encrypt: each thread logs on with its own connection
        self._local = threading.local()
        self._caches: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.base = "\\\\" + server + "\\" + share + "".join("\\" + p for p in root.split("/") if p)

    def _kw(self) -> dict[str, Any]:
        """The connection of this thread (smbprotocol runs out of SMB credits when threads share one)."""
        cache: dict[str, Any] | None = getattr(self._local, "cache", None)
        if cache is None:
            cache = {}
            with self._lock:
                self._caches.append(cache)
            smbclient.register_session(
                self.server, port=self.port, connection_cache=cache, connection_timeout=30, **self._login
            )
            self._local.cache = cache
        return {"port": self.port, "connection_cache": cache}

    def _path(self, key: str) -> str:
        return self.base + "\\" + check_key(key).replace("/", "\\")

    def _info(self, key: str, st: Any) -> ObjectInfo:
        return self._make(key, int(st.st_mtime_ns) // 1000, int(st.st_size), int(st.st_ino))

    @staticmethod
    def _make(key: str, mtime_us: int, size: int, file_id: int) -> ObjectInfo:
        return ObjectInfo(
            key=key,
            size=size,
            mtime=_EPOCH + mtime_us * _US,
            etag=_etag(mtime_us, size, file_id),
            content_type=mimetypes.guess_type(key)[0],
        )

    def list(self, prefix: str = "", *, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[ObjectInfo]:
        """Files under the root whose key starts with `prefix`, folder by folder (reparse points not followed)."""
        check_prefix(prefix)
        head, _, _ = prefix.rpartition("/")
        stack = [(self.base + "".join("\\" + p for p in head.split("/") if p), head + "/" if head else "")]
        while stack:
            folder, rel = stack.pop()
            try:
                entries = sorted(smbclient.scandir(folder, **self._kw()), key=lambda e: e.name)
            except Exception as e:
                if _errno(e) in _MISSING:
                    continue
                _fail(e, rel or "/")
            for ent in entries:
                key = rel + ent.name
                info = ent.smb_info
                if info.file_attributes & _REPARSE_POINT:  # a symbolic link or junction: not followed
                    continue
                if info.file_attributes & _DIRECTORY:
                    if (key + "/").startswith(prefix) or prefix.startswith(key + "/"):
                        stack.append((folder + "\\" + ent.name, key + "/"))
                elif not ent.name.startswith(TMP_PREFIX) and key.startswith(prefix):
                    written = info.last_write_time
                    if written.tzinfo is None:
                        written = written.replace(tzinfo=UTC)
                    yield self._make(key, (written - _EPOCH) // _US, int(info.end_of_file), int(info.file_id))

    def _stat(self, key: str) -> Any:
        path = self._path(key)
        try:
            st = smbclient.lstat(path, **self._kw())
        except Exception as e:
            _fail(e, key)
        if not _stat.S_ISREG(st.st_mode):
            raise NotFound(f"{key}: not a regular file")
        return st

    def stat(self, key: str) -> ObjectInfo:
        """The file's size, modified time and etag (modified time, size and file id)."""
        return self._info(key, self._stat(key))

    def open_read(self, key: str) -> BinaryIO:
        """The file opened for reading."""
        self._stat(key)
        try:
            f: BinaryIO = smbclient.open_file(self._path(key), mode="rb", share_access="r", **self._kw())
        except Exception as e:
            _fail(e, key)
        return f

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
        """Write a temporary file beside the object, then rename it over the object."""
        path = self._path(key)
        parent, _, _ = path.rpartition("\\")
        tmp = f"{parent}\\{TMP_PREFIX}{secrets.token_hex(8)}"
        try:
            smbclient.makedirs(parent, exist_ok=True, **self._kw())
            with smbclient.open_file(tmp, mode="xb", **self._kw()) as out:
                if isinstance(data, bytes | bytearray | memoryview):
                    out.write(bytes(data))
                else:
                    while chunk := data.read(_CHUNK):
                        out.write(chunk)
            if mtime is not None:
                ts = mtime.timestamp()
                smbclient.utime(tmp, times=(ts, ts), **self._kw())
            if if_none_match:
                smbclient.rename(tmp, path, **self._kw())
            else:
                if if_match is not None and _stat_etag(self._stat_or_none(key)) != if_match:
                    raise PreconditionFailed(f"{key}: changed since it was read")
                smbclient.replace(tmp, path, **self._kw())
        except Exception as e:
            with contextlib.suppress(Exception):
                smbclient.remove(tmp, **self._kw())
            _fail(e, key)
        return self.stat(key)

    def _stat_or_none(self, key: str) -> Any:
        try:
            return self._stat(key)
        except NotFound:
            raise PreconditionFailed(f"{key}: no longer exists") from None

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Remove the file (after checking `if_match`, when given)."""
        st = self._stat(key)
        if if_match is not None and _stat_etag(st) != if_match:
            raise PreconditionFailed(f"{key}: changed since it was read")
        try:
            smbclient.remove(self._path(key), **self._kw())
        except Exception as e:
            _fail(e, key)

    def versioning_enabled(self) -> bool:
        """A share keeps no versions the protector can rely on (shadow copies are the server's own)."""
        return False

    @property
    def supports_changes(self) -> bool:
        """SMB change notifications need a live watch, not a cursor: compare listings instead."""
        return False

    def changes(self, cursor: str | None) -> tuple[Iterator[ObjectInfo], str]:
        """`ChangesUnsupported`: compare listings by etag."""
        raise ChangesUnsupported("SMB has no change feed that survives restarts: compare listings by etag")

    def close(self) -> None:
        """Log off and close this storage's connections (of every thread that used it)."""
        with self._lock:
            caches, self._caches = self._caches, []
        for cache in caches:
            with contextlib.suppress(Exception):
                smbclient.reset_connection_cache(connection_cache=cache)

    def __enter__(self) -> SMBStorage:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_location(location: Location) -> SMBStorage:
    """A logged-on session to `smb://server[:port]/share/path` (`AuthFailed` if the logon is refused)."""
    parts = urlsplit(location.url)
    path = unquote(parts.path).strip("/")
    share, _, root = path.partition("/")
    if not parts.hostname or not share:
        raise InvalidKey(f"an SMB URL names a server and a share: smb://server/share/path, not {location.url[:80]!r}")
    if root:
        check_key(root)
    opts = location.options
    try:
        port = int(opts.get("port") or parts.port or 445)
    except ValueError:
        raise InvalidKey(f"smb://{parts.hostname}: the port must be a number") from None
    login = {
        "username": opts.get("username") or None,
        "password": location.secrets.get("password") or None,
        "encrypt": opts.get("encrypt", "").lower() in ("1", "true", "yes"),
    }
    s = SMBStorage(parts.hostname, share, root, port=port, login=login)
    try:
        smbclient.stat(s.base, **s._kw())
    except Exception as e:
        s.close()
        _fail(e, f"smb://{parts.hostname}:{port}/{path}")
    return s
