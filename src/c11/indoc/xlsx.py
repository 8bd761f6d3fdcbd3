"""Excel (.xlsx) in-document protection (docs/indoc.md): cells, ranges, whole columns (by header), whole
sheets and cells matching a pattern.

Each protected cell's `<c>` element (value, formula and cached value alike) is cut out byte for byte
and replaced by an inline-string cell "Protected with c11" that keeps its style. A shared string
used only by protected cells is blanked in sharedStrings.xml (indices stay stable) and travels in
the part. A part is one selector on one sheet; its location is `Sheet!REFS` (A1 ranges, or the
exact cells). Unprotecting splices the original bytes back. docs/indoc.md §6.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable, Sequence

from lxml import etree

from c11.errors import FormatError, IntegrityError, UsageError
from c11.indoc import _ooxml as ox
from c11.indoc import parts as P
from c11.indoc import selectors as S
from c11.indoc._handler import Handler, PartRecipients, SelectorArg, chosen_selectors
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
MAX_ROW, MAX_COL = 1048576, 16384
NOTE_SHEET_PART = "xl/worksheets/c11-note.xml"
NOTE_REL_ID = "rIdC11Note"
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT_CALC = "application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"
PH = ox.SHORT_PLACEHOLDER

_REF = re.compile(r"([A-Z]{1,3})?(\d+)?")


def s(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def col_num(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


def col_letters(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def split_ref(ref: str) -> tuple[int, int]:
    m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d+)", ref)
    if not m:
        raise FormatError(f"bad cell reference {ref!r}")
    return col_num(m.group(1).upper()), int(m.group(2))


def rects(refs: str) -> list[tuple[int, int, int, int]]:
    """A1 references (comma-separated) -> rectangles (c0, r0, c1, r1), inclusive."""
    out = []
    for ref in refs.split(","):
        ref = ref.strip().replace("$", "").upper()
        a, _, b = ref.partition(":")
        b = b or a
        ma, mb = _REF.fullmatch(a), _REF.fullmatch(b)
        if not ma or not mb or not ref:
            raise UsageError(f"bad cell reference {ref!r}")
        ca, ra = ma.groups()
        cb, rb = mb.groups()
        if (ca is None) != (cb is None) or (ra is None) != (rb is None) or (ca is None and ra is None):
            raise UsageError(f"bad cell reference {ref!r}")
        c0, c1 = (col_num(ca), col_num(cb)) if ca else (1, MAX_COL)
        r0, r1 = (int(ra), int(rb)) if ra else (1, MAX_ROW)
        out.append((min(c0, c1), min(r0, r1), max(c0, c1), max(r0, r1)))
    return out


def _in(rs: list[tuple[int, int, int, int]], col: int, row: int) -> bool:
    return any(c0 <= col <= c1 and r0 <= row <= r1 for c0, r0, c1, r1 in rs)


def quote_sheet(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", name):
        return name
    return "'" + name.replace("'", "''") + "'"


_ATTRS = rb"(?:[^>\"']|\"[^\"]*\"|'[^']*')*?"
_SCAN = re.compile(
    rb"<(?:\w+:)?row(?=[\s>/])(" + _ATTRS + rb")/?>"
    rb"|<((?:\w+:)?)c(?=[\s>/])(" + _ATTRS + rb")(?:/>|>(.*?)</\2c>)",
    re.S,
)
_SHEETDATA = re.compile(rb"<((?:\w+:)?)sheetData(?=[\s>/])" + _ATTRS + rb"(?:/>|>(.*?)</\1sheetData>)", re.S)
_SI = re.compile(rb"<((?:\w+:)?)si(?=[\s>/])" + _ATTRS + rb"(?:/>|>(.*?)</\1si>)", re.S)
_T = re.compile(rb"<((?:\w+:)?)t(?=[\s>/])" + _ATTRS + rb"(?:/>|>(.*?)</\1t>)", re.S)
_RPH = re.compile(rb"<((?:\w+:)?)rPh(?=[\s>/]).*?</\1rPh>", re.S)
_V = re.compile(rb"<(?:\w+:)?v(?=[\s>/])" + _ATTRS + rb"(?:/>|>(.*?)</(?:\w+:)?v>)", re.S)
_F = re.compile(rb"<(?:\w+:)?f(?=[\s>/])(" + _ATTRS + rb")/?>", re.S)
_ENT = re.compile(rb"&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);")
_NAMED = {b"amp": "&", b"lt": "<", b"gt": ">", b"quot": '"', b"apos": "'"}


def _unescape(b: bytes) -> str:
    if b"&" not in b:
        return b.decode("utf-8")

    def rep(m: re.Match[bytes]) -> bytes:
        e = m.group(1)
        if e.startswith(b"#x"):
            return chr(int(e[2:], 16)).encode()
        if e.startswith(b"#"):
            return chr(int(e[1:])).encode()
        return _NAMED[e].encode()

    return _ENT.sub(rep, b).decode("utf-8")


_ATTR_RE: dict[bytes, re.Pattern[bytes]] = {}
_CELL_R = re.compile(rb'(?:^|\s)r="\$?([A-Za-z]{1,3})\$?(\d+)"')


def _attr(attrs: bytes, name: bytes) -> str | None:
    pat = _ATTR_RE.get(name)
    if pat is None:
        pat = _ATTR_RE[name] = re.compile(rb"(?:^|\s)" + name + rb"\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
    m = pat.search(attrs)
    if not m:
        return None
    return _unescape(m.group(1) if m.group(1) is not None else m.group(2))


def _texts(body: bytes) -> str:
    body = _RPH.sub(b"", body)
    return "".join(_unescape(m.group(2) or b"") for m in _T.finditer(body))


class Cell:
    """A `<c>` element found by scanning the sheet's bytes (no tree is built for speed)."""

    __slots__ = ("col", "row", "start", "end", "attrs", "body")

    def __init__(self, col: int, row: int, start: int, end: int, attrs: bytes, body: bytes) -> None:
        self.col, self.row, self.start, self.end, self.attrs, self.body = col, row, start, end, attrs, body

    def get(self, name: str) -> str | None:
        return _attr(self.attrs, name.encode())

    @property
    def type(self) -> str | None:
        if b"t=" not in self.attrs:
            return None
        return self.get("t")

    def formula(self) -> dict[str, str | None] | None:
        if b"f" not in self.body:
            return None
        m = _F.search(self.body)
        if not m:
            return None
        a = m.group(1)
        return {"t": _attr(a, b"t"), "si": _attr(a, b"si"), "ref": _attr(a, b"ref")}

    def v(self) -> str | None:
        m = _V.search(self.body) if self.body else None
        return None if m is None else _unescape(m.group(1) or b"")


class Sheet:
    """One worksheet: its cells in order, with references, values and byte spans."""

    def __init__(self, name: str, member: str, data: bytes, sst: list[str]) -> None:
        self.name, self.member, self.data = name, member, data
        ox.parse_xml(data, member)  # well-formed, no DOCTYPE
        self.cells: list[Cell] = []
        self.sst = sst
        sd = _SHEETDATA.search(data)
        if sd is None or sd.group(2) is None:
            return
        row_n = 0
        col_n = 0
        append = self.cells.append
        for m in _SCAN.finditer(data, sd.start(2), sd.end(2)):
            attrs = m.group(3)
            if attrs is None:  # a row
                rr = _attr(m.group(1), b"r")
                row_n = int(rr) if rr and rr.isdigit() else row_n + 1
                col_n = 0
                continue
            rm = _CELL_R.search(attrs)
            if rm:
                col_n = col_num(rm.group(1).upper().decode())
            else:
                col_n += 1
            append(Cell(col_n, row_n, m.start(), m.end(), attrs, m.group(4) or b""))

    def value(self, c: Cell) -> str | None:
        t = c.type
        body = c.body
        if t == "inlineStr":
            return None if b"is" not in body else _texts(body)
        v = c.v()
        if v is None:
            return None if c.formula() is None else ""
        if t == "s":
            try:
                return self.sst[int(v)]
            except (ValueError, IndexError):
                return ""
        return v

    def by_ref(self) -> dict[tuple[int, int], Cell]:
        return {(c.col, c.row): c for c in self.cells}


class _Book:
    def __init__(self, pkg: ox.Package) -> None:
        self.pkg = pkg
        self.main = pkg.main_part()
        self.rels = pkg.relationships(self.main)
        root = ox.parse_xml(pkg.read(self.main), self.main)
        byid = {rid: target for rid, typ, target, mode in self.rels if mode != "External"}
        self.sheet_members: list[tuple[str, str]] = []
        sheets = root.find(s("sheets"))
        for sh in [] if sheets is None else sheets.iter(s("sheet")):
            rid = sh.get(f"{{{ox.NS_R}}}id")
            target = byid.get(rid or "")
            if target and self.pkg.has(target):
                self.sheet_members.append((sh.get("name", ""), target))
        self.sst_member = next((t for _, typ, t, m in self.rels if typ.endswith("/sharedStrings") and pkg.has(t)), None)
        self.sst_data = pkg.read(self.sst_member) if self.sst_member else b""
        self.sst_items: list[tuple[int, int, bytes]] = []  # (start, end, prefix)
        self.sst: list[str] = []
        if self.sst_member:
            ox.parse_xml(self.sst_data, self.sst_member)
            for m in _SI.finditer(self.sst_data):
                self.sst_items.append((m.start(), m.end(), m.group(1)))
                self.sst.append(_texts(m.group(2) or b""))
        self._sheets: dict[str, Sheet] = {}

    def sheet(self, name: str) -> Sheet:
        for n, member in self.sheet_members:
            if n == name or n.casefold() == name.casefold():
                if member not in self._sheets:
                    self._sheets[member] = Sheet(n, member, self.pkg.read(member), self.sst)
                return self._sheets[member]
        names = ", ".join(n for n, _ in self.sheet_members)
        raise UsageError(f"no sheet named {name!r} (sheets: {names})")

    def all_sheets(self) -> list[Sheet]:
        return [self.sheet(n) for n, m in self.sheet_members if m != NOTE_SHEET_PART]


class _Part:
    def __init__(self, sheet: Sheet, sel: S.Selector, refs: str):
        self.sheet, self.sel, self.refs = sheet, sel, refs
        self.cells: list[Cell] = []


def _inside(refs: str) -> Callable[[int, int], bool]:
    """A fast predicate (col, row) -> bool for A1 references."""
    rs = rects(refs)
    if len(rs) == 1:
        c0, r0, c1, r1 = rs[0]
        return lambda col, row: c0 <= col <= c1 and r0 <= row <= r1
    return lambda col, row: _in(rs, col, row)


def _select(book: _Book, sels: list[S.Selector]) -> list[_Part]:
    taken: dict[str, set[tuple[int, int]]] = {}
    out: list[_Part] = []
    for sel in sels:
        targets: list[tuple[Sheet, str]] = []
        if sel.kind == "cells":
            sh = book.sheet(sel.sheet) if sel.sheet else book.all_sheets()[0]
            rects(sel.ref)
            targets.append((sh, sel.ref))
        elif sel.kind == "sheet":
            targets.append((book.sheet(sel.name), f"A1:{col_letters(MAX_COL)}{MAX_ROW}"))
        elif sel.kind == "column":
            sheets = [book.sheet(sel.sheet)] if sel.sheet else book.all_sheets()
            want = sel.name.strip().casefold()
            for sh in sheets:
                for c in sh.cells:
                    v = sh.value(c)
                    if v is not None and v.strip().casefold() == want:
                        L = col_letters(c.col)
                        targets.append((sh, f"{L}{c.row + 1}:{L}{MAX_ROW}"))
                        break
            if not targets:
                raise UsageError(f"selector {sel.text!r}: no column with that header")
        elif sel.kind == "match":
            for sh in book.all_sheets():
                targets.append((sh, ""))
        else:
            raise UsageError(f"selector {sel.text!r} does not apply to Excel workbooks")
        found = False
        for sh, refs in targets:
            inside = _inside(refs) if refs else None
            part = _Part(sh, sel, refs)
            tk = taken.setdefault(sh.member, set())
            all_in_range = True
            for c in sh.cells:
                if inside is not None and not inside(c.col, c.row):
                    continue
                v = sh.value(c)
                if v is None:
                    continue
                if (c.col, c.row) in tk:
                    all_in_range = False
                    continue
                if inside is None and not (sel.pattern and sel.pattern.search(v)):
                    continue
                part.cells.append(c)
                tk.add((c.col, c.row))
            extended = _shared_formulas(sh, part, tk)
            if part.cells:
                found = True
                out.append(part)
                if inside is None or not all_in_range or extended:
                    part.refs = ",".join(f"{col_letters(c.col)}{c.row}" for c in part.cells)
        if not found:
            raise UsageError(f"selector {sel.text!r} matches no cell with a value")
    return out


def _shared_formulas(sh: Sheet, part: _Part, taken: set[tuple[int, int]]) -> bool:
    """A protected cell holding a shared formula's master takes the cells sharing it along."""
    masters = set()
    for c in part.cells:
        f = c.formula()
        if f and f["t"] == "shared" and f["ref"] and f["si"] is not None:
            masters.add(f["si"])
    if not masters:
        return False
    added = False
    for c in sh.cells:
        if (c.col, c.row) in taken:
            continue
        f = c.formula()
        if f and f["t"] == "shared" and f["si"] in masters:
            part.cells.append(c)
            taken.add((c.col, c.row))
            added = True
    part.cells.sort(key=lambda c: (c.row, c.col))
    return added


def _location(part: _Part) -> str:
    return f"{quote_sheet(part.sheet.name)}!{part.refs}"


def _is_placeholder(sh: Sheet, c: Cell) -> bool:
    return c.type in ("inlineStr", "s", "str") and sh.value(c) == PH


def _placeholder_of(sh: Sheet, refs: str, claimed: set[tuple[int, int]] | None = None) -> bytes:
    """The cells showing the placeholder inside a part's references ("B2\nB3..."). With
    `claimed` (at protect time, on the original sheet) claimed cells count as placeholders."""
    inside = _inside(refs)
    out = []
    for c in sh.cells:
        if inside(c.col, c.row) and ((claimed is not None and (c.col, c.row) in claimed) or _is_placeholder(sh, c)):
            out.append(f"{col_letters(c.col)}{c.row}")
    return "\n".join(out).encode()


def _parse_location(loc: str) -> tuple[str, str]:
    sheet, refs = S.split_sheet(loc)
    if sheet is None:
        raise FormatError(f"malformed location {loc!r}")
    return sheet, refs


class XlsxHandler:
    name = "xlsx"

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
        label: str = "workbook",
    ) -> bytes:
        sels = chosen_selectors(selectors, matches, part_recipients)
        pkg = ox.Package(data, label)
        ox.check_not_protected(pkg)
        book = _Book(pkg)
        if not book.sheet_members:
            raise UsageError(f"{label}: the workbook has no worksheets")
        parts = _select(book, sels)
        doc_id = uuid.uuid4().bytes
        prot = ox.Protection(P.Envelope(doc_id, [], [], note), "xlsx")
        claimed: dict[str, set[tuple[int, int]]] = {}
        for part in parts:
            claimed.setdefault(part.sheet.member, set()).update((c.col, c.row) for c in part.cells)
        # shared strings referenced by cells that stay readable
        sst_refs: set[int] = set()
        if book.sst_items:
            for sh in book.all_sheets():
                cl = claimed.get(sh.member, set())
                for c in sh.cells:
                    if (c.col, c.row) not in cl and b't="s"' in c.attrs:
                        v = c.v()
                        if v is not None and v.strip().isdigit():
                            sst_refs.add(int(v))
        sst_edits: dict[int, tuple[int, int, bytes]] = {}
        has_formula = False
        sealed: list[tuple[_Part, bytes]] = []
        by_sheet: dict[str, list[tuple[int, int, bytes]]] = {}
        for part in parts:
            sh = part.sheet
            pfx = _prefix(sh.data)
            items = []
            edits = by_sheet.setdefault(sh.member, [])
            for c in part.cells:
                items.append((f"cell:{col_letters(c.col)}{c.row}", sh.data[c.start : c.end]))
                if not has_formula and c.formula() is not None:
                    has_formula = True
                if c.type == "s":
                    v = c.v()
                    idx = int(v) if v is not None and v.strip().isdigit() else -1
                    if 0 <= idx < len(book.sst_items) and idx not in sst_refs:
                        ss, se, sp = book.sst_items[idx]
                        items.append((f"si:{idx}", book.sst_data[ss:se]))
                        if idx not in sst_edits:
                            sps = sp.decode()
                            sst_edits[idx] = (ss, se, f"<{sps}si><{sps}t/></{sps}si>".encode())
                style = c.get("s") if b"s=" in c.attrs else None
                edits.append(
                    (
                        c.start,
                        c.end,
                        (
                            f'<{pfx}c r="{col_letters(c.col)}{c.row}"'
                            + (f' s="{style}"' if style is not None else "")
                            + f' t="inlineStr"><{pfx}is><{pfx}t>{PH}</{pfx}t></{pfx}is></{pfx}c>'
                        ).encode(),
                    )
                )
            sealed.append((part, ox.pack(items)))
        out_parts = []
        for part, plain in sealed:
            ph = _placeholder_of(part.sheet, part.refs, claimed[part.sheet.member])
            out_parts.append(P.Part(_location(part), plain, ph, part.sel.recipients))
        locs = [p.location for p in out_parts]
        if len(set(locs)) != len(locs):
            raise UsageError("two selectors protect the same cells on one sheet; merge them")
        for member, edits in by_sheet.items():
            pkg.set(member, ox.splice(book._sheets[member].data, edits))
        if sst_edits and book.sst_member:
            pkg.set(book.sst_member, ox.splice(book.sst_data, sst_edits.values()))
        if has_formula:
            _drop_calc_chain(pkg, prot, book)
        ox.take_thumbnail(pkg, out_parts, list(recipients))
        prot.envelope = P.seal(out_parts, recipients, sender, note=note, doc_id=doc_id)
        _add_note_sheet(pkg, prot, book, note)
        if sst_edits and book.sst_member:
            prot.written[book.sst_member] = hashlib.sha256(pkg.read(book.sst_member)).hexdigest()
        ox.write_protection(pkg, prot, book.main)
        return pkg.to_bytes()

    def read_envelope(self, data: bytes, *, label: str = "workbook") -> P.Envelope | None:
        pkg = ox.Package(data, label)
        found = ox.find_protection(pkg)
        return None if found is None else found[1].envelope

    def write_envelope(self, data: bytes, envelope: P.Envelope, *, label: str = "workbook") -> bytes:
        pkg = ox.Package(data, label)
        where, prot = ox.require_protection(pkg)
        prot.envelope = envelope
        pkg.set(where, prot.to_xml())
        return pkg.to_bytes()

    def unprotect(
        self, data: bytes, identities: Sequence[Identity], *, label: str = "workbook"
    ) -> tuple[bytes, P.Opened]:
        pkg = ox.Package(data, label)
        where, prot = ox.require_protection(pkg)
        env = prot.envelope
        book = _Book(pkg)
        placeholders = {}
        for p in env.parts:
            if p.location.startswith(ox.THUMB_PREFIX):
                continue
            sheet, refs = _parse_location(p.location)
            try:
                sh = book.sheet(sheet)
            except UsageError:
                raise IntegrityError(
                    f"protected part {p.location!r} is missing: its sheet was renamed or deleted"
                ) from None
            placeholders[p.location] = _placeholder_of(sh, refs)
        placeholders.update(ox.thumbnail_placeholders(pkg, env))
        opened = P.open_parts(env, identities, placeholders)
        sst_same = book.sst_member is not None and hashlib.sha256(book.sst_data).hexdigest() == prot.written.get(
            book.sst_member
        )
        edits: dict[str, list[tuple[int, int, bytes]]] = {}
        sst_edits: dict[int, tuple[int, int, bytes]] = {}
        maps: dict[str, dict[tuple[int, int], Cell]] = {}
        for loc, plain in opened.plaintexts.items():
            if ox.restore_thumbnail(pkg, loc, plain):
                continue
            sh = book.sheet(_parse_location(loc)[0])
            cells = maps.get(sh.member)
            if cells is None:
                cells = maps[sh.member] = sh.by_ref()
            items = ox.unpack(plain)
            sis = {int(k[3:]): v for k, v in items if k.startswith("si:")}
            ed = edits.setdefault(sh.member, [])
            for key, value in items:
                if key.startswith("cell:"):
                    el = cells.get(split_ref(key[5:]))
                    if el is None:
                        raise IntegrityError(f"protected cell {sh.name}!{key[5:]} is missing")
                    if sis and not sst_same:
                        value = _inline_shared(value, sis)
                    ed.append((el.start, el.end, value))
                elif key.startswith("si:") and sst_same:
                    idx = int(key[3:])
                    if idx < len(book.sst_items) and idx not in sst_edits:
                        ss, se, _ = book.sst_items[idx]
                        sst_edits[idx] = (ss, se, value)
        for member, ed in edits.items():
            pkg.set(member, ox.splice(book._sheets[member].data, ed))
        if sst_edits and book.sst_member:
            pkg.set(book.sst_member, ox.splice(book.sst_data, sst_edits.values()))
        if not opened.closed:
            ox.restore_structure(pkg, prot, where, book.main)
            _remove_note_sheet_leftovers(pkg, book)
        else:
            prot.envelope = ox.envelope_left(env, opened)
            if sst_edits and book.sst_member:
                prot.written[book.sst_member] = hashlib.sha256(pkg.read(book.sst_member)).hexdigest()
            pkg.set(where, prot.to_xml())
        return pkg.to_bytes(), opened


def _prefix(data: bytes) -> str:
    """The prefix a sheet uses for SpreadsheetML ("" when it is the default namespace)."""
    head = data[:4096]
    m = re.search(rb"<(\w+:)?worksheet[\s>]", head)
    return (m.group(1) or b"").decode() if m else ""


def _inline_shared(cell: bytes, sis: dict[int, bytes]) -> bytes:
    """An editor rewrote sharedStrings.xml: give a restored shared-string cell its text inline."""
    m = re.search(rb"<((?:\w+:)?)v>\s*(\d+)\s*</(?:\w+:)?v>", cell)
    if not m or int(m.group(2)) not in sis or not re.search(rb'\st="s"', cell):
        return cell
    si = sis[int(m.group(2))]
    inner = re.sub(rb"^<(?:\w+:)?si[^>]*>|</(?:\w+:)?si>$", b"", si.strip())
    pfx = m.group(1)
    cell = cell[: m.start()] + b"<" + pfx + b"is>" + inner + b"</" + pfx + b"is>" + cell[m.end() :]
    return re.sub(rb'(\s)t="s"', rb'\1t="inlineStr"', cell, count=1)


def _drop_calc_chain(pkg: ox.Package, prot: ox.Protection, book: _Book) -> None:
    """Formulas c11 removes would leave Excel's calculation chain pointing at plain cells (Excel
    then "repairs" the file): take the chain out; Excel rebuilds it; unprotect puts it back."""
    chain = next((t for _, typ, t, _ in book.rels if typ.endswith("/calcChain") and pkg.has(t)), None)
    if not chain:
        return
    prot.stash[chain] = pkg.original(chain)
    pkg.delete(chain)
    ox.remove_content_override(pkg, prot, chain)
    ox.remove_relationships(pkg, prot, book.main, lambda r: r.get("Type", "").endswith("/calcChain"))


def _add_note_sheet(pkg: ox.Package, prot: ox.Protection, book: _Book, note: str) -> None:
    """A last worksheet "c11" with the banner and the author's note, for every reader."""
    names = {n.casefold() for n, _ in book.sheet_members}
    name = "c11"
    k = 2
    while name.casefold() in names:
        name = f"c11 ({k})"
        k += 1
    lines = [ox.BANNER] + (
        [f"Note from the author: {line}" if i == 0 else line for i, line in enumerate(note.splitlines() or [note])]
        if note
        else []
    )
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t xml:space="preserve">{ox.esc(t).decode()}</t></is></c></row>'
        for i, t in enumerate(lines, 1)
    )
    sheet = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{NS}">'
        f'<cols><col min="1" max="1" width="100" customWidth="1"/></cols>'
        f"<sheetData>{rows}</sheetData></worksheet>"
    ).encode()
    prot.stash.setdefault(NOTE_SHEET_PART, pkg.original(NOTE_SHEET_PART))
    pkg.set(NOTE_SHEET_PART, sheet)
    ox.add_content_override(pkg, prot, NOTE_SHEET_PART, CT_SHEET)
    ox.add_relationship(
        pkg,
        prot,
        book.main,
        NOTE_REL_ID,
        ox.NS_R + "/worksheet",
        NOTE_SHEET_PART[len(book.main.rpartition("/")[0]) + 1 :],
    )
    prot.stash.setdefault(book.main, pkg.original(book.main))
    root = ox.parse_xml(pkg.read(book.main), book.main)
    sheets = root.find(s("sheets"))
    if sheets is None:
        raise FormatError(f"{book.main}: the workbook lists no sheets")
    ids = [int(x.get("sheetId") or "") for x in sheets.iter(s("sheet")) if (x.get("sheetId") or "").isdigit()]
    el = etree.SubElement(sheets, s("sheet"))
    el.set("name", name)
    el.set("sheetId", str(max(ids, default=0) + 1))
    el.set(f"{{{ox.NS_R}}}id", NOTE_REL_ID)
    pkg.set(book.main, etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


def _remove_note_sheet_leftovers(pkg: ox.Package, book: _Book) -> None:
    """After an editor rewrote workbook.xml, take c11's note sheet out of its version."""
    root = ox.parse_xml(pkg.read(book.main), book.main)
    sheets = root.find(s("sheets"))
    gone = [x for x in ([] if sheets is None else sheets.iter(s("sheet"))) if x.get(f"{{{ox.NS_R}}}id") == NOTE_REL_ID]
    if gone and sheets is not None:
        for x in gone:
            sheets.remove(x)
        pkg.set(book.main, etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))


HANDLER: Handler = XlsxHandler()
