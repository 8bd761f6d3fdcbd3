"""Re-encryption (docs/format.md §9): change who can open a protected file, or rotate its file key.

Adding or removing recipients rewrites only the header; rotation re-encrypts the payload
streaming, never writing plaintext to disk. Both replace the file atomically.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

from c11._container import (
    FileInfo,
    _content_verified,
    _keys_stanza,
    _read_keys_stanza,
    _with_meta,
    file_info,
    open_header,
    payload_reader,
    seal_header,
    sniff,
    write_payload,
)
from c11._internal.atomic import atomic_output
from c11.errors import UsageError
from c11.format import armor as _armor
from c11.format import bundle as _bundle
from c11.format import envelope, stream
from c11.format.envelope import RECIPIENT_KEYS, Capability
from c11.format.header import ORIGIN_ROTATED, V1, Header, read_header
from c11.format.stream import Progress
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey


def match_fingerprints(header: Header, wanted: Iterable[str]) -> set[bytes]:
    """Key IDs of the header's recipient stanzas named by fingerprints (8+ hex digits each)."""
    ids = [kid for s in header.stanzas if (kid := envelope.stanza_key_id(s)) is not None]
    out: set[bytes] = set()
    for fp in wanted:
        clean = fp.replace(":", "").replace(" ", "").lower()
        if len(clean) < 8 or any(c not in "0123456789abcdef" for c in clean):
            raise UsageError(f"{fp!r} is not a fingerprint (at least 8 hex digits)")
        hits = [k for k in ids if k.hex().startswith(clean)]
        if not hits:
            raise UsageError(f"no recipient has fingerprint {fp} (recipients: {', '.join(k.hex() for k in ids)})")
        if len(hits) > 1:
            raise UsageError(f"fingerprint {fp} is ambiguous: give more digits")
        out.add(hits[0])
    return out


def rewrap_header(
    header: Header, file_key: bytes, identity: Identity, add: Sequence[PublicKey], remove: set[bytes], rotate: bool
) -> tuple[Header, bytes]:
    """The new header (and file key) after adding/removing recipients or rotating the key.

    `remove` holds key IDs (see `match_fingerprints`). Used for files, bundles and documents.
    """
    known = {k.key_id: k for k in _read_keys_stanza(header, file_key)}
    kept_stanzas = [s for s in header.stanzas if (kid := envelope.stanza_key_id(s)) is not None and kid not in remove]
    extensions = [s for s in header.stanzas if envelope.stanza_key_id(s) is None and s.type != RECIPIENT_KEYS]
    kept_ids = {envelope.stanza_key_id(s) for s in kept_stanzas}
    new = [k for k in add if k.key_id not in kept_ids]
    if not kept_stanzas and not new:
        raise UsageError("this would leave the file with no recipients")
    public = [known[k] for k in kept_ids if k in known] + list(add)
    if identity.public.key_id in kept_ids:
        public.append(identity.public)
    # With a key-transform stanza (online policy), recipients hold the recipient key A, not the file key.
    transformed = any(s.critical and envelope.has_key_transform(s.type) for s in header.stanzas)
    if rotate:
        if transformed:
            raise UsageError(
                "cannot rotate the key of a file with an online policy: decrypt it and encrypt it "
                "again with an online policy",
                reason="rotate-online",
            )
        missing = [k.hex() for k in kept_ids if k not in known and k != identity.public.key_id]
        if missing:
            raise UsageError(
                "cannot rotate: the file does not record the public keys of recipients "
                f"{', '.join(missing)}; add their keys again or remove them",
                reason="rotate-missing-keys",
            )
        meta = envelope.read_metadata(header, file_key)
        return seal_header(
            public,
            identity,
            metadata=meta,
            segment_size=header.segment_size,
            doc_id=header.doc_id,
            created=header.created,
            extra_stanzas=extensions,
            origin=ORIGIN_ROTATED,
        )
    nonce, doc_id = header.nonce, header.doc_id
    wrapped = envelope.unwrap_recipient_key(header, [identity]) if transformed and new else file_key
    stanzas = kept_stanzas + [envelope.wrap(k, wrapped, doc_id) for k in new] + extensions
    stanzas.append(_keys_stanza(public, nonce, file_key, doc_id))
    return envelope.reshare(header, file_key, identity, stanzas), file_key


def removes_self(header: Header, identity: Identity, remove: Iterable[str]) -> bool:
    """Whether `remove` names the caller's own recipient stanza (they could no longer open the file)."""
    return identity.public.key_id in match_fingerprints(header, remove)


def reencrypt(
    path: Path,
    identity: Identity,
    *,
    add: Sequence[PublicKey] = (),
    remove: Iterable[str] = (),
    rotate: bool = False,
    progress: Progress = None,
    remove_self: bool = False,
    using: Sequence[Capability] = (),
) -> FileInfo:
    """Change the recipients of a .c11 file or bundle in place, atomically (docs/format.md §9).

    Without `rotate` only the header changes (the payload and the author's content signature are
    kept; `identity` signs the new header as re-sharer); with `rotate` a new file key is made,
    everything is re-encrypted and `identity` signs it as the rotating author. Removing the caller's
    own key needs `remove_self=True` (UsageError otherwise). `using` is what opening the file may use besides
    `identity` (group keys, a key server's release: see `c11.format.envelope.Capability`).
    """
    path = Path(path)
    kind = sniff(path)
    remove = list(remove)
    if kind == "armor":
        with open(path, "rb") as f:
            blob = _armor.dearmor(f.read(_armor.MAX_ARMORED))
        out = io.BytesIO()
        info = _reencrypt_stream(io.BytesIO(blob), out, identity, add, remove, rotate, None, remove_self, using)
        with atomic_output(path, force=True) as f:
            f.write(_armor.armor(out.getvalue()).encode())
        return info
    with open(path, "rb") as src:
        if kind == "bundle":
            reader = _bundle.BundleReader(src)
            file_key, _ = open_header(reader.header, [identity, *using])
            _confirm_self(reader.header, identity, remove, remove_self)
            new_header, new_key = rewrap_header(
                reader.header, file_key, identity, add, match_fingerprints(reader.header, remove), rotate
            )
            entries = reader.read_manifest(file_key)
            with atomic_output(path, force=True) as dst:
                if rotate:
                    reader.rotate(dst, entries, file_key, new_header, new_key, progress, identity)
                else:
                    reader.copy_with_header(dst, new_header)
            info = _content_verified(file_info(new_header, len(new_header.encode()), "bundle"))
            info.entries = sum(e.type == "file" for e in entries)
            return info
        with atomic_output(path, force=True) as dst:
            return _reencrypt_stream(src, dst, identity, add, remove, rotate, progress, remove_self, using)


def _confirm_self(header: Header, identity: Identity, remove: list[str], remove_self: bool) -> None:
    """UsageError when `remove` names the caller's own key and they did not confirm it."""
    if not remove_self and removes_self(header, identity, remove):
        raise UsageError(
            "you are removing your own key: you will no longer be able to open this file (confirm to go on)"
        )


def _reencrypt_stream(src, dst, identity, add, remove, rotate, progress, remove_self, using) -> FileInfo:
    header, _ = read_header(src)
    file_key, meta = open_header(header, [identity, *using])
    _confirm_self(header, identity, remove, remove_self)
    new_header, new_key = rewrap_header(header, file_key, identity, add, match_fingerprints(header, remove), rotate)
    raw = new_header.encode()
    if rotate:
        dst.write(raw)
        write_payload(new_header, new_key, identity, payload_reader(header, file_key, src), dst, progress)
    else:
        if header.version != V1:  # the author's signature must hold before it is passed on
            pos = src.tell()
            stream.verify_hashes(src, header.segment_size, envelope.content_check(header))
            src.seek(pos)
        dst.write(raw)
        while chunk := src.read(1 << 20):
            dst.write(chunk)
            if progress:
                progress(len(chunk))
    return _content_verified(_with_meta(file_info(new_header, len(raw), meta.kind), meta))
