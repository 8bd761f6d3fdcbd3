"""SDK for in-document protection (docs/indoc.md): protect, unprotect, inspect and re-encrypt documents.

    from c11.indoc import api
    api.protect_document("report.docx", ["table:2", "heading:Salary"], [bob.public], me,
                         note="Ask HR for access", output="report.protected.docx")
    res = api.unprotect_document("report.protected.docx", [bob], output="report.docx")
    res.opened, res.closed            # locations opened / left protected

The format follows the file extension (or `format=".docx"` for bytes); see `c11.indoc.HANDLERS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from c11._internal.atomic import atomic_write_bytes
from c11.errors import NotC11FileError, TooLargeError, UsageError
from c11.format.envelope import Capability
from c11.indoc import HANDLERS, handler_for
from c11.indoc import parts as P
from c11.indoc._handler import Handler, PartRecipients, SelectorArg
from c11.indoc._limits import MAX_DOCUMENT
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

#: a document: its path, or its bytes (then give `format`)
Source = str | Path | bytes | bytearray | memoryview


@dataclass
class UnprotectResult:
    """What `unprotect_document` did: the new bytes, the locations opened and left closed, and who
    signed each group opened."""

    data: bytes
    opened: list[str]
    closed: list[str]
    senders: list[dict[str, Any]] = field(default_factory=list)
    output: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output, "opened": self.opened, "closed": self.closed, "senders": self.senders}


def supported(path: str | Path) -> bool:
    """Whether in-document protection handles this file's extension."""
    return Path(path).suffix.lower() in HANDLERS


def _load(src: Source, fmt: str | None) -> tuple[bytes, str, str]:
    if isinstance(src, (bytes, bytearray, memoryview)):
        if not fmt:
            raise UsageError("give format='.docx' (or another extension) when passing bytes")
        ext = fmt if fmt.startswith(".") else "." + fmt
        if len(src) > MAX_DOCUMENT:
            raise TooLargeError(f"the document is larger than {MAX_DOCUMENT >> 30} GiB")
        return bytes(src), ext.lower(), f"document{ext}"
    p = Path(src)
    try:
        if p.stat().st_size > MAX_DOCUMENT:
            raise TooLargeError(f"{p.name} is larger than {MAX_DOCUMENT >> 30} GiB, the most c11 protects in place")
        data = p.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{p} is a folder, not a document") from None
    ext = ("." + fmt.lstrip(".")) if fmt else p.suffix
    return data, ext.lower(), p.name


def default_output(path: str | Path, mode: str) -> Path:
    """report.docx -> report.protected.docx (protect); report.protected.docx -> report.docx,
    other names -> report.unprotected.docx (unprotect)."""
    p = Path(path)
    stem, ext = p.stem, p.suffix
    if mode == "protect":
        return p.with_name(f"{stem}.protected{ext}")
    if stem.endswith(".protected") and len(stem) > len(".protected"):
        return p.with_name(stem[: -len(".protected")] + ext)
    return p.with_name(f"{stem}.unprotected{ext}")


def protect_document(
    src: Source,
    selectors: Sequence[SelectorArg],
    recipients: Sequence[PublicKey],
    sender: Identity,
    *,
    note: str = "",
    matches: Sequence[str] = (),
    part_recipients: PartRecipients | None = None,
    output: str | Path | None = None,
    force: bool = False,
    format: str | None = None,
) -> bytes:
    """Protect chosen parts of a document; returns the protected bytes (also written to
    `output`, atomically, when given). Selectors are strings (`c11.indoc.selectors`) or
    parsed `Selector`s, optionally with `=>RECIPIENTS`."""
    data, ext, label = _load(src, format)
    handler = handler_for("x" + ext)
    out = handler.protect(
        data,
        list(selectors),
        list(recipients),
        sender,
        label=label,
        note=note,
        part_recipients=part_recipients,
        matches=list(matches),
    )
    if output is not None:
        atomic_write_bytes(Path(output), out, force=force)
    return out


def unprotect_document(
    src: Source,
    identities: Sequence[Identity],
    *,
    output: str | Path | None = None,
    force: bool = False,
    format: str | None = None,
) -> UnprotectResult:
    """Decrypt every part the identities may open; the others stay protected."""
    data, ext, label = _load(src, format)
    handler = handler_for("x" + ext)
    out, opened = handler.unprotect(data, list(identities), label=label)
    res = UnprotectResult(out, sorted(opened.plaintexts), list(opened.closed), list(opened.senders))
    if output is not None:
        atomic_write_bytes(Path(output), out, force=force)
        res.output = str(output)
    return res


def read_envelope(src: Source, format: str | None = None) -> P.Envelope:
    """The document's envelope; NotC11FileError when no part of it is protected."""
    data, ext, label = _load(src, format)
    return _envelope(handler_for("x" + ext), data, label)


def _envelope(handler: Handler, data: bytes, label: str) -> P.Envelope:
    env = handler.read_envelope(data, label=label)
    if env is None:
        raise NotC11FileError(f"{label}: no part of it is protected with c11")
    return env


def inspect_document(src: Source, format: str | None = None) -> dict[str, Any]:
    """What anyone can learn without a key: parts, their recipients (per group), the note."""
    data, ext, label = _load(src, format)
    env = _envelope(handler_for("x" + ext), data, label)
    groups = env.recipients()
    return {
        "kind": "document",
        "format": ext.lstrip("."),
        "doc_id": str(uuid.UUID(bytes=env.doc_id)),
        "note": env.note,
        "parts": [{"location": p.location, "group": p.group} for p in env.parts],
        "groups": groups,
        "signature_valid": all(g["signature_valid"] for g in groups),
    }


def reencrypt_document(
    path: str | Path,
    identity: Identity,
    *,
    add: Sequence[PublicKey] = (),
    remove: Sequence[str] = (),
    output: str | Path | None = None,
    force: bool = False,
    using: Sequence[Capability] = (),
) -> dict[str, Any]:
    """Add or remove recipients of every group of parts the identity can open, in place (or to
    `output`), without touching the parts themselves."""
    p = Path(path)
    data, ext, label = _load(p, None)
    handler = handler_for(p)
    env = _envelope(handler, data, label)
    new = P.reencrypt(env, identity, add=list(add), remove=list(remove), using=using)
    out = handler.write_envelope(data, new, label=label)
    target = Path(output) if output is not None else p
    atomic_write_bytes(target, out, force=force or output is None)
    return {"output": str(target), "groups": new.recipients()}
