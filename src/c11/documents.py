"""In-document protection: chosen parts of a Word, Excel, PDF, image, JSON, YAML, CSV or Markdown document are
encrypted inside it for their recipients; the rest stays readable by anyone (docs/indoc.md).

    >>> import json
    >>> from c11 import documents
    >>> from c11.keys import Identity
    >>> me, hr = Identity.generate("me@example.com"), Identity.generate("hr@example.com")
    >>> record = json.dumps({"name": "Ada", "salary": 4200}).encode()
    >>> protected = documents.protect(record, ["key:salary"], [hr.public], me, format=".json")
    >>> json.loads(protected)["name"]                      # readable by anyone
    'Ada'
    >>> info = documents.inspect(protected, format=".json")
    >>> [p["location"] for p in info.parts], info.signature_valid
    (['json:/salary'], True)
    >>> opened = documents.unprotect(protected, [hr], format=".json")
    >>> json.loads(opened.data)["salary"], opened.closed
    (4200, [])

A document is a path, or bytes with `format` (its extension). Selectors (`table:2`, `heading:Salary`, `page:1`,
`key:REGEX`, `path:/a/*/b`...) are listed in docs/indoc.md §3. Decryption takes what it may use as in
`c11.files`: identities, identity sources and a key server's release.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from c11.format.envelope import Capability
from c11.indoc import api
from c11.indoc._handler import PartRecipients, SelectorArg
from c11.indoc.api import Source, UnprotectResult, supported
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

__all__ = ["DocumentInfo", "UnprotectResult", "inspect", "protect", "reencrypt", "supported", "unprotect"]


@dataclass
class DocumentInfo:
    """What a protected document tells anyone, without a key: its parts (location, group), each group's
    recipients and signer, and the note shown to readers without c11. `output` is set after `reencrypt`."""

    format: str
    doc_id: str
    note: str
    parts: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    signature_valid: bool = False
    output: str | None = None
    kind: str = "document"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def protect(
    src: Source,
    selectors: Sequence[SelectorArg],
    recipients: Sequence[PublicKey],
    sender: Identity,
    *,
    note: str = "",
    part_recipients: PartRecipients | None = None,
    output: str | Path | None = None,
    force: bool = False,
    format: str | None = None,
) -> bytes:
    """Protect the parts `selectors` choose for `recipients`, signed by `sender`; returns the document's bytes
    (also written to `output`, atomically, when given; an existing one only with `force`)."""
    return api.protect_document(
        src,
        selectors,
        recipients,
        sender,
        note=note,
        part_recipients=part_recipients,
        output=output,
        force=force,
        format=format,
    )


def unprotect(
    src: Source,
    identities: Sequence[Capability],
    *,
    output: str | Path | None = None,
    force: bool = False,
    format: str | None = None,
) -> UnprotectResult:
    """Open every part `identities` may open (the others stay protected): the new bytes, the locations
    opened and left closed, and who signed each group opened."""
    return api.unprotect_document(src, identities, output=output, force=force, format=format)  # type: ignore[arg-type]


def inspect(src: Source, format: str | None = None) -> DocumentInfo:
    """What anyone can learn from a protected document; NotC11FileError when no part of it is protected."""
    d = api.inspect_document(src, format=format)
    return DocumentInfo(d["format"], d["doc_id"], d["note"], d["parts"], d["groups"], d["signature_valid"])


def reencrypt(
    path: str | Path,
    identity: Identity,
    *,
    add: Sequence[PublicKey] = (),
    remove: Sequence[str] = (),
    output: str | Path | None = None,
    force: bool = False,
    using: Sequence[Capability] = (),
) -> DocumentInfo:
    """Add recipients to, or remove them (by fingerprint) from, every group of parts `identity` (or what `using`
    gives: group keys) opens, in place (or to `output`); the parts themselves are not re-encrypted."""
    d = api.reencrypt_document(path, identity, add=add, remove=remove, output=output, force=force, using=using)
    info = inspect(d["output"])
    info.output = d["output"]
    return info
