"""Selectors: which parts of a document to protect, for every in-document format.

A selector is `KIND:ARGUMENT`, optionally followed by `=>RECIPIENTS` to give that part its own
recipients instead of the document's (docs/indoc.md §3):

    body                         the whole body of a Word document
    paragraph:3-7                top-level paragraphs by number (from 1); lists: 1,4,9-12, open: 20-
    heading:"Salary"             the section under a heading (up to the next heading of its level)
    table:2                      tables by number (top level), same list syntax
    image:1                      pictures by number, in document order
    match:REGEX                  text matching a regular expression (Word: each match a span;
                                 Excel: each matching cell); also given with --match
    Sheet1!B2:D10, 'My sheet'!C:C, B2   cells, ranges, whole columns (C:E) or rows (3:5);
                                 without a sheet name: the first sheet (also `cells:REF`)
    sheet:Payroll                every cell of a sheet
    column:Salary                the column under a header cell "Salary" (every sheet, or
                                 column:Payroll!Salary for one sheet)
    page:2-3                     PDF pages
    region:PAGE:x0,y0,x1,y1      a rectangle (PDF: points from the top left of PAGE; images: pixels,
                                 PAGE is 1)
    path:/patients/*/ssn         structured text: a JSON-Pointer-like path, `*` matches any key/index
    key:REGEX                    structured text: every value whose key matches REGEX

RECIPIENTS is a comma-separated list of public key lines (`c11:...`) and `@FILE` recipients
files, e.g. `table:2=>c11:x25519:AAAA,@hr-team.txt`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from c11.errors import UsageError
from c11.keys.publickey import PublicKey

KINDS = (
    "body",
    "paragraph",
    "heading",
    "table",
    "image",
    "match",
    "cells",
    "sheet",
    "column",
    "page",
    "region",
    "path",
    "key",
)

_CELL_REF = re.compile(
    r"^\$?[A-Za-z]{1,3}\$?\d+(:\$?[A-Za-z]{1,3}\$?\d+)?$|^\$?[A-Za-z]{1,3}:\$?[A-Za-z]{1,3}$|^\$?\d+:\$?\d+$"
)


@dataclass
class Selector:
    """One parsed selector. Fields not used by its kind stay at their defaults."""

    kind: str
    text: str  # the selector as written, without recipients
    ranges: list[tuple[int, int | None]] = field(default_factory=list)  # 1-based, inclusive
    name: str = ""  # heading text, sheet name, column header
    sheet: str | None = None  # for cells / column
    ref: str = ""  # A1 reference for cells
    page: int = 0  # region
    box: tuple[float, float, float, float] | None = None
    pattern: re.Pattern[str] | None = None  # match, key
    path: list[str] = field(default_factory=list)
    recipients: list[PublicKey] | None = None  # None: the document's

    def covers(self, n: int) -> bool:
        """Whether the 1-based number n is in this selector's ranges."""
        return any(lo <= n and (hi is None or n <= hi) for lo, hi in self.ranges)

    def __str__(self) -> str:
        return self.text


def _ranges(arg: str, text: str) -> list[tuple[int, int | None]]:
    out: list[tuple[int, int | None]] = []
    for piece in arg.split(","):
        piece = piece.strip()
        m = re.fullmatch(r"(\d+)(?:\s*-\s*(\d*))?", piece)
        if not m:
            raise UsageError(f"selector {text!r}: expected numbers like 3, 3-7, 1,4,9-12 or 20-")
        lo = int(m.group(1))
        hi: int | None = lo if m.group(2) is None else (int(m.group(2)) if m.group(2) else None)
        if lo < 1 or (hi is not None and hi < lo):
            raise UsageError(f"selector {text!r}: numbers start at 1 and ranges go upwards")
        out.append((lo, hi))
    return out


def _unquote(s: str) -> str:
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        return s[1:-1]
    return s


def _regex(arg: str, text: str) -> re.Pattern[str]:
    if not arg:
        raise UsageError(f"selector {text!r}: empty regular expression")
    try:
        return re.compile(arg)
    except re.error as e:
        raise UsageError(f"selector {text!r}: invalid regular expression ({e})") from None


def split_sheet(ref: str) -> tuple[str | None, str]:
    """`'My sheet'!A1:B2` -> ("My sheet", "A1:B2"); `A1` -> (None, "A1")."""
    if "!" not in ref:
        return None, ref
    sheet, _, cells = ref.rpartition("!")
    if len(sheet) >= 2 and sheet[0] == sheet[-1] == "'":
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, cells


def parse(text: str) -> Selector:
    """Parse one selector (without `=>RECIPIENTS`); UsageError says what is wrong."""
    t = text.strip()
    if not t:
        raise UsageError("empty selector")
    if t == "body":
        return Selector("body", t)
    kind, sep, arg = t.partition(":")
    kind_l = kind.strip().lower()
    if sep and kind_l in KINDS:
        arg = arg.strip()
        if kind_l in ("paragraph", "table", "image", "page"):
            return Selector(kind_l, t, ranges=_ranges(arg, t))
        if kind_l == "heading":
            name = _unquote(arg)
            if not name:
                raise UsageError(f'selector {t!r}: give the heading\'s text, e.g. heading:"Salary"')
            return Selector("heading", t, name=name)
        if kind_l in ("match", "key"):
            return Selector(kind_l, t, pattern=_regex(arg, t))
        if kind_l == "sheet":
            name = _unquote(arg)
            if not name:
                raise UsageError(f"selector {t!r}: give the sheet's name")
            return Selector("sheet", t, name=name, sheet=name)
        if kind_l == "column":
            sheet, name = split_sheet(arg) if "!" in arg else (None, arg)
            name = _unquote(name)
            if not name:
                raise UsageError(f"selector {t!r}: give the column's header text, e.g. column:Salary")
            return Selector("column", t, name=name, sheet=sheet)
        if kind_l == "cells":
            return _cells(arg, t)
        if kind_l == "region":
            m = re.fullmatch(r"(\d+)\s*:\s*([-\d.]+)\s*,\s*([-\d.]+)\s*,\s*([-\d.]+)\s*,\s*([-\d.]+)", arg)
            if not m:
                raise UsageError(f"selector {t!r}: expected region:PAGE:x0,y0,x1,y1")
            x0, y0, x1, y1 = (float(m.group(i)) for i in range(2, 6))
            if x1 <= x0 or y1 <= y0 or int(m.group(1)) < 1:
                raise UsageError(f"selector {t!r}: the region is empty (need x0<x1, y0<y1, PAGE>=1)")
            return Selector("region", t, page=int(m.group(1)), box=(x0, y0, x1, y1))
        if kind_l == "path":
            if not arg.startswith("/"):
                raise UsageError(f"selector {t!r}: a path starts with '/', e.g. path:/patients/*/ssn")
            segs = [s.replace("~1", "/").replace("~0", "~") for s in arg.split("/")[1:]]
            return Selector("path", t, path=segs)
    if "!" in t or _CELL_REF.match(t):
        return _cells(t, t)
    known = ", ".join(k for k in KINDS if k != "cells")
    raise UsageError(f"unknown selector {t!r} (known: {known}, or a cell reference like Sheet1!B2:D10)")


def _cells(arg: str, text: str) -> Selector:
    sheet, ref = split_sheet(arg.strip())
    ref = ref.replace("$", "").upper()
    if not _CELL_REF.match(ref):
        raise UsageError(f"selector {text!r}: expected a cell reference like Sheet1!B2, B2:D10, C:C or 3:5")
    if sheet is not None and not sheet:
        raise UsageError(f"selector {text!r}: empty sheet name")
    return Selector("cells", text, sheet=sheet, ref=ref)


def split_recipients(text: str) -> tuple[str, list[str]]:
    """`SELECTOR=>R1,R2` -> (SELECTOR, [R1, R2]); without `=>` the list is empty."""
    idx = text.rfind("=>")
    if idx < 0:
        return text, []
    right = text[idx + 2 :].strip()
    items = [r.strip() for r in right.split(",") if r.strip()]
    if not items or not all(r.startswith(("c11:", "@")) for r in items):
        return text, []  # `=>` belongs to the selector (a regular expression, say)
    return text[:idx], items


def parse_part(text: str, base: Path | None = None) -> Selector:
    """Parse `SELECTOR[=>RECIPIENTS]`, reading `@FILE` recipients files."""
    from c11.keys.recipients_file import read_recipients_file

    spec, items = split_recipients(text)
    sel = parse(spec)
    if items:
        keys: list[PublicKey] = []
        for item in items:
            if item.startswith("@"):
                p = Path(item[1:])
                keys.extend(read_recipients_file(p if base is None or p.is_absolute() else base / p))
            else:
                keys.append(PublicKey.parse(item))
        sel.recipients = keys
    return sel


def parse_all(
    texts: Sequence[str | Selector],
    matches: Sequence[str] = (),
    part_recipients: Mapping[str, Sequence[PublicKey]] | None = None,
) -> list[Selector]:
    """Selectors from strings (or already parsed), `--match` patterns, and a mapping
    selector text -> recipients (the Handler protocol's `part_recipients`)."""
    out: list[Selector] = []
    for t in texts:
        sel = t if isinstance(t, Selector) else parse_part(t)
        out.append(sel)
    for m in matches:
        out.append(Selector("match", f"match:{m}", pattern=_regex(m, f"--match {m}")))
    if part_recipients:
        for sel in out:
            keys = part_recipients.get(sel.text)
            if keys is not None and sel.recipients is None:
                sel.recipients = list(keys)
    return out
