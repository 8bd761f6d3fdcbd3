"""`.c11.zip` bundles: many files or a folder protected under one header (docs/format.md §8).

A stored (uncompressed) zip holding a marker, encrypted entries named by random IDs, and an
encrypted manifest that maps IDs to paths; names inside the zip reveal nothing (docs/format.md §8).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import io
import json
import os
import posixpath
import re
import stat
import struct
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, ParamSpec, TypeVar, cast

from c11.crypto import keyschedule as ks
from c11.errors import BadSignatureError, BundleError, NotC11FileError, UsageError
from c11.format import content, envelope, stream
from c11.format.header import V1, Header, read_header

if TYPE_CHECKING:  # zipfile is imported on use: encrypting or decrypting one file needs no zip layer
    import zipfile

    from _typeshed import WriteableBuffer

    from c11.keys.identity import Identity

_P = ParamSpec("_P")
_R = TypeVar("_R")

MARKER_NAME = "c11-bundle"
MARKER = b"c11-bundle/v1\n"
MANIFEST_NAME = "manifest.c11"
ENTRY_RE = re.compile(r"^e/[0-9a-f]{32}$")
MAX_MTIME = 1 << 33  # entry times (seconds) a file system can set: about the years 1698 to 2242
FORMAT = "c11-bundle/v2"  # manifest of a version 2 bundle: file entries carry their `digest`
FORMAT_V1 = "c11-bundle/v1"
MAX_MANIFEST = 64 << 20


@dataclass
class Entry:
    path: str  # relative POSIX path inside the bundle
    type: str  # "file" or "dir"
    id: str = ""
    size: int = 0
    mode: int = 0o644
    mtime: int = 0
    source: Path | None = None
    digest: str = ""  # version 2: hex SHA-256 of the entry's segment hash list (docs/format.md §8)


def entry_key(header: Header, file_key: bytes, entry_id: str) -> bytes:
    return ks.derive(file_key, header.nonce, ks.BUNDLE_ENTRY, bytes.fromhex(entry_id))


def collect(inputs: Iterable[Path]) -> list[Entry]:
    """List the entries for some files and folders; one folder alone becomes the bundle's root."""
    inputs = [Path(p) for p in inputs]
    entries: list[Entry] = []
    single_dir = len(inputs) == 1 and inputs[0].is_dir()

    def add(path: Path, rel: str) -> None:
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            raise UsageError(f"{path}: symbolic links are not protected (copy the target instead)")
        if stat.S_ISDIR(st.st_mode):
            if rel:
                entries.append(Entry(rel, "dir", mode=st.st_mode & 0o777, mtime=int(st.st_mtime)))
            for child in sorted(path.iterdir()):
                add(child, f"{rel}/{child.name}" if rel else child.name)
        elif stat.S_ISREG(st.st_mode):
            entries.append(
                Entry(rel, "file", os.urandom(16).hex(), st.st_size, st.st_mode & 0o777, int(st.st_mtime), path)
            )
        else:
            raise UsageError(f"{path}: only regular files and folders can be protected")

    for p in inputs:
        if not p.exists() and not p.is_symlink():
            raise UsageError(f"{p}: no such file or folder")
        add(p, "" if single_dir else p.name)
    _check_paths(entries)
    return entries


def write(
    dst: BinaryIO,
    entries: list[Entry],
    header: Header,
    file_key: bytes,
    progress: stream.Progress = None,
    author: Identity | None = None,
    sources: dict[str, IO[bytes]] | None = None,
) -> None:
    """Write a bundle: marker, each entry's STREAM payload, then the manifest signed by `author`.

    Entries are read from their `source` path, or from `sources[entry id]` (rotation).
    """
    import zipfile

    if author is None:
        raise UsageError("a bundle is signed by its author: give the author's identity")
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        zf.writestr(zip_info(MARKER_NAME), MARKER)
        for e in entries:
            if e.type != "file":
                continue
            hashes = bytearray()
            with contextlib.ExitStack() as stack:
                src = sources[e.id] if sources is not None else stack.enter_context(open(_source(e), "rb", buffering=0))
                out = stack.enter_context(zf.open(zip_info(f"e/{e.id}"), "w", force_zip64=True))
                n = stream.encrypt(entry_key(header, file_key, e.id), src, out, header.segment_size, progress, hashes)
            if n != e.size:
                raise UsageError(f"{e.source}: changed while being protected; try again")
            e.digest = hashlib.sha256(hashes).hexdigest()
        manifest = json.dumps(
            {"format": FORMAT, "entries": [_entry_json(e) for e in entries]}, separators=(",", ":")
        ).encode()
        hashes = bytearray()
        with zf.open(zip_info(MANIFEST_NAME), "w", force_zip64=True) as out:
            out.write(header.encode())
            stream.encrypt(
                envelope.payload_key(header, file_key), io.BytesIO(manifest), out, header.segment_size, hashes=hashes
            )
            out.write(content.trailer(header, bytes(hashes), author))


def zip_info(name: str) -> zipfile.ZipInfo:
    """A stored member with a fixed time stamp, as every bundle member is written."""
    import zipfile

    zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_STORED
    zi.external_attr = 0o100644 << 16
    return zi


def _source(e: Entry) -> Path:
    if e.source is None:
        raise UsageError(f"{e.path}: no file to read this entry from")
    return e.source


def _entry_json(e: Entry) -> dict[str, Any]:
    d: dict[str, Any] = {"path": e.path, "type": e.type, "mode": e.mode, "mtime": e.mtime}
    if e.type == "file":
        d.update(id=e.id, size=e.size, digest=e.digest)
    return d


def _zip_errors(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Method decorator: errors of the zip layer (bad CRC, truncated or unsupported zip) are BundleErrors."""

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kw: _P.kwargs) -> _R:
        import zipfile

        try:
            return fn(*args, **kw)
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            EOFError,
            struct.error,
            NotImplementedError,
            ValueError,
        ) as e:  # ValueError: zipfile's "negative seek value" on a damaged offset
            raise BundleError(f"damaged bundle: {' '.join(str(e).split())[:200] or type(e).__name__}") from None

    return wrapper


class BundleReader:
    """An opened bundle: header parsed, zip structure checked, nothing decrypted yet."""

    @_zip_errors
    def __init__(self, fileobj: BinaryIO) -> None:
        import zipfile

        try:
            self.zf = zipfile.ZipFile(fileobj)
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise NotC11FileError(f"not a c11 bundle ({e})") from None
        infos = self.zf.infolist()
        names = [i.filename for i in infos]
        if MARKER_NAME not in names:
            raise NotC11FileError("not a c11 bundle (a zip file without the c11-bundle marker)")
        if len(set(names)) != len(names):
            raise BundleError("hostile bundle: duplicate entry names in the zip")
        for i in infos:
            if i.filename not in (MARKER_NAME, MANIFEST_NAME) and not ENTRY_RE.match(i.filename):
                raise BundleError(f"hostile bundle: unexpected zip entry {i.filename[:80]!r}")
            if i.compress_type != zipfile.ZIP_STORED or stat.S_ISLNK(i.external_attr >> 16) or i.flag_bits & 0x1:
                raise BundleError(f"hostile bundle: entry {i.filename[:80]!r} is compressed, encrypted or a link")
        if self.zf.read(MARKER_NAME) != MARKER:
            raise BundleError("unsupported bundle marker (made by a newer c11?)")
        if MANIFEST_NAME not in names:
            raise BundleError("damaged bundle: the manifest is missing")
        with self.zf.open(MANIFEST_NAME) as f:
            self.header, self.header_bytes = read_header(f)
        self.names = set(names)

    @_zip_errors
    def manifest_file(self) -> io.BytesIO:
        info = self.zf.getinfo(MANIFEST_NAME)
        if info.file_size > MAX_MANIFEST + len(self.header_bytes) + (4 << 20):
            raise BundleError("the bundle manifest is too large")
        return io.BytesIO(self.zf.read(MANIFEST_NAME))

    def read_manifest(self, file_key: bytes) -> list[Entry]:
        """Decrypt and check the manifest (version 2: the author's content signature first)."""
        out = io.BytesIO()
        f = self.manifest_file()
        read_header(f)
        key = envelope.payload_key(self.header, file_key)
        if self.header.version == V1:
            stream.decrypt(key, f, out, self.header.segment_size)
        else:
            stream.decrypt_signed(key, f, out, self.header.segment_size, envelope.content_check(self.header))
        want = FORMAT_V1 if self.header.version == V1 else FORMAT
        try:
            doc = json.loads(out.getvalue())
            if not isinstance(doc, dict) or doc.get("format") != want:
                raise BundleError("unsupported bundle manifest format")
            entries = [
                Entry(
                    str(d["path"]),
                    str(d["type"]),
                    str(d.get("id", "")),
                    int(d.get("size", 0)),
                    int(d.get("mode", 0o644)),
                    int(d.get("mtime", 0)),
                    digest=str(d.get("digest", "")),
                )
                for d in doc["entries"]
            ]
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise BundleError("malformed bundle manifest") from None
        _check_paths(entries)
        if want == FORMAT and any(e.type == "file" and not re.fullmatch(r"[0-9a-f]{64}", e.digest) for e in entries):
            raise BundleError("malformed bundle manifest (an entry has no digest)")
        ids = {f"e/{e.id}" for e in entries if e.type == "file"}
        if ids != self.names - {MARKER_NAME, MANIFEST_NAME}:
            raise BundleError("the bundle's entries do not match its manifest (entries added or removed)")
        return entries

    @_zip_errors
    def entry_plaintext(self, e: Entry, file_key: bytes, dst: BinaryIO, progress: stream.Progress = None) -> int:
        """Decrypt one entry into `dst`, checking its digest against the signed manifest (version 2)."""
        digest = hashlib.sha256() if self.header.version != V1 else None
        with self.zf.open(f"e/{e.id}") as src:
            n = stream.decrypt(
                entry_key(self.header, file_key, e.id), src, dst, self.header.segment_size, progress, digest
            )
        if digest is not None and not hmac.compare_digest(digest.hexdigest(), e.digest):
            raise BadSignatureError(
                f"entry {e.path!r} is not the content the author signed: someone holding the "
                "file key replaced it; do not trust this bundle"
            )
        if n != e.size:
            raise BundleError(f"entry {e.path!r} has the wrong size: the bundle was modified")
        return n

    def extract(self, entries: list[Entry], file_key: bytes, root: Path, progress: stream.Progress = None) -> None:
        """Decrypt every entry under `root` (a fresh folder); sizes are checked against the manifest."""
        for e in entries:
            target = root.joinpath(*e.path.split("/"))
            if e.type == "dir":
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "xb", buffering=0) as out:
                self.entry_plaintext(e, file_key, out, progress)
            os.chmod(target, e.mode & 0o777)
            os.utime(target, (e.mtime, e.mtime))
        for e in reversed(entries):
            if e.type == "dir":
                target = root.joinpath(*e.path.split("/"))
                os.chmod(target, (e.mode & 0o777) | 0o700)
                os.utime(target, (e.mtime, e.mtime))

    def rotate(
        self,
        dst: BinaryIO,
        entries: list[Entry],
        old_key: bytes,
        header: Header,
        new_key: bytes,
        progress: stream.Progress = None,
        author: Identity | None = None,
    ) -> None:
        """Rewrite the bundle under a new header and file key, re-encrypting every entry (signed by `author`).

        Entries are decrypted as they are re-encrypted (no plaintext on disk); an entry that is not what
        the manifest's author signed fails at its end, before the new bundle is published.
        """
        with contextlib.ExitStack() as stack:
            sources = {e.id: stack.enter_context(self._verified_entry(e, old_key)) for e in entries if e.type == "file"}
            write(dst, entries, header, new_key, progress, author, sources)

    @contextlib.contextmanager
    def _verified_entry(self, e: Entry, key: bytes) -> Iterator[IO[bytes]]:
        """A reader of entry `e`'s plaintext that raises at its end if the entry is not what was signed."""
        src = self.zf.open(f"e/{e.id}")
        try:
            yield cast(IO[bytes], _CheckedEntry(self, e, key, src))  # a raw binary file: typeshed's IO is narrower
        finally:
            src.close()

    @_zip_errors
    def copy_with_header(self, dst: BinaryIO, header: Header) -> None:
        """Rewrite the bundle with a new manifest header; entries and manifest payload unchanged."""
        import zipfile

        with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED, allowZip64=True) as out:
            for info in self.zf.infolist():
                with self.zf.open(info) as src, out.open(zip_info(info.filename), "w", force_zip64=True) as w:
                    if info.filename == MANIFEST_NAME:
                        read_header(src)
                        w.write(header.encode())
                    _copy(src, w)


class _CheckedEntry(io.RawIOBase):
    """Plaintext of one entry for rotation: decrypted as read; its digest and size are checked at the end."""

    def __init__(self, reader: BundleReader, e: Entry, key: bytes, src: IO[bytes]) -> None:
        self._e, self._reader = e, reader
        self._digest = hashlib.sha256() if reader.header.version != V1 else None
        self._inner = stream.DecryptingReader(
            entry_key(reader.header, key, e.id), src, reader.header.segment_size, self._digest
        )
        self._n = 0
        self._done = False

    def readable(self) -> bool:
        return True

    @_zip_errors
    def readinto(self, buf: WriteableBuffer) -> int:
        n = self._inner.readinto(buf)
        self._n += n
        if n == 0 and not self._done:
            self._done = True
            if self._digest is not None:
                if not hmac.compare_digest(self._digest.hexdigest(), self._e.digest):
                    raise BadSignatureError(f"entry {self._e.path!r} is not the content the author signed")
            if self._n != self._e.size:
                raise BundleError(f"entry {self._e.path!r} has the wrong size: the bundle was modified")
        return n


def _copy(src: IO[bytes], dst: IO[bytes]) -> None:
    while chunk := src.read(1 << 20):
        dst.write(chunk)


#: Bidirectional controls: they make a name display as another (docs/format.md §8).
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _check_paths(entries: list[Entry]) -> None:
    """Refuse unsafe or duplicate paths: absolute, `..`, empty parts, backslashes, control chars."""
    seen: set[str] = set()
    dirs: set[str] = set()
    files: set[str] = set()
    for e in entries:
        p = e.path
        if e.type not in ("file", "dir"):
            raise BundleError(f"hostile bundle: entry type {e.type!r} (links and devices are refused)")
        if e.type == "file" and not re.fullmatch(r"[0-9a-f]{32}", e.id):
            raise BundleError("hostile bundle: malformed entry ID")
        if (
            not p
            or p.startswith("/")
            or "\\" in p
            or any(unicodedata.category(c) == "Cc" or c in _BIDI for c in p)
            or re.match(r"^[A-Za-z]:", p)
            or any(part in ("", ".", "..") for part in p.split("/"))
            or posixpath.normpath(p) != p
        ):
            raise BundleError(f"hostile bundle: unsafe path {p[:80]!r}")
        folded = unicodedata.normalize("NFC", p).casefold()
        if folded in seen:
            raise BundleError(f"hostile bundle: duplicate path {p[:80]!r}")
        seen.add(folded)
        (dirs if e.type == "dir" else files).add(folded)
        if e.size < 0 or not 0 <= e.mode <= 0o7777 or not -MAX_MTIME <= e.mtime <= MAX_MTIME:
            raise BundleError("hostile bundle: invalid size, mode or time")
    for f in files:
        parent = f.rsplit("/", 1)[0] if "/" in f else None
        while parent:
            if parent in files:
                raise BundleError(f"hostile bundle: {parent!r} is both a file and a folder")
            parent = parent.rsplit("/", 1)[0] if "/" in parent else None
