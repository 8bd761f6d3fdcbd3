"""The c11 SDK for protected content: encrypt, decrypt, inspect and re-encrypt files, bundles and
messages. The CLI is a thin layer over these functions; every failure is a `c11.errors` type.

    >>> from c11.keys import Identity
    >>> me, friend = Identity.generate("me@example.com"), Identity.generate("friend@example.com")
    >>> blob = encrypt_bytes(b"hello", [friend.public], me)
    >>> decrypt_bytes(blob, [friend]).plaintext
    b'hello'
"""

from __future__ import annotations

import io
import mimetypes
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from c11._container import (
    FileInfo,
    Result,
    _content_verified,
    _with_meta,
    file_info,
    open_header,
    payload_reader,
    read_payload,
    seal_header,
    sniff,
    write_payload,
)
from c11._internal.atomic import atomic_dir, atomic_output
from c11.errors import C11Error, FormatError, RecipientError, UsageError
from c11.format import armor as _armor
from c11.format import bundle as _bundle
from c11.format import envelope, stream
from c11.format.envelope import RECIPIENT_KEYS, Capability, Metadata
from c11.format.header import MAGIC, V1, Header, HeaderOptions, read_header
from c11.format.stream import DEFAULT_SEGMENT, Progress
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey
from c11.rewrap import match_fingerprints, reencrypt, rewrap_header

__all__ = [
    "FileInfo",
    "HeaderOptions",
    "Result",
    "encrypt",
    "decrypt",
    "encrypt_bytes",
    "decrypt_bytes",
    "encrypt_message",
    "decrypt_message",
    "encrypt_paths",
    "decrypt_path",
    "inspect",
    "file_info",
    "reencrypt",
    "sniff",
    "RECIPIENT_KEYS",
    "match_fingerprints",
    "open_header",
    "payload_reader",
    "read_payload",
    "rewrap_header",
    "seal_header",
    "write_payload",
]

SUFFIX = ".c11"
BUNDLE_SUFFIX = ".c11.zip"
MAX_ARMOR_INPUT = 16 << 20


def _recipient_set(recipients: Iterable[PublicKey], sender: Identity, include_sender: bool) -> list[PublicKey]:
    out = list(recipients)
    if include_sender:
        out.append(sender.public)
    if not out:
        raise RecipientError("no recipients: give at least one, or include the sender", reason="no-recipients")
    return out


# ---------------------------------------------------------------- streams and bytes


def encrypt(
    src: BinaryIO,
    dst: BinaryIO,
    recipients: Iterable[PublicKey],
    sender: Identity,
    *,
    include_sender: bool = True,
    metadata: Metadata | None = None,
    segment_size: int = DEFAULT_SEGMENT,
    progress: Progress = None,
    options: HeaderOptions | None = None,
) -> FileInfo:
    """Encrypt a stream into a .c11 file written to `dst`; the sender signs it. `options` fixes more of the
    header (e.g. an online policy's `OnlineSeal.options()`)."""
    rs = _recipient_set(recipients, sender, include_sender)
    opts = options or HeaderOptions()
    header, file_key = seal_header(rs, sender, metadata=metadata, segment_size=segment_size, **opts.seal_kw())
    raw = header.encode()
    dst.write(raw)
    write_payload(header, file_key, sender, src, dst, progress)
    return _content_verified(file_info(header, len(raw), (metadata or Metadata()).kind))


def _peek(src: BinaryIO, n: int = 32) -> bytes:
    if hasattr(src, "peek"):
        return src.peek(n)[:n]
    pos = src.tell()
    head = src.read(n)
    src.seek(pos)
    return head


def decrypt(src: BinaryIO, dst: BinaryIO, identities: Sequence[Capability], *, progress: Progress = None) -> FileInfo:
    """Decrypt a .c11 file or armored message from `src` into `dst`, verifying everything."""
    head = _peek(src)
    if _armor.is_armored(head):
        data = src.read(_armor.MAX_ARMORED + 1)
        if len(data) > _armor.MAX_ARMORED:
            raise FormatError("armored message too large")
        src = io.BytesIO(_armor.dearmor(data))
        head = _peek(src)
        if not head.startswith(MAGIC[:4]):
            raise FormatError("the armored message is damaged: it does not hold a c11 file")
    if head.startswith(b"PK\x03\x04"):
        raise UsageError("this is a .c11.zip bundle: decrypt it to a folder", reason="bundle-to-folder")
    header, raw = read_header(src)
    file_key, meta = open_header(header, identities)
    if meta.kind not in ("file", "message"):
        raise FormatError(f"this is the header of a {meta.kind!r}, not of a protected file or message")
    n = read_payload(header, file_key, src, dst, progress)
    if meta.size is not None and n != meta.size:
        raise FormatError(f"decrypted size {n} differs from the recorded size {meta.size}")
    return _content_verified(_with_meta(file_info(header, len(raw), meta.kind), meta))


def encrypt_bytes(
    data: bytes,
    recipients: Iterable[PublicKey],
    sender: Identity,
    *,
    include_sender: bool = True,
    name: str | None = None,
    media_type: str | None = None,
    kind: str = "file",
) -> bytes:
    """Encrypt bytes in memory into a .c11 file."""
    out = io.BytesIO()
    meta = Metadata(name=name, type=media_type, size=len(data), kind=kind)
    encrypt(io.BytesIO(data), out, recipients, sender, include_sender=include_sender, metadata=meta)
    return out.getvalue()


def decrypt_bytes(blob: bytes, identities: Sequence[Capability]) -> Result:
    """Decrypt a .c11 file or armored message held in memory."""
    out = io.BytesIO()
    info = decrypt(io.BytesIO(blob), out, identities)
    return Result(info, plaintext=out.getvalue())


def encrypt_message(
    text: str, recipients: Iterable[PublicKey], sender: Identity, *, include_sender: bool = True
) -> str:
    """Encrypt a short text to an ASCII-armored block for email or chat (docs/format.md §7)."""
    return _armor.armor(
        encrypt_bytes(
            text.encode("utf-8"),
            recipients,
            sender,
            include_sender=include_sender,
            media_type="text/plain; charset=utf-8",
            kind="message",
        )
    )


def decrypt_message(block: str, identities: Sequence[Capability]) -> tuple[str, FileInfo]:
    r = decrypt_bytes(block.encode("utf-8") if isinstance(block, str) else block, identities)
    try:
        return r.plaintext.decode("utf-8"), r.info
    except UnicodeDecodeError:
        raise FormatError("the message is not UTF-8 text (decrypt it as a file)") from None


# ---------------------------------------------------------------- paths


def default_output(inputs: Sequence[Path], armor: bool = False) -> Path:
    if len(inputs) != 1:
        raise UsageError("several inputs make one bundle: name it", reason="name-the-bundle")
    p = inputs[0]
    if p.is_dir():
        return p.with_name(p.resolve().name + BUNDLE_SUFFIX) if p.name else Path(p.resolve().name + BUNDLE_SUFFIX)
    return p.with_name(p.name + SUFFIX)


def encrypt_paths(
    inputs: Sequence[Path],
    output: Path,
    recipients: Iterable[PublicKey],
    sender: Identity,
    *,
    include_sender: bool = True,
    armor: bool = False,
    force: bool = False,
    segment_size: int = DEFAULT_SEGMENT,
    progress: Progress = None,
    options: HeaderOptions | None = None,
) -> FileInfo:
    """Protect one file into a .c11 file, or folders / several files into a .c11.zip bundle (`options` as for
    `encrypt`)."""
    options = options or HeaderOptions()
    inputs = [Path(p) for p in inputs]
    if not inputs:
        raise UsageError("nothing to encrypt")
    for p in inputs:
        if not p.exists():
            raise UsageError(f"{p}: no such file or folder")
    rs = _recipient_set(recipients, sender, include_sender)
    if len(inputs) == 1 and inputs[0].is_file():
        src_path = inputs[0]
        st = src_path.stat()
        meta = Metadata(src_path.name, mimetypes.guess_type(src_path.name)[0], st.st_size, int(st.st_mtime))
        if armor:
            if st.st_size > MAX_ARMOR_INPUT:
                raise UsageError("armored output is for messages and small files (at most 16 MiB)")
            out = io.BytesIO()
            with open(src_path, "rb") as src:
                info = encrypt(
                    src,
                    out,
                    rs,
                    sender,
                    include_sender=False,
                    metadata=meta,
                    segment_size=segment_size,
                    options=options,
                )
            with atomic_output(output, force=force) as f:
                f.write(_armor.armor(out.getvalue()).encode())
            return info
        size_hint = stream.ciphertext_size(st.st_size, segment_size) + (64 << 10)
        with open(src_path, "rb", buffering=0) as src, atomic_output(output, force=force, preallocate=size_hint) as dst:
            info = encrypt(
                src,
                dst,
                rs,
                sender,
                include_sender=False,
                metadata=meta,
                segment_size=segment_size,
                progress=progress,
                options=options,
            )
        return info
    if armor:
        raise UsageError("armored output cannot be used for folders or several files")
    entries = _bundle.collect(inputs)
    name = inputs[0].resolve().name if len(inputs) == 1 else None
    meta = Metadata(name, BUNDLE_TYPE, sum(e.size for e in entries), kind="bundle")
    header, file_key = seal_header(rs, sender, metadata=meta, segment_size=segment_size, **options.seal_kw())
    with atomic_output(output, force=force) as dst:
        _bundle.write(dst, entries, header, file_key, progress, sender)
    info = _content_verified(file_info(header, len(header.encode()), "bundle"))
    info.entries = sum(e.type == "file" for e in entries)
    return _with_meta(info, meta)


BUNDLE_TYPE = "application/vnd.c11.bundle"


def _check_bundle_meta(meta: Metadata, entries: list) -> None:
    """A bundle's header metadata (docs/format.md §8): kind "bundle", its media type, and `size` the total
    of its files' sizes (not the manifest's), when given."""
    if meta.kind != "bundle" or meta.type != BUNDLE_TYPE:
        raise FormatError("the bundle's metadata does not describe a bundle (kind or type)")
    total = sum(e.size for e in entries if e.type == "file")
    if meta.size is not None and meta.size != total:
        raise FormatError(f"the bundle's recorded size {meta.size} differs from its files' total {total}")


def decrypt_path(
    path: Path,
    output: Path | None,
    identities: Sequence[Capability],
    *,
    force: bool = False,
    progress: Progress = None,
) -> Result:
    """Decrypt a file, message or bundle to `output` (a folder for bundles), atomically."""
    path = Path(path)
    kind = sniff(path)
    if output is None:
        name = path.name
        for suffix in (BUNDLE_SUFFIX, SUFFIX):
            if name.endswith(suffix) and len(name) > len(suffix):
                output = path.with_name(name[: -len(suffix)])
                break
        else:
            raise UsageError(
                f"cannot choose an output name for {path} (it does not end in .c11)", reason="name-the-output"
            )
    if kind == "bundle":
        with open(path, "rb") as f:
            reader = _bundle.BundleReader(f)
            file_key, meta = open_header(reader.header, identities)
            entries = reader.read_manifest(file_key)
            _check_bundle_meta(meta, entries)
            with atomic_dir(output, force=force) as tmp:
                reader.extract(entries, file_key, tmp, progress)
            info = _content_verified(_with_meta(file_info(reader.header, len(reader.header_bytes), "bundle"), meta))
            info.entries = sum(e.type == "file" for e in entries)
            return Result(info, output=output)
    size_hint = path.stat().st_size
    with open(path, "rb") as src, atomic_output(output, force=force, mode=0o600, preallocate=size_hint) as dst:
        info = decrypt(src, dst, identities, progress=progress)
    return Result(info, output=output)


def inspect(path: Path | BinaryIO) -> FileInfo:
    """What anyone can learn from a protected file without a key.

    Both signatures are checked: the header signature, and in version 2 the author's content
    signature against the hashes of the payload (for a bundle: of its manifest; entries are checked
    against the signed manifest when decrypting). `content_signed` says whether that held; input that
    cannot be read twice (a pipe) only has its header checked.
    """
    if isinstance(path, (str, Path)):
        path = Path(path)
        kind = sniff(path)
        size = path.stat().st_size
        with open(path, "rb") as f:
            if kind == "bundle":
                reader = _bundle.BundleReader(f)
                info = file_info(reader.header, len(reader.header_bytes), "bundle")
                info.entries = len(reader.names) - 2
                manifest = reader.manifest_file()
                read_header(manifest)
                _check_content(reader.header, manifest, info)
            elif kind == "armor":
                return _inspect_blob(_armor.dearmor(f.read(_armor.MAX_ARMORED)), "message")
            else:
                header, raw = read_header(f)
                info = _check_content(header, f, file_info(header, len(raw), "file"))
        info.total_size = size
        return info
    head = _peek(path)
    if _armor.is_armored(head):
        return _inspect_blob(_armor.dearmor(path.read(_armor.MAX_ARMORED)), "message")
    header, raw = read_header(path)
    return _check_content(header, path, file_info(header, len(raw), "file"))


def _check_content(header: Header, src: BinaryIO, info: FileInfo) -> FileInfo:
    """Version 2, seekable input: verify the author's signature over the payload's segment hashes."""
    if header.version == V1 or not stream._seekable(src):
        return info
    try:
        stream.verify_hashes(src, header.segment_size, envelope.content_check(header))
    except C11Error:
        info.signature_valid = False
        return info
    return _content_verified(info)


def _inspect_blob(blob: bytes, kind: str) -> FileInfo:
    src = io.BytesIO(blob)
    header, raw = read_header(src)
    info = _check_content(header, src, file_info(header, len(raw), kind))
    info.total_size = len(blob)
    return info
