"""In-document (selective) encryption: chosen parts of a document encrypted inside it (F4).

Each file type has a handler module exposing the `Handler` protocol below; `HANDLERS` maps a file
extension to "module:attribute" so handlers load lazily. The shared envelope is `c11.indoc.parts`.
`handler_for` wraps each handler so its methods raise only typed c11 errors (`c11.indoc._limits`).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol, Sequence

from c11.errors import UsageError

#: extension (lower case, with dot) -> "module:attribute" of a Handler instance
HANDLERS: dict[str, str] = {
    ".docx": "c11.indoc.docx:HANDLER",
    ".xlsx": "c11.indoc.xlsx:HANDLER",
    ".pdf": "c11.indoc.pdf:HANDLER",
    ".png": "c11.indoc.image:PNG_HANDLER",
    ".jpg": "c11.indoc.image:JPEG_HANDLER",
    ".jpeg": "c11.indoc.image:JPEG_HANDLER",
    ".json": "c11.indoc.structured.jsondoc:HANDLER",
    ".yaml": "c11.indoc.structured.yamldoc:HANDLER",
    ".yml": "c11.indoc.structured.yamldoc:HANDLER",
    ".csv": "c11.indoc.structured.csvdoc:HANDLER",
    ".md": "c11.indoc.structured.markdown:HANDLER",
}


class Handler(Protocol):
    """What every in-document format offers; `data` is always the whole file as bytes.

    `selectors` are strings (`c11.indoc.selectors` syntax, optionally `SELECTOR=>RECIPIENTS`) or
    parsed `Selector`s; `selectors.parse_all(selectors, matches, part_recipients)` turns all three
    arguments into Selectors. `unprotect` returns the new bytes and the `parts.Opened` result
    (parts it could not open stay protected in the output). `read_envelope` returns None for a
    file that is not protected. A handler may accept an optional `label=` keyword (the file name,
    for error messages); `c11.indoc.api` passes it when the signature has it.
    """

    name: str

    def protect(self, data: bytes, selectors: Sequence[str], recipients, sender, *, note: str = "",
                part_recipients: dict | None = None, matches: Sequence[str] = ()) -> bytes: ...

    def unprotect(self, data: bytes, identities) -> tuple[bytes, object]: ...

    def read_envelope(self, data: bytes): ...

    def write_envelope(self, data: bytes, envelope) -> bytes: ...


def handler_for(path: str | Path) -> Handler:
    """The handler for a file, chosen by its extension."""
    ext = Path(path).suffix.lower()
    target = HANDLERS.get(ext)
    if target is None:
        known = ", ".join(sorted(HANDLERS)) or "none"
        raise UsageError(f"{Path(path).name}: in-document protection does not support {ext or 'this'} files (supported: {known})")
    module, attr = target.split(":")
    return _Guarded(getattr(importlib.import_module(module), attr), ext)


class _Guarded:
    """A handler whose reading methods raise only typed c11 errors (library errors -> DocumentError)."""

    _METHODS = ("protect", "unprotect", "read_envelope", "write_envelope")

    def __init__(self, handler: Handler, ext: str) -> None:
        from c11.indoc._limits import typed_errors

        self._handler = handler
        self.name = getattr(handler, "name", ext)
        for m in self._METHODS:
            setattr(self, m, typed_errors(getattr(handler, m), f"this {ext} file"))

    def __getattr__(self, attr: str):
        return getattr(self._handler, attr)
