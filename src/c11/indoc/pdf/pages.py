"""Page-level steps of protecting a PDF: a page alone as a PDF, a page replaced by a placeholder, a
page with regions removed, and the form fields and structure text that go with protected pages.
"""

from __future__ import annotations

import warnings

from c11.errors import FormatError
from c11.indoc.pdf._lib import PdfObject, pikepdf
from c11.indoc.pdf.document import dest_to_numbers, save
from c11.indoc.pdf.drawing import FONT_NAME, placeholder_page, region_overlay
from c11.indoc.pdf.fonts import FontInfo
from c11.indoc.pdf.geometry import ID, num, overlaps
from c11.indoc.pdf.redactor import TEXT_ALT_KEYS, Redactor
from c11.indoc.pdf.selection import Region, regions_spec, visible_box

#: the page-dictionary key of a protected page's marker
MARK_KEY = "/C11Part"
#: the keys a page replaced by a placeholder keeps
KEEP_PAGE_KEYS = {
    "/Type",
    "/Parent",
    "/MediaBox",
    "/CropBox",
    "/BleedBox",
    "/TrimBox",
    "/ArtBox",
    "/Rotate",
    "/UserUnit",
}


def page_pdf(pdf: PdfObject, idx: int) -> bytes:
    """The page alone as a PDF; references to other pages become page numbers, and links to
    parents, popups and threads are cut, so nothing of another page travels with it."""
    pk = pikepdf()
    page = pdf.pages[idx].obj
    index = {p.obj.objgen: i for i, p in enumerate(pdf.pages)}
    saved: dict[str, PdfObject] = {}
    for key in ("/Annots", "/B"):
        if key in page:
            saved[key] = page[key]
    try:
        if "/B" in page:
            del page["/B"]
        annots = page.get("/Annots")
        if isinstance(annots, pk.Array):
            new = pk.Array()
            for a in annots:
                if not isinstance(a, pk.Dictionary):
                    continue
                d = pk.Dictionary({k: v for k, v in a.items() if k not in ("/P", "/Parent", "/Popup", "/IRT")})
                if "/Dest" in d:
                    d.Dest = dest_to_numbers(d.Dest, index)
                act = d.get("/A")
                if isinstance(act, pk.Dictionary) and "/D" in act:
                    act = pk.Dictionary(act)
                    act.D = dest_to_numbers(act.D, index)
                    if "/Next" in act:
                        del act["/Next"]
                    d.A = act
                new.append(d)
            page.Annots = new
        single = pk.Pdf.new()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # widgets outside an AcroForm: the page travels alone
            single.pages.append(pdf.pages[idx])
        return save(single)
    finally:
        for key, v in saved.items():
            page[key] = v


def _widgets(page: PdfObject) -> list[PdfObject]:
    """The form-field widget annotations of a page."""
    pk = pikepdf()
    annots = page.obj.get("/Annots")
    if not isinstance(annots, pk.Array):
        return []
    return [a for a in annots if isinstance(a, pk.Dictionary) and str(a.get("/Subtype", "")) == "/Widget"]


def replace_page(pdf: PdfObject, page: PdfObject, n: int, note: str, dropped_fields: set[tuple[int, int]]) -> bytes:
    """Empty the page in place (same object) and give it placeholder content; returns that content."""
    pk = pikepdf()
    dropped_fields.update(w.objgen for w in _widgets(page) if w.is_indirect)
    obj = page.obj
    box = visible_box(page)
    for k in list(obj.keys()):
        if k not in KEEP_PAGE_KEYS:
            del obj[k]
    if "/MediaBox" not in obj:
        obj.MediaBox = pk.Array(list(page.mediabox))
    content = placeholder_page(n, note, box)
    stream = pdf.make_indirect(pk.Stream(pdf, content))
    obj.Contents = stream
    obj.Resources = pk.Dictionary(Font=pk.Dictionary({FONT_NAME: _helvetica(pdf)}))
    obj[MARK_KEY] = pk.Dictionary(Kind=pk.Name("/Page"), Placeholder=stream)
    return content


def _helvetica(pdf: PdfObject) -> PdfObject:
    """A new Helvetica (WinAnsi) font dictionary for the placeholder text."""
    pk = pikepdf()
    return pdf.make_indirect(
        pk.Dictionary(
            Type=pk.Name("/Font"),
            Subtype=pk.Name("/Type1"),
            BaseFont=pk.Name("/Helvetica"),
            Encoding=pk.Name("/WinAnsiEncoding"),
        )
    )


def redact_page(
    pdf: PdfObject,
    page: PdfObject,
    n: int,
    note: str,
    regions: list[Region],
    fonts: dict[tuple[int, int], FontInfo],
    counter: list[int],
    dropped_fields: set[tuple[int, int]],
) -> bytes:
    """Rewrite the page so nothing is drawn over the regions and draw their overlay; returns the overlay."""
    rects = [r.rect for r in regions]
    pk = pikepdf()
    obj = page.obj
    try:
        ops = pk.parse_content_stream(page)
    except pk.PdfError as e:
        raise FormatError(f"cannot read the content of page {page.index + 1}: {e}") from None
    resources = obj.get("/Resources")
    red = Redactor(pdf, rects, fonts, counter)
    new_ops, new_res = red.rewrite(ops, resources, ID)
    body = pk.unparse_content_stream(new_ops)
    overlay = region_overlay(n, note, rects)
    res = pk.Dictionary(new_res) if isinstance(new_res, pk.Dictionary) else pk.Dictionary()
    fd = pk.Dictionary(res.Font) if isinstance(res.get("/Font"), pk.Dictionary) else pk.Dictionary()
    fd[FONT_NAME] = _helvetica(pdf)
    res.Font = fd
    props = res.get("/Properties")
    if isinstance(props, pk.Dictionary):  # marked-content properties used by name (BDC /P /MC0)
        new_props = pk.Dictionary()
        for k, v in props.items():
            if isinstance(v, pk.Dictionary) and any(t in v for t in TEXT_ALT_KEYS):
                v = pk.Dictionary({kk: vv for kk, vv in v.items() if kk not in TEXT_ALT_KEYS})
            new_props[k] = v
        res.Properties = new_props
    ov = pdf.make_indirect(pk.Stream(pdf, overlay))
    obj.Contents = pk.Array([pdf.make_indirect(pk.Stream(pdf, b"q\n" + body + b"\nQ\n")), ov])
    obj.Resources = res
    annots = obj.get("/Annots")
    if isinstance(annots, pk.Array):
        keep = pk.Array()
        for a in annots:
            r = a.get("/Rect") if isinstance(a, pk.Dictionary) else None
            if isinstance(r, pk.Array) and len(r) == 4:
                rb = (
                    min(num(r[0]), num(r[2])),
                    min(num(r[1]), num(r[3])),
                    max(num(r[0]), num(r[2])),
                    max(num(r[1]), num(r[3])),
                )
                if any(overlaps(rb, x) for x in rects):
                    if str(a.get("/Subtype", "")) == "/Widget" and a.is_indirect:
                        dropped_fields.add(a.objgen)
                    continue
            keep.append(a)
        obj.Annots = keep
    for k in ("/Thumb", "/PieceInfo"):
        if k in obj:
            del obj[k]
    spec = regions_spec([r.given for r in regions])
    obj[MARK_KEY] = pk.Dictionary(Kind=pk.Name("/Regions"), Regions=pk.String(spec), Placeholder=ov)
    return overlay


def drop_fields(pdf: PdfObject, widgets: set[tuple[int, int]]) -> None:
    """Form fields whose every widget was removed leave the AcroForm (their values are secret)."""
    pk = pikepdf()
    form = pdf.Root.get("/AcroForm")
    if not widgets or not isinstance(form, pk.Dictionary) or not isinstance(form.get("/Fields"), pk.Array):
        return

    def prune(arr: PdfObject, depth: int = 0) -> PdfObject:
        keep = pk.Array()
        for f in arr:
            if not isinstance(f, pk.Dictionary) or depth > 32:
                keep.append(f)
                continue
            if f.is_indirect and f.objgen in widgets:
                continue
            kids = f.get("/Kids")
            if isinstance(kids, pk.Array) and len(kids):
                new = prune(kids, depth + 1)
                if not len(new):
                    continue
                f.Kids = new
            keep.append(f)
        return keep

    form.Fields = prune(form.Fields)


def drop_struct_text(pdf: PdfObject, pages: set[tuple[int, int]]) -> None:
    """Tagged PDF: text alternatives of structure elements on protected pages are removed."""
    pk = pikepdf()
    root = pdf.Root.get("/StructTreeRoot")
    if not isinstance(root, pk.Dictionary):
        return
    seen: set[tuple[int, int]] = set()
    stack = [root.get("/K")]
    while stack:
        node = stack.pop()
        if isinstance(node, pk.Array):
            stack.extend(node)
            continue
        if not isinstance(node, pk.Dictionary):
            continue
        if node.is_indirect:
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
        pg = node.get("/Pg")
        if isinstance(pg, pk.Dictionary) and pg.is_indirect and pg.objgen in pages:
            for k in TEXT_ALT_KEYS:
                if k in node:
                    del node[k]
        if len(seen) > 200000:
            break
        stack.append(node.get("/K"))
