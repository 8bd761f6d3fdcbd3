"""Word (.docx) in-document protection (docs/indoc.md): body, paragraphs, heading sections, tables, images,
and text matching a pattern, each replaced by a locked content control showing a placeholder.

Every protected part is the exact original bytes of an XML span (a run of body blocks, a few runs
of a paragraph, the content of a footnote or comment, or a docProps field), plus the bytes of any
picture used only inside it. The span is replaced by a `w:sdt` tagged `c11:<location>` with
`w:lock="sdtContentLocked"`; unprotecting splices the original bytes back, so the document comes
back byte for byte. Locations are `<member>#<n>`, numbered in document order per XML member; their
order is checked when unprotecting (a swapped or moved part is refused). docs/indoc.md §5.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree
from lxml.etree import _Element as Element

from c11.errors import FormatError, IntegrityError, UsageError
from c11.indoc import _flatopc
from c11.indoc import _ooxml as ox
from c11.indoc import parts as P
from c11.indoc import selectors as S
from c11.indoc._handler import Handler, PartRecipients, SelectorArg, chosen_selectors
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS_R = ox.NS_R
NOTE_TAG = "c11-note"
TAG_PREFIX = "c11:"
INLINE_PLACEHOLDER = "[Protected with c11]"

STORY_RELS = {"header", "footer", "footnotes", "endnotes", "comments"}
NOTE_KINDS = {
    "footnoteReference": ("footnotes", "footnote"),
    "endnoteReference": ("endnotes", "endnote"),
    "commentReference": ("comments", "comment"),
}
PROPS_MEMBERS = ("docProps/core.xml", "docProps/app.xml")
IMAGE_EXT = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf", ".svg", ".webp")


def w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def _text(el: Element) -> str:
    return "".join(t.text or "" for t in el.iter(w("t"), w("delText")))


@dataclass
class Claim:
    member: str
    start: int
    end: int
    kind: str  # "block", "inline", "inner", "leaf"
    replacement: bytes = b""
    recipients: list[PublicKey] | None = None
    elements: list[Element] = field(default_factory=list)
    extra: list[tuple[str, bytes]] = field(default_factory=list)  # added to the plaintext
    leaf_name: str = ""
    location: str = ""


class _Ctx:
    def __init__(self, pkg: ox.Package):
        self.pkg = pkg
        self.main = pkg.main_part()
        self.docs: dict[str, ox.XmlDoc] = {}
        self.rels = {m: pkg.relationships(m) for m in [self.main]}
        self.claims: dict[str, list[Claim]] = {}
        self._starts: dict[str, list[tuple[int, int]]] = {}

    def doc(self, member: str) -> ox.XmlDoc:
        if member not in self.docs:
            self.docs[member] = ox.XmlDoc(self.pkg.read(member), member)
        return self.docs[member]

    def stories(self) -> list[str]:
        out = [self.main]
        for _, typ, target, mode in self.rels[self.main]:
            if mode != "External" and typ.rsplit("/", 1)[-1] in STORY_RELS and self.pkg.has(target):
                out.append(target)
        return out

    def story_of(self, kind: str) -> str | None:
        for _, typ, target, mode in self.rels[self.main]:
            if typ.rsplit("/", 1)[-1] == kind and mode != "External" and self.pkg.has(target):
                return target
        return None

    def claimed(self, member: str, s: int, e: int) -> bool:
        spans = self._starts.get(member, [])
        i = bisect.bisect_right(spans, (s, 1 << 62)) - 1
        if i >= 0 and spans[i][1] > s:
            return True
        return i + 1 < len(spans) and spans[i + 1][0] < e

    def add(self, c: Claim) -> bool:
        if self.claimed(c.member, c.start, c.end if c.end > c.start else c.start + 1):
            return False
        self.claims.setdefault(c.member, []).append(c)
        bisect.insort(self._starts.setdefault(c.member, []), (c.start, c.end))
        return True


# ---------------------------------------------------------------- XML snippets


def _sdt(pfx: str, decl: bytes, tag: str, content: bytes) -> bytes:
    p = pfx.encode()
    return (
        b"<"
        + p
        + b"sdt"
        + decl
        + b"><"
        + p
        + b"sdtPr><"
        + p
        + b"alias "
        + p
        + b'val="Protected with c11"/><'
        + p
        + b"tag "
        + p
        + b'val="'
        + ox.esc(tag)
        + b'"/><'
        + p
        + b"lock "
        + p
        + b'val="sdtContentLocked"/></'
        + p
        + b"sdtPr><"
        + p
        + b"sdtContent>"
        + content
        + b"</"
        + p
        + b"sdtContent></"
        + p
        + b"sdt>"
    )


def _run(pfx: str, text: str, rpr: bytes = b"", grey: bool = False) -> bytes:
    p = pfx.encode()
    if grey and not rpr:
        rpr = b"<" + p + b"rPr><" + p + b"i/><" + p + b"color " + p + b'val="7F7F7F"/></' + p + b"rPr>"
    return (
        b"<" + p + b"r>" + rpr + b"<" + p + b't xml:space="preserve">' + ox.esc(text) + b"</" + p + b"t></" + p + b"r>"
    )


def _para(pfx: str, runs: bytes) -> bytes:
    p = pfx.encode()
    return b"<" + p + b"p>" + runs + b"</" + p + b"p>"


# ---------------------------------------------------------------- selection


def _blocks(doc: ox.XmlDoc) -> tuple[Element, list[Element]]:
    body = doc.root.find(w("body"))
    if body is None:
        raise FormatError(f"{doc.name}: the document has no body")
    return body, [b for b in body if isinstance(b.tag, str) and b.tag != w("sectPr")]


def _heading_levels(ctx: _Ctx) -> dict[str, int]:
    levels: dict[str, int] = {}
    styles = ctx.story_of("styles")
    if not styles:
        return levels
    root = ox.parse_xml(ctx.pkg.read(styles), styles)
    based: dict[str, str] = {}
    for st in root.iter(w("style")):
        sid = st.get(w("styleId"), "")
        name_el = st.find(w("name"))
        name = (name_el.get(w("val"), "") if name_el is not None else "").strip().lower()
        lvl = st.find(f"{w('pPr')}/{w('outlineLvl')}")
        lvl_val = (lvl.get(w("val")) or "") if lvl is not None else ""
        if lvl_val.isdigit() and int(lvl_val) < 9:
            levels[sid] = int(lvl_val) + 1
        else:
            m = re.fullmatch(r"heading\s*(\d)", name)
            if m:
                levels[sid] = int(m.group(1))
            elif name == "title":
                levels[sid] = 0
        b = st.find(w("basedOn"))
        if b is not None:
            based[sid] = b.get(w("val"), "")
    for sid, parent in based.items():
        seen = 0
        while sid not in levels and parent and seen < 10:
            if parent in levels:
                levels[sid] = levels[parent]
            parent = based.get(parent, "")
            seen += 1
    return levels


def _level(p: Element, levels: dict[str, int]) -> int | None:
    if p.tag != w("p"):
        return None
    ppr = p.find(w("pPr"))
    if ppr is None:
        return None
    lvl = ppr.find(w("outlineLvl"))
    lvl_val = (lvl.get(w("val")) or "") if lvl is not None else ""
    if lvl_val.isdigit() and int(lvl_val) < 9:
        return int(lvl_val) + 1
    ps = ppr.find(w("pStyle"))
    if ps is not None:
        return levels.get(ps.get(w("val"), ""))
    return None


def _block_runs(ctx: _Ctx, doc: ox.XmlDoc, blocks: list[Element], chosen: list[int], sel: S.Selector) -> int:
    n = 0
    chosen = sorted(set(chosen))
    groups: list[list[int]] = []
    for i in chosen:
        if groups and groups[-1][-1] == i - 1:
            groups[-1].append(i)
        else:
            groups.append([i])
    for g in groups:
        free: list[int] = []
        for k in [*g, None]:  # split around already-claimed blocks
            if k is not None:
                s, e = doc.span(blocks[k])
                if not ctx.claimed(doc.name, s, e):
                    free.append(k)
                    continue
            if free:
                s = doc.span(blocks[free[0]])[0]
                e = doc.span(blocks[free[-1]])[1]
                if ctx.add(
                    Claim(doc.name, s, e, "block", recipients=sel.recipients, elements=[blocks[j] for j in free])
                ):
                    n += 1
                free = []
    return n


def _select_blocks(ctx: _Ctx, sel: S.Selector) -> int:
    doc = ctx.doc(ctx.main)
    body, blocks = _blocks(doc)
    if sel.kind == "body":
        chosen = [i for i, b in enumerate(blocks) if not _is_c11(b)]
    elif sel.kind == "paragraph":
        paras = [i for i, b in enumerate(blocks) if b.tag == w("p")]
        chosen = [i for n, i in enumerate(paras, 1) if sel.covers(n)]
    elif sel.kind == "table":
        tables = [i for i, b in enumerate(blocks) if b.tag == w("tbl")]
        chosen = [i for n, i in enumerate(tables, 1) if sel.covers(n)]
    elif sel.kind == "heading":
        levels = _heading_levels(ctx)
        heads = [(i, lv) for i, b in enumerate(blocks) if (lv := _level(b, levels)) is not None]
        want = sel.name.strip().casefold()
        hit = [(i, lv) for i, lv in heads if _text(blocks[i]).strip().casefold() == want]
        hit = hit or [(i, lv) for i, lv in heads if want in _text(blocks[i]).casefold()]
        if not hit:
            raise UsageError(f"selector {sel.text!r}: no heading with that text")
        chosen = []
        for i, lv in hit:
            j = i + 1
            while j < len(blocks):
                lj = _level(blocks[j], levels)
                if lj is not None and lj <= lv:
                    break
                chosen.append(j)
                j += 1
    else:
        raise AssertionError(sel.kind)
    if not chosen:
        raise UsageError(f"selector {sel.text!r} matches nothing in this document")
    return _block_runs(ctx, doc, blocks, chosen, sel)


def _is_c11(el: Element) -> bool:
    if el.tag != w("sdt"):
        return False
    tag = el.find(f"{w('sdtPr')}/{w('tag')}")
    return tag is not None and (tag.get(w("val")) or "").startswith(("c11:", NOTE_TAG))


NS_PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"
NS_V = "urn:schemas-microsoft-com:vml"
NS_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"


def _is_picture(el: Element) -> bool:
    """A picture (DrawingML pic:pic or VML imagedata), not a shape, chart or text box, and not
    the VML fallback copy of a DrawingML picture."""
    p = el.getparent()
    while p is not None:
        if p.tag == f"{{{NS_MC}}}Fallback":
            return False
        p = p.getparent()
    if el.tag == w("drawing"):
        return next(el.iter(f"{{{NS_PIC}}}pic"), None) is not None
    return next(el.iter(f"{{{NS_V}}}imagedata"), None) is not None


def _select_images(ctx: _Ctx, sel: S.Selector) -> int:
    doc = ctx.doc(ctx.main)
    body, _ = _blocks(doc)
    pics = [el for el in body.iter(w("drawing"), w("pict"), w("object")) if _is_picture(el)]
    n = 0
    for k, pic in enumerate(pics, 1):
        if not sel.covers(k):
            continue
        run = pic.getparent()
        while run is not None and run.tag != w("r"):
            run = run.getparent()
        if run is None:
            continue
        parent = run.getparent()
        if parent is not None and parent.tag == w("p"):
            s, e = doc.span(run)
            n += ctx.add(Claim(doc.name, s, e, "inline", recipients=sel.recipients, elements=[run]))
        else:
            para: Element | None = run
            while para is not None and para.tag != w("p"):
                para = para.getparent()
            if para is not None:
                s, e = doc.span(para)
                n += ctx.add(Claim(doc.name, s, e, "block", recipients=sel.recipients, elements=[para]))
    if n == 0 and not any(sel.covers(k) for k in range(1, len(pics) + 1)):
        raise UsageError(f"selector {sel.text!r}: the document has {len(pics)} picture(s)")
    return n


def _select_matches(ctx: _Ctx, sels: list[S.Selector]) -> int:
    n = 0
    comments = ctx.story_of("comments")
    for member in ctx.stories():
        doc = ctx.doc(member)
        if member == comments:
            for cm in doc.root.iter(w("comment")):
                hit = next((sel for sel in sels if sel.pattern and sel.pattern.search(_text(cm))), None)
                if hit is not None:
                    n += ctx.add(_note_claim(doc, cm, "comment", hit.recipients))
            continue
        for para in doc.root.iter(w("p")):
            s0, e0 = doc.span(para)
            if ctx.claimed(member, s0, e0) or _inside_c11(para):
                continue
            n += _match_paragraph(ctx, doc, para, sels)
    for member in PROPS_MEMBERS:
        if not ctx.pkg.has(member):
            continue
        doc = ctx.doc(member)
        counts: dict[str, int] = {}
        for el in doc.root.iter(etree.Element):
            local = etree.QName(el).localname
            counts[local] = counts.get(local, 0) + 1
            if len(el) or not el.text:
                continue
            for sel in sels:
                if sel.pattern and sel.pattern.search(el.text):
                    s, e = doc.inner(el)
                    c = Claim(
                        member,
                        s,
                        e,
                        "leaf",
                        ox.esc(ox.SHORT_PLACEHOLDER),
                        sel.recipients,
                        leaf_name=f"{local}[{counts[local]}]",
                    )
                    n += ctx.add(c)
                    break
    return n


def _inside_c11(el: Element) -> bool:
    p = el.getparent()
    while p is not None:
        if _is_c11(p):
            return True
        p = p.getparent()
    return False


def _match_paragraph(ctx: _Ctx, doc: ox.XmlDoc, para: Element, sels: list[S.Selector]) -> int:
    segs: list[_Seg] = []
    pos = 0
    texts = []
    for t in para.iter(w("t"), w("delText")):
        tx = t.text or ""
        run = t.getparent()
        if run is None:
            continue
        segs.append((t, run, pos, pos + len(tx)))
        texts.append(tx)
        pos += len(tx)
    full = "".join(texts)
    if not full:
        return 0
    hits: list[tuple[int, int, list[PublicKey] | None]] = []
    for sel in sels:
        if sel.pattern is None:
            continue
        for m in sel.pattern.finditer(full):
            if m.end() > m.start():
                hits.append((m.start(), m.end(), sel.recipients))
    if not hits:
        return 0
    # the runs each match touches; matches sharing a run merge into one span
    groups: list[_Match] = []
    for s, e, rec in sorted(hits, key=lambda h: h[0]):
        runs = [seg[1] for seg in segs if seg[2] < e and seg[3] > s]
        if not runs:
            continue
        if groups and (groups[-1].runs[-1] is runs[0] or runs[0] in groups[-1].runs or s < groups[-1].end):
            g = groups[-1]
            g.end = max(g.end, e)
            for r in runs:
                if r not in g.runs:
                    g.runs.append(r)
        else:
            groups.append(_Match(s, e, runs, rec))
    pfx, _ = doc.prefix(W, "w")
    inline: list[Claim] = []
    for g in groups:
        c = _inline_claim(doc, para, segs, g, pfx)
        if c is None:
            s, e = doc.span(para)
            return int(ctx.add(Claim(doc.name, s, e, "block", recipients=groups[0].recipients, elements=[para])))
        inline.append(c)
    return sum(ctx.add(c) for c in inline)


def _inline_claim(doc: ox.XmlDoc, para: Element, segs: list[_Seg], g: _Match, pfx: str) -> Claim | None:
    runs = g.runs
    parent = runs[0].getparent()
    if parent is not para or any(r.tag != w("r") or r.getparent() is not parent for r in runs):
        return None
    kids = list(parent)
    idx = [kids.index(r) for r in runs]
    lo, hi = min(idx), max(idx)
    between = [k for k in kids[lo : hi + 1] if k.tag not in (w("r"), w("proofErr"))]
    if between:
        return None
    span_runs = [k for k in kids[lo : hi + 1] if k.tag == w("r")]
    first, last = span_runs[0], span_runs[-1]
    simple = all(all(c.tag in (w("rPr"), w("t")) for c in r) and len(r.findall(w("t"))) == 1 for r in (first, last))
    rpr_el = first.find(w("rPr"))
    rpr = doc.bytes_of(rpr_el) if rpr_el is not None else b""
    prefix = suffix = ""
    if simple:
        t0 = first.find(w("t"))
        t1 = last.find(w("t"))
        seg0 = next(sg for sg in segs if sg[0] is t0)
        seg1 = next(sg for sg in segs if sg[0] is t1)
        prefix = ((t0.text if t0 is not None else None) or "")[: max(0, g.start - seg0[2])]
        suffix = ((t1.text if t1 is not None else None) or "")[max(0, g.end - seg1[2]) :]
    content = b""
    if prefix:
        content += _run(pfx, prefix, rpr)
    content += _run(pfx, INLINE_PLACEHOLDER, rpr)
    if suffix:
        last_rpr_el = last.find(w("rPr"))
        content += _run(pfx, suffix, doc.bytes_of(last_rpr_el) if last_rpr_el is not None else b"")
    s = doc.span(first)[0]
    e = doc.span(last)[1]
    return Claim(doc.name, s, e, "inline", content, g.recipients, elements=span_runs)


#: a text element of a paragraph, its run, and where its text starts and ends in the paragraph's text
_Seg = tuple[Element, Element, int, int]


@dataclass
class _Match:
    """Matches of one paragraph that share runs, merged into one span."""

    start: int
    end: int
    runs: list[Element]
    recipients: list[PublicKey] | None


# ---------------------------------------------------------------- notes, comments and media


def _attach(ctx: _Ctx) -> None:
    """Protect footnotes, endnotes and comments referenced from protected spans, and pictures
    used only inside protected spans, along with the span that uses them."""
    for member in list(ctx.claims):
        for c in list(ctx.claims[member]):
            if c.kind == "leaf":
                continue
            for el in c.elements:
                for ref in el.iter(*(w(k) for k in NOTE_KINDS)):
                    story_kind, item = NOTE_KINDS[etree.QName(ref).localname]
                    story = ctx.story_of(story_kind)
                    rid = ref.get(w("id"))
                    if not story or rid is None:
                        continue
                    sdoc = ctx.doc(story)
                    for note in sdoc.root.iter(w(item)):
                        if note.get(w("id")) == rid:
                            ctx.add(_note_claim(sdoc, note, item, c.recipients))
    for member in list(ctx.claims):
        _attach_media(ctx, member)


def _note_claim(doc: ox.XmlDoc, note: Element, item: str, recipients: list[PublicKey] | None) -> Claim:
    """The whole content of a footnote, endnote or comment. Comments get a plain placeholder
    paragraph (LibreOffice cannot load content controls inside comments); they are found again
    by their w:id."""
    s, e = doc.inner(note)
    if item == "comment":
        return Claim(
            doc.name, s, e, "comment", recipients=recipients, elements=list(note), leaf_name=f"id{note.get(w('id'))}"
        )
    return Claim(doc.name, s, e, "inner", recipients=recipients, elements=list(note))


def _rel_refs(doc: ox.XmlDoc) -> list[tuple[Element, str]]:
    out = []
    for el in doc.root.iter(etree.Element):
        for k, v in el.attrib.items():
            if str(k).startswith(f"{{{NS_R}}}"):
                out.append((el, str(v)))
    return out


def _attach_media(ctx: _Ctx, member: str) -> None:
    claims = [c for c in ctx.claims[member] if c.kind != "leaf"]
    if not claims:
        return
    doc = ctx.doc(member)
    rels = {rid: (target, mode) for rid, _, target, mode in ctx.pkg.relationships(member)}
    inside: dict[str, Claim] = {}
    outside: set[str] = set()
    spans = sorted((c.start, c.end, i) for i, c in enumerate(claims))
    starts = [s for s, _, _ in spans]
    for el, rid in _rel_refs(doc):
        s = doc.starts[doc.index(el)]
        i = bisect.bisect_right(starts, s) - 1
        if i >= 0 and spans[i][1] > s:
            inside.setdefault(rid, claims[spans[i][2]])
        else:
            outside.add(rid)
    if not inside:
        return
    # how many relationships (anywhere) point at each media member
    targets: dict[str, int] = {}
    for name in ctx.pkg.names():
        if name.endswith(".rels"):
            src = name.replace("_rels/", "")[:-5]
            for _, _, target, mode in ctx.pkg.relationships(src):
                if mode != "External":
                    targets[target] = targets.get(target, 0) + 1
    for rid, c in inside.items():
        if rid in outside or rid not in rels:
            continue
        target, mode = rels[rid]
        if mode == "External" or not target.lower().endswith(IMAGE_EXT) or not ctx.pkg.has(target):
            continue
        if targets.get(target, 0) != 1 or any(k == f"member:{target}" for cl in claims for k, _ in cl.extra):
            continue
        c.extra.append((f"member:{target}", ctx.pkg.read(target)))
        ctx.pkg.set(target, ox.PLACEHOLDER_PNG)


# ---------------------------------------------------------------- finding placeholders


def _scan(doc: ox.XmlDoc) -> list[tuple[str, Element]]:
    """(tag value, sdt element) of c11 content controls, in document order."""
    out = []
    for sdt in doc.root.iter(w("sdt")):
        tag = sdt.find(f"{w('sdtPr')}/{w('tag')}")
        if tag is None:
            continue
        val = tag.get(w("val")) or ""
        if val.startswith(TAG_PREFIX) or val == NOTE_TAG:
            out.append((val, sdt))
    return out


def _placeholder(sdt: Element) -> bytes:
    content = sdt.find(w("sdtContent"))
    return ("" if content is None else _text(content)).encode("utf-8")


def _leaf(doc: ox.XmlDoc, name: str) -> Element | None:
    m = re.fullmatch(r"(.+)\[(\d+)\]", name)
    if not m:
        return None
    local, k = m.group(1), int(m.group(2))
    seen = 0
    for el in doc.root.iter(etree.Element):
        if etree.QName(el).localname == local:
            seen += 1
            if seen == k:
                return el
    return None


def _locate(
    pkg: ox.Package, env: P.Envelope, ctx: _Ctx
) -> tuple[dict[str, bytes], dict[str, tuple[str, Element, str]], list[tuple[str, Element]]]:
    """Current placeholders by location, and where each sits (member, element, kind)."""
    placeholders: dict[str, bytes] = {}
    where: dict[str, tuple[str, Element, str]] = {}
    notes: list[tuple[str, Element]] = []
    for member in ctx.stories():
        doc = ctx.doc(member)
        last = 0
        for val, sdt in _scan(doc):
            if val == NOTE_TAG:
                notes.append((member, sdt))
                continue
            did, _, loc = val[len(TAG_PREFIX) :].partition(":")
            if did != env.doc_id.hex()[:16]:
                raise IntegrityError(f"protected part {loc!r} belongs to another document")
            lmember, _, num = loc.rpartition("#")
            if loc in placeholders:
                raise IntegrityError(f"protected part {loc!r} appears twice in the document (duplicated)")
            if lmember != member:
                raise IntegrityError(f"protected part {loc!r} was moved to {member}")
            if not num.isdigit() or int(num) <= last:
                raise IntegrityError(f"protected part {loc!r} is out of place (parts were moved or swapped)")
            last = int(num)
            placeholders[loc] = _placeholder(sdt)
            where[loc] = (member, sdt, "sdt")
    comments = ctx.story_of("comments")
    for p in env.parts:
        member, _, name = p.location.rpartition("#")
        if member == comments and name.startswith("id"):
            for cm in ctx.doc(member).root.iter(w("comment")):
                if cm.get(w("id")) == name[2:]:
                    if p.location in placeholders:
                        raise IntegrityError(
                            f"protected part {p.location!r} appears twice in the document (duplicated)"
                        )
                    placeholders[p.location] = _text(cm).encode("utf-8")
                    where[p.location] = (member, cm, "inner")
        if member in PROPS_MEMBERS and pkg.has(member):
            el = _leaf(ctx.doc(member), name)
            if el is not None and len(el) == 0:
                placeholders[p.location] = (el.text or "").encode("utf-8")
                where[p.location] = (member, el, "leaf")
    return placeholders, where, notes


# ---------------------------------------------------------------- the handler


class DocxHandler:
    name = "docx"

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
        sels = chosen_selectors(selectors, matches, part_recipients)
        pkg = ox.Package(data, label)
        ox.check_not_protected(pkg)
        ctx = _Ctx(pkg)
        for sel in sels:
            if sel.kind in ("body", "paragraph", "table", "heading"):
                _select_blocks(ctx, sel)
            elif sel.kind in ("image", "match"):
                pass
            else:
                raise UsageError(f"selector {sel.text!r} does not apply to Word documents")
        for sel in sels:
            if sel.kind == "image":
                _select_images(ctx, sel)
        msels = [s for s in sels if s.kind == "match"]
        if msels and _select_matches(ctx, msels) == 0 and not any(ctx.claims.values()):
            raise UsageError(f"{', '.join(s.text for s in msels)}: no text matches in this document")
        if not any(ctx.claims.values()):
            raise UsageError("the selectors match nothing in this document")
        _attach(ctx)
        return _seal(ctx, recipients, sender, note)

    def read_envelope(self, data: bytes, *, label: str = "document") -> P.Envelope | None:
        pkg = ox.Package(data, label)
        found = ox.find_protection(pkg)
        return None if found is None else found[1].envelope

    def write_envelope(self, data: bytes, envelope: P.Envelope, *, label: str = "document") -> bytes:
        pkg = ox.Package(data, label)
        where, prot = ox.require_protection(pkg)
        prot.envelope = envelope
        pkg.set(where, prot.to_xml())
        return pkg.to_bytes()

    def unprotect(
        self, data: bytes, identities: Sequence[Identity], *, label: str = "document"
    ) -> tuple[bytes, P.Opened]:
        pkg = ox.Package(data, label)
        where, prot = ox.require_protection(pkg)
        ctx = _Ctx(pkg)
        env = prot.envelope
        placeholders, located, notes = _locate(pkg, env, ctx)
        placeholders.update(ox.thumbnail_placeholders(pkg, env))
        opened = P.open_parts(env, identities, placeholders)
        edits: dict[str, list[tuple[int, int, bytes]]] = {}
        added: list[_flatopc.Addition] = []
        taken_ids = {rid for rid, _, _, _ in pkg.relationships(ctx.main)}
        taken_members = set(pkg.names())
        for loc, plain in opened.plaintexts.items():
            if ox.restore_thumbnail(pkg, loc, plain):
                continue
            member, el, kind = located[loc]
            doc = ctx.doc(member)
            for key, value in ox.unpack(plain):
                if key == "xml":
                    s, e = doc.span(el) if kind == "sdt" else doc.inner(el)
                    edits.setdefault(member, []).append((s, e, value))
                elif key == "ooxml" and kind == "sdt" and member == ctx.main:
                    parent = el.getparent()
                    xml, add = _flatopc.body_content(
                        value,
                        inline=parent is not None and parent.tag == w("p"),
                        taken_ids=taken_ids,
                        taken_members=taken_members,
                        main=ctx.main,
                        prefix=env.doc_id.hex()[:8],
                        label=f"{label}: part {loc}",
                    )
                    edits.setdefault(member, []).append((*doc.span(el), xml))
                    added.append(add)
                elif key.startswith("member:"):
                    if pkg.has(key[7:]):
                        pkg.set(key[7:], value)
                else:
                    raise FormatError(
                        f"{label}: protected part {loc!r} holds content of a kind this version of c11 cannot "
                        f"restore ({key!r} in {member}): update c11"
                    )
        all_open = not opened.closed
        if all_open:
            for member, sdt in notes:
                s, e = ctx.doc(member).span(sdt)
                edits.setdefault(member, []).append((s, e, b""))
        for member, ed in edits.items():
            out = ox.splice(ctx.doc(member).data, ed)
            try:
                ox.parse_xml(out, member)
            except FormatError:
                raise FormatError(f"{label}: {member} was rewritten by an editor in a way c11 cannot restore") from None
            pkg.set(member, out)
        if all_open:
            ox.restore_structure(pkg, prot, where, ctx.main)
        else:
            prot.envelope = ox.envelope_left(env, opened)
            pkg.set(where, prot.to_xml())
        for add in added:  # after the structure is restored, which may put back the original .rels
            _flatopc.apply(pkg, ctx.main, add)
        return pkg.to_bytes(), opened


def _seal(ctx: _Ctx, recipients: Sequence[PublicKey], sender: Identity, note: str) -> bytes:
    import uuid

    pkg = ctx.pkg
    doc_id = uuid.uuid4().bytes
    prot = ox.Protection(P.Envelope(doc_id, [], [], note), "docx")
    plain: list[tuple[Claim, bytes]] = []
    tag = f"{TAG_PREFIX}{doc_id.hex()[:16]}:"  # binds the visible parts to this document
    for member, claims in ctx.claims.items():
        doc = ctx.doc(member)
        pfx, decl = doc.prefix(W, "w")
        edits = []
        for k, c in enumerate(sorted(claims, key=lambda c: c.start), 1):
            c.location = f"{member}#{c.leaf_name}" if c.kind in ("leaf", "comment") else f"{member}#{k}"
            if c.kind == "leaf":
                rep = c.replacement
            elif c.kind == "comment":
                rep = _para(pfx, _run(pfx, ox.PLACEHOLDER, grey=True))
                paras = [e for e in c.elements if e.tag == w("p")]
                if paras:  # keep the paragraph ID commentsExtended.xml points at
                    head = doc.data[doc.starts[doc.index(paras[-1])] : doc.oends[doc.index(paras[-1])]]
                    ids = re.findall(rb'\s(\w+:(?:paraId|textId)="[^"]*")', head)
                    if ids:
                        rep = rep.replace(b"p>", b"p " + b" ".join(ids) + b">", 1)
            elif c.kind == "inline":
                rep = _sdt(pfx, decl, tag + c.location, c.replacement or _run(pfx, INLINE_PLACEHOLDER, grey=True))
            else:
                rep = _sdt(pfx, decl, tag + c.location, _para(pfx, _run(pfx, ox.PLACEHOLDER, grey=True)))
            edits.append((c.start, c.end, rep))
            plain.append((c, ox.pack([("xml", doc.data[c.start : c.end])] + c.extra)))
        if member == ctx.main:
            body, _ = _blocks(doc)
            at = doc.oends[doc.index(body)]
            runs = _run(pfx, ox.BANNER, grey=True)
            banner = _para(pfx, runs)
            if note:
                p = pfx.encode()
                lines = note.splitlines() or [note]
                body_runs = _run(pfx, "Note from the author: " + lines[0])
                for line in lines[1:]:
                    body_runs += b"<" + p + b"r><" + p + b"br/></" + p + b"r>" + _run(pfx, line)
                banner += _para(pfx, body_runs)
            edits.append((at, at, _sdt(pfx, decl, NOTE_TAG, banner)))
        new = ox.splice(doc.data, edits)
        pkg.set(member, new)
    # placeholders exactly as unprotect will read them
    check = _Ctx(pkg)
    placeholders, _, _ = _locate(
        pkg, P.Envelope(doc_id, [], [P.SealedPart(c.location, 0, b"", b"", b"") for c, _ in plain], note), check
    )
    parts = []
    for c, pt in plain:
        if c.location not in placeholders:
            raise FormatError(f"internal error: placeholder of {c.location} not found")
        parts.append(P.Part(c.location, pt, placeholders[c.location], c.recipients))
    ox.take_thumbnail(pkg, parts, list(recipients))
    prot.envelope = P.seal(parts, recipients, sender, note=note, doc_id=doc_id)
    ox.write_protection(pkg, prot, ctx.main)
    return pkg.to_bytes()


HANDLER: Handler = DocxHandler()
