"""What every structured-text format shares: the protect/unprotect algorithm over exact text spans.

A format (`TextHandler` subclass) says where the chosen values are (`targets`), how to find c11
placeholders again (`scan`), and how to add and remove the block holding the envelope and the note
(`insert_block`, `split_block`); the rest is here, once.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from c11.errors import FormatError, IntegrityError, UsageError
from c11.indoc import parts as P
from c11.indoc._handler import PartRecipients, SelectorArg, chosen_selectors
from c11.indoc._mediacommon import PLACEHOLDER_RE, open_checked, placeholder
from c11.indoc.selectors import Selector
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey


def notice(note: str) -> str:
    """The sentence the c11 block shows every reader, with the author's note."""
    text = "Parts of this document are protected with c11: open it with c11 to read them."
    if note:
        text += f" Note from the author: {note}"
    return text


@dataclass
class Target:
    """A span of the text chosen for protection."""

    start: int
    end: int
    selector: Selector  # the Selector that chose it (its recipients, when it has its own)
    lead: str = ""  # padding written before the placeholder (YAML: to indent it under its key)


@dataclass
class Found:
    """A placeholder found in a protected text."""

    location: str
    number: int
    start: int
    end: int

    def text(self, s: str) -> str:
        return s[self.start : self.end]


class TreeNode(NamedTuple):
    """A value of a JSON or YAML tree with its exact span (for path:, key: and match: selectors)."""

    steps: tuple[str | int | None, ...]  # keys and indexes from the root
    start: int
    end: int
    key: str | None  # the key it is the value of (None in a list)
    scalar: str | None  # its text, for scalars
    lead: str = ""


class TextHandler(abc.ABC):
    """`c11.indoc.Handler` for one structured-text format."""

    name: ClassVar[str] = "text"
    label: ClassVar[str] = "text"

    # -- what each format provides -------------------------------------------------------------
    @abc.abstractmethod
    def targets(self, text: str, selectors: list[Selector]) -> list[Target]:
        """The spans the selectors choose (UsageError for a selector this format does not take)."""

    def placeholder_text(self, n: int, text: str, t: Target) -> str:
        """The text written in place of target `n` (quoted as the format needs)."""
        return placeholder(n)

    @abc.abstractmethod
    def scan(self, text: str) -> list[Found]:
        """The c11 placeholders in a protected text, with their locations."""

    @abc.abstractmethod
    def insert_block(self, text: str, env: P.Envelope) -> str:
        """The text with the c11 block (note and envelope) added."""

    @abc.abstractmethod
    def split_block(self, text: str) -> tuple[str, P.Envelope] | None:
        """(text without the c11 block, envelope), or None when there is no block. Checks that the
        block is exactly what c11 writes for that envelope (the visible note was not edited)."""

    def validate(self, text: str) -> None:  # noqa: B027 - a hook: formats that parse override it
        """Raise if `text` no longer parses as this format."""

    def pack(self, original: str, lead: str) -> bytes:
        """A part's plaintext: the exact source text (and, where a format pads placeholders, how
        much padding to take away again)."""
        return original.encode("utf-8")

    def unpack(self, plaintext: bytes) -> tuple[str, int]:
        """The source text of a part's plaintext, and the padding written before its placeholder."""
        return plaintext.decode("utf-8"), 0

    def check_order(self, found: list[Found]) -> None:  # noqa: B027 - a hook: only Markdown overrides it
        """Formats without a structural location (Markdown) require document order."""

    # -- the Handler interface -------------------------------------------------------------------
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
    ) -> bytes:
        text = _decode(data, self.label)
        if self.split_block(text) is not None:
            raise UsageError(f"this {self.label} file is already protected with c11; unprotect it first")
        if PLACEHOLDER_RE.search(text):
            raise UsageError(f"this {self.label} file already contains c11 placeholder text")
        self.validate(text)
        sels = chosen_selectors(selectors, matches, part_recipients)
        targets = _outermost(self.targets(text, sels))
        if not targets:
            raise UsageError(f"nothing in this {self.label} file matches {', '.join(str(x) for x in sels)}")
        out, pos = [], 0
        spans: dict[int, tuple[Target, str]] = {}
        for n, t in enumerate(targets, 1):
            out.append(text[pos : t.start])
            out.append(t.lead + self.placeholder_text(n, text, t))
            spans[n] = (t, text[t.start : t.end])
            pos = t.end
        out.append(text[pos:])
        protected = "".join(out)
        found = {f.number: f for f in self.scan(protected)}
        if sorted(found) != sorted(spans):
            raise FormatError(f"could not place the c11 placeholders in this {self.label} file")
        parts = []
        for n, (t, original) in spans.items():
            f = found[n]
            parts.append(
                P.Part(
                    f.location, self.pack(original, t.lead), f.text(protected).encode("utf-8"), t.selector.recipients
                )
            )
        try:
            self.validate(protected)
        except FormatError as e:
            raise UsageError(
                f"protecting these values would leave an invalid {self.label} file ({e}); "
                "choose other values (a merged YAML anchor, for one, must stay a mapping)"
            ) from None
        env = P.seal(parts, list(recipients), sender, note=note)
        result = self.insert_block(protected, env)
        self.validate(result)
        return result.encode("utf-8")

    def unprotect(
        self, data: bytes, identities: Sequence[Identity], *, label: str = "document"
    ) -> tuple[bytes, P.Opened]:
        text = _decode(data, self.label)
        split = self.split_block(text)
        if split is None:
            raise FormatError(f"this {self.label} file has no c11 protected parts")
        base, env = split
        found = self.scan(base)
        current: dict[str, bytes] = {}
        for f in found:
            if f.location in current:
                raise IntegrityError(f"protected part {f.location!r} appears twice (duplicated placeholder)")
            current[f.location] = f.text(base).encode("utf-8")
        self.check_order(found)
        opened = open_checked(env, identities, current)
        out = base
        for f in sorted(found, key=lambda f: f.start, reverse=True):
            pt = opened.plaintexts.get(f.location)
            if pt is not None:
                original, pad = self.unpack(pt)
                if out[f.start - pad : f.start] != " " * pad:
                    raise IntegrityError(f"the placeholder of protected part {f.location!r} was moved")
                out = out[: f.start - pad] + original + out[f.end :]
        rest = P.remaining(env, opened)
        if rest is not None:
            out = self.insert_block(out, rest)
        return out.encode("utf-8"), opened

    def read_envelope(self, data: bytes, *, label: str = "document") -> P.Envelope | None:
        split = self.split_block(_decode(data, self.label))
        return None if split is None else split[1]

    def write_envelope(self, data: bytes, envelope: P.Envelope, *, label: str = "document") -> bytes:
        text = _decode(data, self.label)
        split = self.split_block(text)
        if split is None:
            raise FormatError(f"this {self.label} file has no c11 protected parts")
        return self.insert_block(split[0], envelope).encode("utf-8")


def eol(text: str) -> str:
    """The file's line break: that of its first line ("\\n" when it has none)."""
    i = text.find("\n")
    return "\r\n" if i > 0 and text[i - 1] == "\r" else "\n"


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise FormatError(f"this {label} file is not UTF-8 text") from None


def _outermost(targets: list[Target]) -> list[Target]:
    """Sort by position; drop targets inside (or overlapping) an earlier one."""
    out: list[Target] = []
    for t in sorted(targets, key=lambda t: (t.start, -t.end)):
        if t.end <= t.start:
            continue
        if out and t.start < out[-1].end:
            continue
        out.append(t)
    return out


# --------------------------------------------------------------------------------------------
# paths shared by JSON and YAML: /a/*/b (JSON Pointer escapes ~0 ~1; * matches one step)


def pointer(steps: Sequence[str | int | None]) -> str:
    """JSON Pointer of a path (`None` steps, YAML's non-scalar keys, print as "None")."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in steps)


def _path_matches(pattern: list[str], steps: Sequence[str | int | None]) -> bool:
    return len(pattern) == len(steps) and all(p == "*" or p == str(s) for p, s in zip(pattern, steps, strict=True))


def tree_targets(nodes: list[TreeNode], selectors: list[Selector], what: str) -> list[Target]:
    """The targets of path:, key: and match: selectors among a tree's nodes (in document order)."""
    out: list[Target] = []
    for sel in selectors:
        pattern = sel.pattern
        if sel.kind == "path":
            hits = [n for n in nodes if n.steps and _path_matches(sel.path, n.steps)]
        elif sel.kind == "key" and pattern is not None:
            hits = [n for n in nodes if n.key is not None and pattern.fullmatch(n.key)]
        elif sel.kind == "match" and pattern is not None:
            hits = [n for n in nodes if n.scalar is not None and pattern.search(n.scalar)]
        else:
            raise UsageError(f"{what} files take path:/a/*/b, key:REGEX or match:REGEX selectors, not {sel.text!r}")
        if not hits and sel.kind != "match":
            raise UsageError(f"{sel.text!r} matches nothing in this {what} file")
        out.extend(Target(n.start, n.end, sel, n.lead) for n in hits)
    return out
