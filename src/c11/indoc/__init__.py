"""In-document (selective) encryption: chosen parts of a document encrypted inside it (docs/indoc.md).

Each file type has a handler implementing `Handler` (`c11.indoc._handler`); `HANDLERS` maps a file
extension to "module:attribute" so handlers load lazily. The shared envelope is `c11.indoc.parts`.
`handler_for` wraps each handler so its methods raise only typed c11 errors (`c11.indoc._limits`).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

from c11.errors import UsageError
from c11.indoc._handler import Handler, PartRecipients, SelectorArg
from c11.indoc._limits import typed_errors

if TYPE_CHECKING:  # annotations only: `import c11.indoc` stays light
    from c11.indoc import parts as P
    from c11.keys.identity import Identity
    from c11.keys.publickey import PublicKey

__all__ = ["HANDLERS", "Handler", "handler_for"]

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


def handler_for(path: str | Path) -> Handler:
    """The handler for a file, chosen by its extension."""
    ext = Path(path).suffix.lower()
    target = HANDLERS.get(ext)
    if target is None:
        known = ", ".join(sorted(HANDLERS)) or "none"
        raise UsageError(
            f"{Path(path).name}: in-document protection does not support {ext or 'this'} files (supported: {known})"
        )
    module, attr = target.split(":")
    return _Guarded(cast(Handler, getattr(importlib.import_module(module), attr)), ext)


class _Guarded:
    """A handler whose methods raise only typed c11 errors (library errors -> DocumentError).

    `label` (the file's name in error messages) is passed on only when given: each handler has its
    own default ("document", "workbook"), and errors then name "this .EXT file".
    """

    def __init__(self, handler: Handler, ext: str) -> None:
        self._handler = handler
        self._what = f"this {ext} file"
        self.name = handler.name

    def protect(
        self,
        data: bytes,
        selectors: Sequence[SelectorArg],
        recipients: Sequence[PublicKey],
        sender: Identity,
        *,
        note: str = "",
        part_recipients: PartRecipients | None = None,
        matches: Sequence[str] = (),
        label: str | None = None,
    ) -> bytes:
        return typed_errors(self._handler.protect, self._what)(
            data,
            selectors,
            recipients,
            sender,
            note=note,
            part_recipients=part_recipients,
            matches=matches,
            **_label(label),
        )

    def unprotect(
        self, data: bytes, identities: Sequence[Identity], *, label: str | None = None
    ) -> tuple[bytes, P.Opened]:
        return typed_errors(self._handler.unprotect, self._what)(data, identities, **_label(label))

    def read_envelope(self, data: bytes, *, label: str | None = None) -> P.Envelope | None:
        return typed_errors(self._handler.read_envelope, self._what)(data, **_label(label))

    def write_envelope(self, data: bytes, envelope: P.Envelope, *, label: str | None = None) -> bytes:
        return typed_errors(self._handler.write_envelope, self._what)(data, envelope, **_label(label))


def _label(label: str | None) -> dict[str, str]:
    return {} if label is None else {"label": label}
