"""The `Handler` interface every in-document format implements, and the steps they all share.

`c11.indoc.api` (and `c11.indoc.handler_for`) use only this interface. `chosen_selectors` is the
one "nothing to protect" check; `c11.indoc.parts.remaining` is the one "envelope left after opening".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from c11.errors import UsageError
from c11.indoc.selectors import Selector, parse_all
from c11.keys.publickey import PublicKey

if TYPE_CHECKING:  # annotations only: `import c11.indoc` stays light
    from c11.indoc import parts as P
    from c11.keys.identity import Identity

#: what a caller passes as selectors: text (`c11.indoc.selectors` syntax, optionally with
#: `=>RECIPIENTS`) or already parsed
SelectorArg = str | Selector
#: selector text -> that part's own recipients
PartRecipients = Mapping[str, Sequence[PublicKey]]


class Handler(Protocol):
    """One document format; `data` is always the whole file, `label` its name for error messages.

    `protect` returns the protected file; `unprotect` the file with every part the identities may
    open restored (the others stay protected) and what was opened; `read_envelope` None for a file
    with no protected part; `write_envelope` the file with its envelope replaced (re-encryption).
    """

    @property
    def name(self) -> str:
        """The format's short name ("pdf", "docx"...)."""

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
        label: str = "document",
    ) -> bytes: ...

    def unprotect(
        self, data: bytes, identities: Sequence[Identity], *, label: str = "document"
    ) -> tuple[bytes, P.Opened]: ...

    def read_envelope(self, data: bytes, *, label: str = "document") -> P.Envelope | None: ...

    def write_envelope(self, data: bytes, envelope: P.Envelope, *, label: str = "document") -> bytes: ...


def chosen_selectors(
    selectors: Sequence[SelectorArg], matches: Sequence[str] = (), part_recipients: PartRecipients | None = None
) -> list[Selector]:
    """The parsed selectors of a `protect` call; UsageError when there is nothing to protect."""
    sels = parse_all(list(selectors), list(matches), part_recipients)
    if not sels:
        raise UsageError("nothing to protect: give at least one selector or pattern to match")
    return sels
