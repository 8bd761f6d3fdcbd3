"""The binary header of a .c11 file: parse and serialize, nothing cryptographic.

Layout (docs/format.md §2; version 1 in §13): magic, version, length, body fields, stanzas, then a
32-byte MAC and a 64-byte Ed25519 signature by the header signer. All integers are big-endian.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from typing import IO, Any

from c11.errors import FormatError, NotC11FileError, TruncatedError, UnsupportedVersionError
from c11.format.labels import check_label

MAGIC = b"\x89C11\r\n\x1a\n"
VERSION = 2  # what c11 writes
V1 = 1
READABLE = (V1, VERSION)
ORIGIN_WRITTEN = 0
ORIGIN_ROTATED = 1
COMMITMENT_SIZE = 32
PREFIX_SIZE = len(MAGIC) + 1 + 4
MAC_SIZE = 32
SIG_SIZE = 64
MAX_BODY = 64 << 20
MIN_SEGMENT = 1 << 10
MAX_SEGMENT = 1 << 24
FLAG_CRITICAL = 0x01


@dataclass
class Stanza:
    """One typed entry of the header: a wrapped key for a recipient, or an extension."""

    type: str
    body: bytes
    critical: bool = False


@dataclass(frozen=True)
class HeaderOptions:
    """What a writer may fix in a new header besides recipients and metadata (`c11.files.encrypt(options=...)`):
    extension stanzas (an online policy, the temporary-keys list), the key recipient stanzas wrap instead of the
    file key (an online policy's A) with that file key and the document ID, and the creation time."""

    extra_stanzas: tuple[Stanza, ...] = ()
    recipient_key: bytes | None = None
    file_key: bytes | None = None
    doc_id: bytes | None = None
    created: int | None = None

    def with_stanzas(self, stanzas: Iterable[Stanza]) -> HeaderOptions:
        """These options with more extension stanzas."""
        return replace(self, extra_stanzas=(*self.extra_stanzas, *stanzas))

    def seal_kw(self) -> dict[str, Any]:
        """The keyword arguments of sealing a header, for the options set."""
        kw = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) not in (None, ())}
        if "extra_stanzas" in kw:
            kw["extra_stanzas"] = list(self.extra_stanzas)
        return kw


@dataclass
class Header:
    """A parsed header. `sender_*` is the header signer; `author_*` the content signer (version 2).

    In a version 1 header there is no author: `author_label`/`author_key` stay empty.
    """

    doc_id: bytes
    created: int
    segment_size: int
    nonce: bytes
    sender_label: str
    sender_key: bytes
    metadata: bytes
    stanzas: list[Stanza] = field(default_factory=list)
    mac: bytes = b""
    signature: bytes = b""
    version: int = VERSION
    commitment: bytes = b""
    origin: int = ORIGIN_WRITTEN
    author_label: str = ""
    author_key: bytes = b""
    #: In-document groups only: the author's content signature, carried next to the header (indoc.md).
    content_signature: bytes = field(default=b"", compare=False)

    def core(self) -> bytes:
        """Magic, version, length and body: the bytes the MAC covers."""
        body = self._body()
        return MAGIC + bytes([self.version]) + struct.pack(">I", len(body)) + body

    def signed_message(self) -> bytes:
        """What the header signer signs: a context string, the core and the MAC."""
        context = b"c11/v1 signature\x00" if self.version == V1 else b"c11/v2 header\x00"
        return context + self.core() + self.mac

    @property
    def content_signed(self) -> bool:
        """Whether the format has an author signature over the content (version 2)."""
        return self.version >= 2

    @property
    def reshared(self) -> bool:
        """Version 2: the header was written by someone other than the author (recipients changed)."""
        return self.version >= 2 and (self.sender_key != self.author_key or self.sender_label != self.author_label)

    def encode(self) -> bytes:
        if len(self.mac) != MAC_SIZE or len(self.signature) != SIG_SIZE:
            raise ValueError("header is not sealed")
        return self.core() + self.mac + self.signature

    def _body(self) -> bytes:
        label = self.sender_label.encode("utf-8")
        out = [self.doc_id, struct.pack(">QI", self.created, self.segment_size), self.nonce]
        if self.version != V1:
            author = self.author_label.encode("utf-8")
            out += [self.commitment, bytes([self.origin]), struct.pack(">H", len(author)), author, self.author_key]
        out += [
            struct.pack(">H", len(label)),
            label,
            self.sender_key,
            struct.pack(">I", len(self.metadata)),
            self.metadata,
            struct.pack(">H", len(self.stanzas)),
        ]
        for s in self.stanzas:
            t = s.type.encode("ascii")
            out += [
                struct.pack(">B", len(t)),
                t,
                bytes([FLAG_CRITICAL if s.critical else 0]),
                struct.pack(">I", len(s.body)),
                s.body,
            ]
        return b"".join(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise FormatError("malformed header: a field runs past the header's end")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uint(self, fmt: str) -> int:
        value: int = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        return value


def _read_exact(src: IO[bytes], n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        b = src.read(n - got)
        if not b:
            break
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def check_prefix(prefix: bytes) -> int:
    """Validate magic and version of the first 13 bytes; return the body length."""
    if len(prefix) < len(MAGIC) or prefix[: len(MAGIC)] != MAGIC:
        if MAGIC.startswith(prefix) and prefix:
            raise TruncatedError("the file ends inside its header (truncated)")
        raise NotC11FileError("not a c11 file (no c11 header)")
    if len(prefix) < len(MAGIC) + 1:
        raise TruncatedError("the file ends inside its header (truncated)")
    if prefix[len(MAGIC)] not in READABLE:
        raise UnsupportedVersionError(
            f"unsupported c11 format version {prefix[len(MAGIC)]} (this c11 reads versions 1 and {VERSION}; "
            "upgrade c11)"
        )
    if len(prefix) < PREFIX_SIZE:
        raise TruncatedError("the file ends inside its header (truncated)")
    length: int = struct.unpack(">I", prefix[len(MAGIC) + 1 : PREFIX_SIZE])[0]
    if length > MAX_BODY:
        raise FormatError(f"malformed header: declared size {length} exceeds the limit")
    return length


def read_header(src: IO[bytes]) -> tuple[Header, bytes]:
    """Read one header from a stream; return it and its exact encoded bytes."""
    prefix = _read_exact(src, PREFIX_SIZE)
    length = check_prefix(prefix)
    rest = _read_exact(src, length + MAC_SIZE + SIG_SIZE)
    if len(rest) < length + MAC_SIZE + SIG_SIZE:
        raise TruncatedError("the file ends inside its header (truncated)")
    header = parse_body(rest[:length], prefix[len(MAGIC)])
    header.mac = rest[length : length + MAC_SIZE]
    header.signature = rest[length + MAC_SIZE :]
    raw = prefix + rest
    if header.core() != raw[: PREFIX_SIZE + length]:
        raise FormatError("malformed header: non-canonical encoding")
    return header, raw


def _label(r: _Reader, what: str) -> str:
    try:
        return check_label(r.take(r.uint(">H")).decode("utf-8"))
    except UnicodeDecodeError:
        raise FormatError(f"malformed header: the {what} label is not UTF-8") from None
    except ValueError as e:
        raise FormatError(f"malformed header: the {what} label {e}") from None


def parse_body(body: bytes, version: int = VERSION) -> Header:
    r = _Reader(body)
    doc_id = r.take(16)
    created = r.uint(">Q")
    segment_size = r.uint(">I")
    if not MIN_SEGMENT <= segment_size <= MAX_SEGMENT:
        raise FormatError(f"malformed header: segment size {segment_size} out of range")
    nonce = r.take(16)
    v2: dict[str, Any] = {}
    if version != V1:
        commitment, origin = r.take(COMMITMENT_SIZE), r.uint(">B")
        if origin not in (ORIGIN_WRITTEN, ORIGIN_ROTATED):
            raise FormatError(f"malformed header: unknown origin {origin}")
        author = _label(r, "author")
        v2 = dict(commitment=commitment, origin=origin, author_label=author, author_key=r.take(32))
    label = _label(r, "signer" if version != V1 else "sender")
    sender_key = r.take(32)
    metadata = r.take(r.uint(">I"))
    count = r.uint(">H")
    if count == 0:
        raise FormatError("malformed header: no recipient stanzas")
    stanzas = []
    for _ in range(count):
        t = r.take(r.uint(">B"))
        if not t or not all(0x21 <= c <= 0x7E for c in t):
            raise FormatError("malformed header: invalid stanza type")
        flags = r.uint(">B")
        if flags & ~FLAG_CRITICAL:
            raise FormatError("malformed header: unknown stanza flags")
        stanzas.append(Stanza(t.decode("ascii"), r.take(r.uint(">I")), bool(flags & FLAG_CRITICAL)))
    if r.pos != len(body):
        raise FormatError("malformed header: trailing bytes after the stanzas")
    return Header(doc_id, created, segment_size, nonce, label, sender_key, metadata, stanzas, version=version, **v2)
