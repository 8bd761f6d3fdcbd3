"""In-document protection of PDF files: whole pages, and rectangular regions truly removed
(docs/indoc-media.md).

* `page:2-3` — each page is replaced, in place (same page object, so links and bookmarks to it still
  work), by a placeholder page of the same size: its content streams, resources, annotations and
  thumbnail are gone; its form fields leave the AcroForm; text alternatives of its tagged-structure
  elements are dropped.
* `region:PAGE:x0,y0,x1,y1` — in PDF points from the top left corner of the page as displayed
  (CropBox, after /Rotate), y downwards. The page's content streams are rewritten: every glyph whose box
  intersects a region is removed from its text-showing operator (the glyphs around it keep their
  exact positions through TJ adjustments); images drawn over a region have those pixels painted
  over in a new image (stencil masks and inline images are dropped whole); subpaths painted over
  a region are removed (except filled rectangles that contain the region, like backgrounds);
  form XObjects drawn over a region are rewritten the same way; annotations that
  intersect a region are removed. A dark box with the placeholder is then drawn on top.

Each protected page (or all the regions of one page) is one part whose plaintext is that page alone
as a PDF, so it can have its own recipients and be restored alone. The exact original file is one
more part, `original`, for the people who may open every part: unprotecting returns it byte for byte
when the rest of the document was not changed meanwhile. The envelope is a stream under the custom
catalog key /C11Parts.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import warnings
import zlib
from typing import Sequence

from c11.errors import FormatError, IntegrityError, TooLargeError, UsageError
from c11.indoc import _limits
from c11.indoc import parts as P
from c11.indoc._mediacommon import (
    ORIGINAL,
    check_placeholders,
    intersection,
    numbers,
    parse_selectors,
    placeholder,
    remaining,
    same_keys,
)
from c11.indoc._pdfmetrics import width as base14_width

ENV_KEY = "/C11Parts"
MARK_KEY = "/C11Part"
FONT_NAME = "/C11Helv"
KEEP_PAGE_KEYS = {"/Type", "/Parent", "/MediaBox", "/CropBox", "/BleedBox", "/TrimBox", "/ArtBox", "/Rotate",
                  "/UserUnit"}
TEXT_ALT_KEYS = ("/ActualText", "/Alt", "/E")
PAINT_OPS = {"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "n"}
STROKE_OPS = {"S", "s", "B", "B*", "b", "b*"}
PATH_OPS = {"m", "l", "c", "v", "y", "h", "re"}

Matrix = tuple[float, float, float, float, float, float]
ID: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def notice(note: str) -> str:
    text = "Parts of this document are protected with c11: open it with c11 to read them."
    if note:
        text += f" Note from the author: {note}"
    return text


def _pikepdf():
    import pikepdf

    return pikepdf


# ---------------------------------------------------------------------------------------------
# geometry

def mul(m: Matrix, n: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    A, B, C, D, E, F = n
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def invert(m: Matrix) -> Matrix | None:
    a, b, c, d, e, f = m
    det = a * d - b * c
    if abs(det) < 1e-12:
        return None
    return (d / det, -b / det, -c / det, a / det, (c * f - d * e) / det, (b * e - a * f) / det)


def bbox(m: Matrix, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    pts = [apply(m, x, y) for x, y in ((x0, y0), (x0, y1), (x1, y0), (x1, y1))]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def overlaps(b, r) -> bool:
    return b[0] < r[2] and r[0] < b[2] and b[1] < r[3] and r[1] < b[3]


def contains(outer, inner) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return 0.0


def _matrix(arr) -> Matrix:
    try:
        vals = tuple(float(v) for v in arr)
        return vals if len(vals) == 6 else ID  # type: ignore[return-value]
    except (TypeError, ValueError):
        return ID


# ---------------------------------------------------------------------------------------------
# fonts: enough to know each glyph's code length and advance width

class FontInfo:
    def __init__(self, font):
        pk = _pikepdf()
        self.two_byte = False
        self.code_lengths: list[tuple[int, int, int]] = []  # (first byte lo, hi, length)
        self.widths: dict[int, float] = {}
        self.default = 0.5
        self.scale = 0.001
        self.ascent, self.descent = 0.8, -0.25
        self.base = ""
        self.vertical = False
        if not isinstance(font, pk.Dictionary):
            return
        subtype = str(font.get("/Subtype", ""))
        self.base = str(font.get("/BaseFont", ""))
        desc = font.get("/FontDescriptor")
        if subtype == "/Type0":
            self.two_byte = True
            enc = font.get("/Encoding")
            if str(enc).endswith("-V") or (isinstance(enc, pk.Stream) and int(_num(enc.get("/WMode", 0))) == 1):
                self.vertical = True
            if isinstance(enc, pk.Stream):
                self._codespace(enc)
            desc_fonts = font.get("/DescendantFonts")
            cid = desc_fonts[0] if isinstance(desc_fonts, pk.Array) and len(desc_fonts) else None
            if isinstance(cid, pk.Dictionary):
                self.default = _num(cid.get("/DW", 1000)) / 1000
                self._w_array(cid.get("/W"))
                desc = cid.get("/FontDescriptor")
        else:
            if subtype == "/Type3":
                fm = font.get("/FontMatrix")
                self.scale = abs(_num(fm[0])) if isinstance(fm, pk.Array) and len(fm) == 6 else 0.001
                self.ascent, self.descent = 1.0, -0.3
            first = int(_num(font.get("/FirstChar", 0)))
            ws = font.get("/Widths")
            if isinstance(ws, pk.Array):
                for i, w in enumerate(ws):
                    self.widths[first + i] = _num(w) * self.scale
            missing = _num(desc.get("/MissingWidth", 0)) if isinstance(desc, pk.Dictionary) else 0
            if self.widths or missing:
                self.default = missing * self.scale  # codes outside /Widths: /MissingWidth, else 0
            else:
                self.default = 0.6 if base14_width(self.base, 65) is None else 0.5
        if isinstance(desc, pk.Dictionary) and subtype != "/Type3":
            asc, dsc = _num(desc.get("/Ascent", 0)) / 1000, _num(desc.get("/Descent", 0)) / 1000
            if 0.3 < asc < 2:
                self.ascent = asc
            if -1 < dsc < 0:
                self.descent = dsc

    def _codespace(self, cmap) -> None:
        try:
            text = cmap.read_bytes().decode("latin-1")
        except Exception:  # noqa: BLE001
            return
        for block in re.findall(r"begincodespacerange(.*?)endcodespacerange", text, re.S):
            for lo, hi in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                n = len(lo) // 2
                self.code_lengths.append((int(lo[:2], 16), int(hi[:2], 16), n))

    def _w_array(self, w) -> None:
        pk = _pikepdf()
        if not isinstance(w, pk.Array):
            return
        items = list(w)
        i = 0
        while i < len(items):
            try:
                start = int(_num(items[i]))
                nxt = items[i + 1]
                if isinstance(nxt, pk.Array):
                    for k, v in enumerate(nxt):
                        self.widths[start + k] = _num(v) / 1000
                    i += 2
                else:
                    end, v = int(_num(nxt)), _num(items[i + 2]) / 1000
                    if end - start < 70000:
                        for c in range(start, end + 1):
                            self.widths[c] = v
                    i += 3
            except (IndexError, TypeError):
                break

    def glyphs(self, s: bytes) -> list[tuple[bytes, float, bool]]:
        """(code bytes, advance in em, is the single-byte space) for each glyph of a string."""
        out = []
        if not self.two_byte:
            for b in s:
                w = self.widths.get(b)
                if w is None:
                    bw = base14_width(self.base, b) if not self.widths else None
                    w = bw / 1000 if bw is not None else self.default
                out.append((bytes([b]), w, b == 32))
            return out
        i = 0
        while i < len(s):
            n = 2
            for lo, hi, length in self.code_lengths:
                if lo <= s[i] <= hi:
                    n = length
                    break
            code = s[i:i + n]
            out.append((code, self.widths.get(int.from_bytes(code, "big"), self.default), n == 1 and code == b" "))
            i += n
        return out


# ---------------------------------------------------------------------------------------------
# content-stream rewriting for regions

class Redactor:
    """Rewrites one content stream so nothing is drawn over the given user-space rectangles."""

    def __init__(self, pdf, rects, fonts: dict | None = None, counter: list | None = None):
        self.pdf = pdf
        self.rects = rects
        self.fonts = fonts if fonts is not None else {}
        self.counter = counter if counter is not None else [0]
        self.changed = False

    def _font(self, resources, name):
        pk = _pikepdf()
        font = None
        if isinstance(resources, pk.Dictionary):
            fonts = resources.get("/Font")
            if isinstance(fonts, pk.Dictionary):
                font = fonts.get(name)
        return self._font_info(font)

    def _font_info(self, font):
        pk = _pikepdf()
        if not (isinstance(font, pk.Object) and font.is_indirect):
            return FontInfo(font)  # direct (or missing) fonts have no stable identity to cache by
        if font.objgen not in self.fonts:
            self.fonts[font.objgen] = FontInfo(font)
        return self.fonts[font.objgen]

    def _hit(self, b) -> bool:
        return any(overlaps(b, r) for r in self.rects)

    def _new_name(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"/C11{prefix}{self.counter[0]}"

    def rewrite(self, instructions, resources, ctm: Matrix, gs: dict | None = None):
        """New instructions and resources (a new dictionary when anything in it changed)."""
        pk = _pikepdf()
        Op, Instr = pk.Operator, pk.ContentStreamInstruction
        out = []
        gs = dict(gs or {"ctm": ctm, "Tc": 0.0, "Tw": 0.0, "Th": 1.0, "TL": 0.0, "font": FontInfo(None),
                         "Tfs": 0.0, "Ts": 0.0, "lw": 1.0})
        gs["ctm"] = ctm
        stack: list[dict] = []
        tm = tlm = ID
        path: list = []
        clip = None
        xobj_new: dict[str, object] = {}
        replaced: set[str] = set()
        used: set[str] = set()

        def show(items) -> list | None:
            nonlocal tm
            font, tfs, th = gs["font"], gs["Tfs"], gs["Th"]
            trm = mul(tm, gs["ctm"])
            new_items: list = []
            buf = bytearray()
            removed = False
            for item in items:
                if isinstance(item, (pk.String, bytes)):
                    data = bytes(item)
                    for code, w, space in font.glyphs(data):
                        if font.vertical:  # vertical writing: glyphs go down, about 1 em each
                            adv = -(tfs + gs["Tc"] + (gs["Tw"] if space else 0.0))
                            box = bbox(trm, -0.5 * abs(tfs), -abs(tfs), 0.5 * abs(tfs), 0.0)
                        else:
                            adv = (w * tfs + gs["Tc"] + (gs["Tw"] if space else 0.0)) * th
                            gw = max(w, 0.3) * tfs * th
                            lo = gs["Ts"] + font.descent * tfs
                            hi = gs["Ts"] + font.ascent * tfs
                            box = bbox(trm, min(0.0, gw), min(lo, hi), max(0.0, gw), max(lo, hi))
                        if self._hit(box):
                            removed = True
                            if buf:
                                new_items.append(pk.String(bytes(buf)))
                                buf = bytearray()
                            scale = tfs if font.vertical else tfs * th
                            if scale:
                                adj = -adv * 1000 / scale
                                if new_items and isinstance(new_items[-1], float):
                                    new_items[-1] += adj
                                else:
                                    new_items.append(adj)
                        else:
                            buf += code
                        tm = mul((1, 0, 0, 1, 0, adv) if font.vertical else (1, 0, 0, 1, adv, 0), tm)
                        trm = mul(tm, gs["ctm"])
                else:
                    n = _num(item)
                    if buf:
                        new_items.append(pk.String(bytes(buf)))
                        buf = bytearray()
                    if new_items and isinstance(new_items[-1], float):
                        new_items[-1] += n
                    else:
                        new_items.append(n)
                    shift = (1, 0, 0, 1, 0, -n / 1000 * tfs) if font.vertical else (1, 0, 0, 1, -n / 1000 * tfs * th, 0)
                    tm = mul(shift, tm)
                    trm = mul(tm, gs["ctm"])
            if buf:
                new_items.append(pk.String(bytes(buf)))
            if not removed:
                return None
            self.changed = True
            return [round(x, 4) if isinstance(x, float) else x for x in new_items]

        def next_line():
            nonlocal tm, tlm
            tlm = mul((1, 0, 0, 1, 0, -gs["TL"]), tlm)
            tm = tlm

        for ins in instructions:
            if isinstance(ins, pk.ContentStreamInlineImage):
                if self._hit(bbox(gs["ctm"], 0, 0, 1, 1)):
                    self.changed = True
                    continue
                out.append(ins)
                continue
            op = str(ins.operator)
            args = list(ins.operands)
            if op in PATH_OPS:
                path.append(ins)
                continue
            if op in ("W", "W*"):
                clip = ins
                continue
            if op in PAINT_OPS:
                kept = self._filter_path(path, op, gs)
                if len(kept) == len(path):
                    out.extend(path)
                    if clip is not None:
                        out.append(clip)
                    out.append(ins)
                else:
                    self.changed = True
                    if kept:
                        out.extend(kept)
                        out.append(ins)
                    if clip is not None:  # the clip still uses the whole path, painted or not
                        out.extend(path)
                        out.extend([clip, Instr([], Op("n"))])
                path, clip = [], None
                continue
            # other operators inside a path (not allowed, but seen) take effect before it is painted
            if op == "q":
                stack.append(dict(gs))
            elif op == "Q":
                if stack:
                    gs = stack.pop()
            elif op == "cm" and len(args) == 6:
                gs["ctm"] = mul(_matrix(args), gs["ctm"])
            elif op == "w" and args:
                gs["lw"] = _num(args[0])
            elif op == "gs" and args and isinstance(resources, pk.Dictionary):
                ext = resources.get("/ExtGState")
                st = ext.get(str(args[0])) if isinstance(ext, pk.Dictionary) else None
                if isinstance(st, pk.Dictionary):
                    if "/LW" in st:
                        gs["lw"] = _num(st.LW)
                    f = st.get("/Font")
                    if isinstance(f, pk.Array) and len(f) == 2 and isinstance(f[0], pk.Dictionary):
                        gs["font"], gs["Tfs"] = self._font_info(f[0]), _num(f[1])
            elif op == "BT":
                tm = tlm = ID
            elif op == "Tf" and len(args) == 2:
                gs["font"] = self._font(resources, args[0])
                gs["Tfs"] = _num(args[1])
            elif op == "Tc" and args:
                gs["Tc"] = _num(args[0])
            elif op == "Tw" and args:
                gs["Tw"] = _num(args[0])
            elif op == "Tz" and args:
                gs["Th"] = _num(args[0]) / 100
            elif op == "TL" and args:
                gs["TL"] = _num(args[0])
            elif op == "Ts" and args:
                gs["Ts"] = _num(args[0])
            elif op in ("Td", "TD") and len(args) == 2:
                if op == "TD":
                    gs["TL"] = -_num(args[1])
                tlm = mul((1, 0, 0, 1, _num(args[0]), _num(args[1])), tlm)
                tm = tlm
            elif op == "Tm" and len(args) == 6:
                tm = tlm = _matrix(args)
            elif op == "T*":
                next_line()
            elif op in ("Tj", "TJ", "'", '"'):
                if op == '"' and len(args) == 3:
                    gs["Tw"], gs["Tc"] = _num(args[0]), _num(args[1])
                if op in ("'", '"'):
                    next_line()
                items = list(args[-1]) if op == "TJ" and args and isinstance(args[-1], pk.Array) else args[-1:]
                new = show(items)
                if new is not None:
                    if op == '"':
                        out.append(Instr([args[0]], Op("Tw")))
                        out.append(Instr([args[1]], Op("Tc")))
                    if op in ("'", '"'):
                        out.append(Instr([], Op("T*")))
                    out.append(Instr([pk.Array(new)], Op("TJ")))
                    continue
            elif op == "Do" and args:
                name = str(args[0])
                xobj = None
                if isinstance(resources, pk.Dictionary) and isinstance(resources.get("/XObject"), pk.Dictionary):
                    xobj = resources.XObject.get(name)
                if isinstance(xobj, pk.Stream):
                    sub = str(xobj.get("/Subtype", ""))
                    if sub == "/Image" and self._hit(bbox(gs["ctm"], 0, 0, 1, 1)):
                        self.changed = True
                        replaced.add(name)
                        new = self._redact_image(xobj, gs["ctm"])
                        if new is not None:
                            nn = self._new_name("Im")
                            xobj_new[nn] = new
                            out.append(Instr([pk.Name(nn)], Op("Do")))
                        continue
                    if sub == "/Form":
                        fm = mul(_matrix(xobj.get("/Matrix", ID)), gs["ctm"])
                        bb = xobj.get("/BBox")
                        fb = bbox(fm, *[_num(v) for v in bb]) if isinstance(bb, pk.Array) and len(bb) == 4 else None
                        if fb is None or self._hit(fb):
                            new = self._rewrite_form(xobj, fm, gs, resources)
                            if new is not None:
                                self.changed = True
                                replaced.add(name)
                                nn = self._new_name("Fm")
                                xobj_new[nn] = new
                                out.append(Instr([pk.Name(nn)], Op("Do")))
                                continue
                used.add(name)
            elif op in ("BDC", "DP") and len(args) == 2 and isinstance(args[1], pk.Dictionary):
                props = args[1]
                if any(k in props for k in TEXT_ALT_KEYS):
                    clean = pk.Dictionary({k: v for k, v in props.items() if k not in TEXT_ALT_KEYS})
                    out.append(Instr([args[0], clean], ins.operator))
                    self.changed = True
                    continue
            out.append(ins)
        if path:
            out.extend(path)
        new_res = resources
        if xobj_new or replaced - used:
            new_res = pk.Dictionary(resources) if isinstance(resources, pk.Dictionary) else pk.Dictionary()
            xd = pk.Dictionary(new_res.XObject) if isinstance(new_res.get("/XObject"), pk.Dictionary) else pk.Dictionary()
            for n in replaced - used:
                if n in xd:
                    del xd[n]
            for n, v in xobj_new.items():
                xd[n] = v
            new_res.XObject = xd
        return out, new_res

    def _filter_path(self, path, op: str, gs) -> list:
        """The subpaths of a painted path that may stay: those that do not touch a region, and
        plain filled rectangles that contain the regions they touch (backgrounds)."""
        if not path or op == "n":
            return path
        groups: list[list] = []
        for ins in path:
            if str(ins.operator) in ("m", "re") or not groups:
                groups.append([])
            groups[-1].append(ins)
        pad = 0.0
        if op in STROKE_OPS:
            m = gs["ctm"]
            pad = max(gs["lw"], 1.0) * math.sqrt(abs(m[0] * m[3] - m[1] * m[2])) / 2
        kept: list = []
        for group in groups:
            pts: list[tuple[float, float]] = []
            rect = None
            for ins in group:
                vals = [_num(v) for v in ins.operands]
                if str(ins.operator) == "re" and len(vals) == 4:
                    x, y, w, h = vals
                    rect = bbox(gs["ctm"], x, y, x + w, y + h)
                    pts.extend([(rect[0], rect[1]), (rect[2], rect[3])])
                else:
                    pts.extend(apply(gs["ctm"], vals[i], vals[i + 1]) for i in range(0, len(vals) - 1, 2))
            if not pts:
                kept.extend(group)
                continue
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            b = (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)
            hit = [r for r in self.rects if overlaps(b, r)]
            if not hit or (rect is not None and op not in STROKE_OPS and all(contains(rect, r) for r in hit)):
                kept.extend(group)
        return kept

    def _rewrite_form(self, xobj, ctm: Matrix, gs, parent_resources=None):
        pk = _pikepdf()
        try:
            ops = pk.parse_content_stream(xobj)
        except Exception:  # noqa: BLE001 - unparsable: drop it rather than leave it
            return None
        sub = Redactor(self.pdf, self.rects, self.fonts, self.counter)
        own = xobj.get("/Resources")
        # a form without resources uses those of the page (or form) that draws it
        new_ops, new_res = sub.rewrite(ops, own if own is not None else parent_resources, ctm, gs)
        if not sub.changed:
            return None
        stream = pk.Stream(self.pdf, pk.unparse_content_stream(new_ops))
        for k, v in xobj.items():
            if k not in ("/Length", "/Filter", "/DecodeParms", "/Resources"):
                stream[k] = v
        if new_res is not None:
            stream.Resources = new_res
        return stream

    def _redact_image(self, xobj, ctm: Matrix):
        pk = _pikepdf()
        if xobj.get("/ImageMask", False):
            return None
        inv = invert(ctm)
        if inv is None:
            return None
        try:
            if int(xobj.get("/Width", 0)) * int(xobj.get("/Height", 0)) > _limits.MAX_PIXELS:
                return None  # too large to decode: dropped like an image we cannot decode
            pil = pk.PdfImage(xobj).as_pil_image()
        except Exception:  # noqa: BLE001 - a format we cannot decode: drop the image
            return None
        if pil.mode not in ("L", "RGB", "CMYK"):
            pil = pil.convert("RGB")
        pil = self._paint(pil, inv, (128 if pil.mode == "L" else (128, 128, 128) if pil.mode == "RGB"
                                     else (0, 0, 0, 128)))
        cs = {"L": "/DeviceGray", "RGB": "/DeviceRGB", "CMYK": "/DeviceCMYK"}[pil.mode]
        if str(xobj.get("/Filter", "")) == "/DCTDecode" and pil.mode != "CMYK":
            buf = io.BytesIO()
            pil.save(buf, "JPEG", quality=90)
            new = pk.Stream(self.pdf, buf.getvalue())
            new.Filter = pk.Name("/DCTDecode")
        else:
            new = pk.Stream(self.pdf, zlib.compress(pil.tobytes(), 6))
            new.Filter = pk.Name("/FlateDecode")
        new.Type = pk.Name("/XObject")
        new.Subtype = pk.Name("/Image")
        new.Width, new.Height = pil.size
        new.ColorSpace = pk.Name(cs)
        new.BitsPerComponent = 8
        for k in ("/Interpolate", "/Intent"):
            if k in xobj:
                new[k] = xobj[k]
        mask = xobj.get("/Mask")
        if isinstance(mask, pk.Array):
            pass  # colour-key masking refers to the old colour values: drop it
        smask = xobj.get("/SMask")
        if isinstance(smask, pk.Stream):
            try:
                m = pk.PdfImage(smask).as_pil_image().convert("L")
                m = self._paint(m, inv, 255)
                ns = pk.Stream(self.pdf, zlib.compress(m.tobytes(), 6))
                ns.Filter = pk.Name("/FlateDecode")
                ns.Type, ns.Subtype = pk.Name("/XObject"), pk.Name("/Image")
                ns.Width, ns.Height = m.size
                ns.ColorSpace = pk.Name("/DeviceGray")
                ns.BitsPerComponent = 8
                new.SMask = ns
            except Exception:  # noqa: BLE001 - unreadable soft mask: the image is drawn opaque
                pass
        return new

    def _paint(self, pil, inv: Matrix, fill):
        from PIL import ImageDraw

        w, h = pil.size
        draw = ImageDraw.Draw(pil)
        for r in self.rects:
            u0, v0, u1, v1 = bbox(inv, *r)
            x0, x1 = max(0, math.floor(u0 * w)), min(w, math.ceil(u1 * w))
            y0, y1 = max(0, math.floor((1 - v1) * h)), min(h, math.ceil((1 - v0) * h))
            if x1 > x0 and y1 > y0:
                draw.rectangle((x0, y0, x1 - 1, y1 - 1), fill=fill)
        return pil


# ---------------------------------------------------------------------------------------------
# placeholder drawing (Helvetica, WinAnsi)

def _text_width(text: str, size: float) -> float:
    total = 0.0
    for ch in text:
        try:
            code = ch.encode("cp1252")[0]
        except (UnicodeEncodeError, IndexError):
            code = 63
        total += (base14_width("Helvetica", code) or 556)
    return total * size / 1000


def _wrap(text: str, size: float, width: float) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            cand = f"{line} {word}" if line else word
            if _text_width(cand, size) <= width or not line:
                line = cand
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def _pdf_text(s: str) -> bytes:
    return s.encode("cp1252", "replace")


def _text_ops(lines: list[str], x: float, y: float, size: float, gray: float):
    pk = _pikepdf()
    Op, I = pk.Operator, pk.ContentStreamInstruction
    ops = [I([], Op("BT")), I([gray], Op("g")), I([pk.Name(FONT_NAME), size], Op("Tf")),
           I([round(size * 1.25, 2)], Op("TL")), I([round(x, 2), round(y, 2)], Op("Td"))]
    for i, line in enumerate(lines):
        if i:
            ops.append(I([], Op("T*")))
        ops.append(I([pk.String(_pdf_text(line))], Op("Tj")))
    ops.append(I([], Op("ET")))
    return ops


def _placeholder_page(n: int, note: str, box) -> bytes:
    pk = _pikepdf()
    Op, I = pk.Operator, pk.ContentStreamInstruction
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    margin = min(36.0, w / 10, h / 10)
    ops = [I([], Op("q")), I([0.92], Op("g")),
           I([round(x0 + margin, 2), round(y0 + margin, 2), round(w - 2 * margin, 2), round(h - 2 * margin, 2)], Op("re")),
           I([], Op("f")), I([], Op("Q"))]
    size = max(4.0, min(12.0, w / 50))
    width = w - 4 * margin
    lines = ["Protected with c11"] + _wrap(placeholder(n), size, width) + [""] + _wrap(notice(note), size, width)
    ops += _text_ops(lines, x0 + 2 * margin, y1 - 2 * margin - size, size, 0.15)
    return pk.unparse_content_stream(ops)


def _region_overlay(n: int, note: str, rects) -> bytes:
    pk = _pikepdf()
    Op, I = pk.Operator, pk.ContentStreamInstruction
    ops = [I([], Op("q"))]
    for r in rects:
        ops += [I([0.25], Op("g")),
                I([round(r[0], 3), round(r[1], 3), round(r[2] - r[0], 3), round(r[3] - r[1], 3)], Op("re")),
                I([], Op("f"))]
    for k, r in enumerate(rects):
        w, h = r[2] - r[0], r[3] - r[1]
        size = max(3.0, min(9.0, h / 3))
        text = placeholder(n) + ("\n" + notice(note) if k == 0 and note else "")
        lines = _wrap(text, size, max(w - 4, 1))
        fit = max(1, int((h - 2) // (size * 1.25)))
        ops += [I([], Op("q")),
                I([round(r[0], 3), round(r[1], 3), round(w, 3), round(h, 3)], Op("re")), I([], Op("W")), I([], Op("n"))]
        ops += _text_ops(lines[:fit] if len(lines) > fit and k else lines, r[0] + 2, r[3] - size - 1, size, 1.0)
        ops.append(I([], Op("Q")))
    ops.append(I([], Op("Q")))
    return pk.unparse_content_stream(ops)


# ---------------------------------------------------------------------------------------------

def _selectors(sels, pdf):
    """{page index: ("page", Selector) | ("regions", [(user-space rect, (x0, y0, x1, y1) as given, Selector)])}"""
    npages = len(pdf.pages)
    out: dict[int, tuple] = {}
    for sel in sels:
        if sel.kind == "page":
            for p in numbers(sel, npages, "pages"):
                if p - 1 in out and out[p - 1][0] == "regions":
                    raise UsageError(f"page {p} is chosen both whole and by region")
                out[p - 1] = ("page", sel)
        elif sel.kind == "region":
            p = sel.page
            if not 1 <= p <= npages:
                raise UsageError(f"{sel.text!r}: this PDF has {npages} pages")
            rect = _user_rect(pdf.pages[p - 1], sel.box)
            cur = out.get(p - 1)
            if cur and cur[0] == "page":
                raise UsageError(f"page {p} is chosen both whole and by region")
            if cur is None:
                out[p - 1] = ("regions", [])
            out[p - 1][1].append((rect, tuple(sel.box), sel))
        else:
            raise UsageError(f"PDF files take page:N-M or region:PAGE:x0,y0,x1,y1 selectors, not {sel.text!r}")
    if not out:
        raise UsageError("choose what to protect (--part page:N or --part region:PAGE:x0,y0,x1,y1)")
    return out


def _visible_box(page) -> tuple[float, float, float, float]:
    box = [float(v) for v in (page.obj.get("/CropBox") or page.mediabox)]
    return min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])


def _user_rect(page, box) -> tuple[float, float, float, float]:
    """A rectangle given in points from the top left of the page as displayed (after /Rotate),
    in the page's user space (origin at the bottom left of the MediaBox, y upwards)."""
    x0, y0, x1, y1 = _visible_box(page)
    rot = int(_num(page.obj.get("/Rotate", 0))) % 360

    def to_user(X: float, Y: float) -> tuple[float, float]:
        if rot == 90:
            return x0 + Y, y0 + X
        if rot == 180:
            return x1 - X, y0 + Y
        if rot == 270:
            return x1 - Y, y1 - X
        return x0 + X, y1 - Y

    pts = [to_user(box[0], box[1]), to_user(box[2], box[3])]
    return (min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts))


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _regions_spec(rects) -> str:
    return ";".join(",".join(_fmt(v) for v in r) for r in rects)


def _parse_spec(spec: str):
    try:
        rects = [tuple(float(v) for v in r.split(",")) for r in spec.split(";")]
    except ValueError:
        raise IntegrityError("the c11 marker of a protected page was edited") from None
    if not rects or any(len(r) != 4 for r in rects):
        raise IntegrityError("the c11 marker of a protected page was edited")
    return rects


def _open(data: bytes):
    pk = _pikepdf()
    try:
        pdf = pk.Pdf.open(io.BytesIO(data))
        _check_streams(pdf)
        return pdf
    except pk.PasswordError:
        raise UsageError("this PDF is password-protected; remove its password first") from None
    except (pk.PdfError, RuntimeError) as e:  # RuntimeError: qpdf's QpdfRuntimeError (a damaged page tree)
        raise FormatError(f"cannot read this PDF: {' '.join(str(e).split())[:200]}") from None


#: Filters qpdf decodes when c11 reads a stream, and how much each can expand its input at most.
_EXPANDING = {"/FlateDecode": None, "/Fl": None, "/LZWDecode": 4096, "/LZW": 4096, "/RunLengthDecode": 128,
              "/RL": 128, "/ASCIIHexDecode": 1, "/AHx": 1, "/ASCII85Decode": 1, "/A85": 1}


def _check_streams(pdf) -> None:
    """Refuse a PDF whose streams decode to more than `_limits.MAX_PDF_STREAM` each or `MAX_PDF_TOTAL`
    together, measured before any stream is decoded: deflate is inflated in steps and counted (never
    held), other filters are bounded by their worst expansion (docs/indoc-media.md, Limits)."""
    pk = _pikepdf()
    total = 0
    for obj in pdf.objects:
        if not isinstance(obj, pk.Stream):
            continue
        size = _decoded_bound(pk, obj)
        if size > _limits.MAX_PDF_STREAM:
            raise TooLargeError(f"this PDF has a stream (object {obj.objgen[0]}) that decodes to more than "
                                f"{_limits.MAX_PDF_STREAM >> 20} MiB (a decompression bomb?)")
        total += size
        if total > _limits.MAX_PDF_TOTAL:
            raise TooLargeError(f"this PDF's streams decode to more than {_limits.MAX_PDF_TOTAL >> 20} MiB together")


def _decoded_bound(pk, stream) -> int:
    """An upper bound of a stream's decoded size (exact for a first FlateDecode filter)."""
    filters = stream.stream_dict.get("/Filter")
    names = [str(f) for f in (filters if isinstance(filters, pk.Array) else [filters] if filters is not None else [])]
    raw = stream.read_raw_bytes()
    size = len(raw)
    for i, name in enumerate(names):
        if name not in _EXPANDING:
            break  # an image codec (DCT, JPX...) qpdf leaves encoded: decoded by Pillow, bounded there
        ratio = _EXPANDING[name]
        if ratio is None:
            if i == 0:
                size = _limits.inflated_size(raw, _limits.MAX_PDF_STREAM, "a PDF stream", lenient=True)
            else:
                size *= 1032  # deflate's largest ratio
        else:
            size *= ratio
    return size


def _save(pdf, **kw) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pikepdf's advice on widgets outside the AcroForm
        pdf.save(buf, **kw)
    return buf.getvalue()


def _public_digest(pdf) -> bytes:
    """Digest of the document without its envelope: the object graph from the catalog and the
    document information, with references numbered in visiting order and streams by their decoded
    data. It does not depend on object numbers, file layout, compression or the qpdf version, so
    a file saved again unchanged (by c11 or another tool) still matches."""
    pk = _pikepdf()
    ids: dict[tuple[int, int], int] = {}
    queue: list = []

    def ref(o) -> bytes:
        key = o.objgen
        if key not in ids:
            ids[key] = len(ids)
            queue.append(o)
        return b"@%d" % ids[key]

    def body(o) -> bytes:
        """The object itself (also when indirect); references inside it become @N."""
        if isinstance(o, pk.Stream):
            d = o.stream_dict
            meta = b"<<" + b"".join(k.encode() + b" " + ser(d[k]) + b" " for k in sorted(d.keys())
                                    if k not in ("/Length", "/Filter", "/DecodeParms")) + b">>"
            try:
                data = o.read_bytes()
            except pk.PdfError:
                data = o.read_raw_bytes()
            return meta + b" stream " + hashlib.sha256(data).hexdigest().encode()
        if isinstance(o, pk.Dictionary):
            return b"<<" + b"".join(k.encode() + b" " + ser(o[k]) + b" " for k in sorted(o.keys())
                                    if k != ENV_KEY) + b">>"
        if isinstance(o, pk.Array):
            return b"[" + b" ".join(ser(x) for x in o) + b"]"
        return o.unparse(resolved=True)

    def ser(o) -> bytes:
        if isinstance(o, pk.Object):
            return ref(o) if o.is_indirect else body(o)
        if o is None:
            return b"null"
        if isinstance(o, bool):
            return b"true" if o else b"false"
        return str(o).encode()

    h = hashlib.sha256()
    h.update(b"root " + ser(pdf.Root) + b" info " + ser(pdf.trailer.get("/Info")))
    i = 0
    while i < len(queue):
        h.update(b"\n%d " % i + body(queue[i]))
        i += 1
    return h.hexdigest().encode()


class PdfHandler:
    name = "pdf"

    # -- envelope ---------------------------------------------------------------------------------
    def read_envelope(self, data: bytes) -> P.Envelope | None:
        pdf = _open(data)
        return self._env(pdf)

    def _env(self, pdf) -> P.Envelope | None:
        pk = _pikepdf()
        st = pdf.Root.get(ENV_KEY)
        if st is None:
            return None
        if not isinstance(st, pk.Stream):
            raise FormatError("the c11 envelope of this PDF is malformed")
        return P.Envelope.from_json(st.read_bytes())

    def _set_env(self, pdf, env: P.Envelope) -> None:
        pk = _pikepdf()
        st = pk.Stream(pdf, env.to_json())
        st.Type = pk.Name("/C11Envelope")
        pdf.Root[ENV_KEY] = pdf.make_indirect(st)

    def write_envelope(self, data: bytes, envelope: P.Envelope) -> bytes:
        pdf = _open(data)
        if self._env(pdf) is None:
            raise FormatError("this PDF has no c11 protected parts")
        self._set_env(pdf, envelope)
        return _save(pdf)

    # -- protect ----------------------------------------------------------------------------------
    def protect(self, data: bytes, selectors: Sequence[str], recipients, sender, *, note: str = "",
                part_recipients: dict | None = None, matches: Sequence[str] = ()) -> bytes:
        pk = _pikepdf()
        pdf = _open(data)
        if pdf.is_encrypted:
            raise UsageError("this PDF is encrypted; remove its password first")
        if self._env(pdf) is not None:
            raise UsageError("this PDF is already protected with c11; unprotect it first")
        sels = parse_selectors(selectors, matches, part_recipients)
        if any(sel.kind == "match" for sel in sels):
            raise UsageError("--match / match: is not supported for PDF files (choose pages or regions)")
        chosen = _selectors(sels, pdf)
        recipients = list(recipients)
        plan = []
        for n, idx in enumerate(sorted(chosen), 1):
            kind, what = chosen[idx]
            if kind == "page":
                rs = what.recipients
            else:
                sets = [sel.recipients for _, _, sel in what]
                rs = sets[0]
                if any(not same_keys(s, rs, recipients) for s in sets[1:]):
                    raise UsageError(f"the regions of page {idx + 1} must all have the same recipients")
            plan.append((n, idx, kind, what, rs))
        fonts: dict = {}
        counter = [0]
        parts = []
        dropped_fields: set = set()
        for n, idx, kind, what, rs in plan:
            page = pdf.pages[idx]
            original = self._page_pdf(pdf, idx)
            if kind == "page":
                location = f"page:{idx + 1}"
                ph = self._replace_page(pdf, page, n, note, dropped_fields)
            else:
                rects = [r for r, _, _ in what]
                location = f"region:{idx + 1}:{_regions_spec([given for _, given, _ in what])}"
                ph = self._redact_page(pdf, page, n, note, rects, [g for _, g, _ in what], fonts, counter,
                                       dropped_fields)
            parts.append(P.Part(location, original, ph, rs))
        self._drop_fields(pdf, dropped_fields)
        # resources shared between pages would keep what was removed reachable from another page
        for page in pdf.pages:
            _prune_resources(page)
        self._drop_struct_text(pdf, {pdf.pages[i].obj.objgen for _, i, _, _, _ in plan})
        meta = pdf.Root.get("/Metadata")
        if isinstance(meta, pk.Stream) and b"Thumbnails" in meta.read_bytes():
            del pdf.Root["/Metadata"]  # XMP with an embedded thumbnail (xmp:Thumbnails) shows page 1
        public = _open(_save(pdf, object_stream_mode=pk.ObjectStreamMode.preserve))
        digest = _public_digest(public)
        parts.append(P.Part(ORIGINAL, data, digest, intersection([p[4] for p in plan], recipients)))
        env = P.seal(parts, recipients, sender, note=note)
        self._set_env(public, env)
        out = _save(public)
        if _public_digest(_open(out)) != digest:
            raise FormatError("could not write the protected PDF reproducibly")
        return out

    def _page_pdf(self, pdf, idx: int) -> bytes:
        """The page alone as a PDF; references to other pages become page numbers, and links to
        parents, popups and threads are cut, so nothing of another page travels with it."""
        pk = _pikepdf()
        page = pdf.pages[idx].obj
        index = {p.obj.objgen: i for i, p in enumerate(pdf.pages)}
        saved = {}
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
                        d.Dest = _dest_to_numbers(d.Dest, index)
                    act = d.get("/A")
                    if isinstance(act, pk.Dictionary) and "/D" in act:
                        act = pk.Dictionary(act)
                        act.D = _dest_to_numbers(act.D, index)
                        if "/Next" in act:
                            del act["/Next"]
                        d.A = act
                    new.append(d)
                page.Annots = new
            single = pk.Pdf.new()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # widgets outside an AcroForm: the page travels alone
                single.pages.append(pdf.pages[idx])
            return _save(single)
        finally:
            for key, v in saved.items():
                page[key] = v

    def _widgets(self, page) -> list:
        pk = _pikepdf()
        annots = page.obj.get("/Annots")
        if not isinstance(annots, pk.Array):
            return []
        return [a for a in annots if isinstance(a, pk.Dictionary) and str(a.get("/Subtype", "")) == "/Widget"]

    def _replace_page(self, pdf, page, n: int, note: str, dropped_fields: set) -> bytes:
        pk = _pikepdf()
        dropped_fields.update(w.objgen for w in self._widgets(page) if w.is_indirect)
        obj = page.obj
        box = _visible_box(page)
        for k in list(obj.keys()):
            if k not in KEEP_PAGE_KEYS:
                del obj[k]
        if "/MediaBox" not in obj:
            obj.MediaBox = pk.Array(list(page.mediabox))
        content = _placeholder_page(n, note, box)
        stream = pdf.make_indirect(pk.Stream(pdf, content))
        obj.Contents = stream
        obj.Resources = pk.Dictionary(Font=pk.Dictionary({FONT_NAME: self._font(pdf)}))
        obj[MARK_KEY] = pk.Dictionary(Kind=pk.Name("/Page"), Placeholder=stream)
        return content

    def _font(self, pdf):
        pk = _pikepdf()
        return pdf.make_indirect(pk.Dictionary(Type=pk.Name("/Font"), Subtype=pk.Name("/Type1"),
                                               BaseFont=pk.Name("/Helvetica"), Encoding=pk.Name("/WinAnsiEncoding")))

    def _redact_page(self, pdf, page, n, note, rects, given, fonts, counter, dropped_fields) -> bytes:
        pk = _pikepdf()
        obj = page.obj
        try:
            ops = pk.parse_content_stream(page)
        except pk.PdfError as e:
            raise FormatError(f"cannot read the content of page {page.index + 1}: {e}") from None
        resources = obj.get("/Resources")
        red = Redactor(pdf, rects, fonts, counter)
        new_ops, new_res = red.rewrite(ops, resources, ID)
        body = pk.unparse_content_stream(new_ops)
        overlay = _region_overlay(n, note, rects)
        res = pk.Dictionary(new_res) if isinstance(new_res, pk.Dictionary) else pk.Dictionary()
        fd = pk.Dictionary(res.Font) if isinstance(res.get("/Font"), pk.Dictionary) else pk.Dictionary()
        fd[FONT_NAME] = self._font(pdf)
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
                    rb = (min(_num(r[0]), _num(r[2])), min(_num(r[1]), _num(r[3])),
                          max(_num(r[0]), _num(r[2])), max(_num(r[1]), _num(r[3])))
                    if any(overlaps(rb, x) for x in rects):
                        if str(a.get("/Subtype", "")) == "/Widget" and a.is_indirect:
                            dropped_fields.add(a.objgen)
                        continue
                keep.append(a)
            obj.Annots = keep
        for k in ("/Thumb", "/PieceInfo"):
            if k in obj:
                del obj[k]
        obj[MARK_KEY] = pk.Dictionary(Kind=pk.Name("/Regions"), Regions=pk.String(_regions_spec(given)),
                                      Placeholder=ov)
        return overlay

    def _drop_fields(self, pdf, widgets: set) -> None:
        """Form fields whose every widget was removed leave the AcroForm (their values are secret)."""
        pk = _pikepdf()
        form = pdf.Root.get("/AcroForm")
        if not widgets or not isinstance(form, pk.Dictionary) or not isinstance(form.get("/Fields"), pk.Array):
            return

        def prune(arr, depth=0):
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

    def _drop_struct_text(self, pdf, pages: set) -> None:
        """Tagged PDF: text alternatives of structure elements on protected pages are removed."""
        pk = _pikepdf()
        root = pdf.Root.get("/StructTreeRoot")
        if not isinstance(root, pk.Dictionary):
            return
        seen = set()
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

    # -- unprotect --------------------------------------------------------------------------------
    def _current(self, pdf) -> dict[str, tuple[int, bytes]]:
        pk = _pikepdf()
        out: dict[str, tuple[int, bytes]] = {}
        for i, page in enumerate(pdf.pages):
            mark = page.obj.get(MARK_KEY)
            if mark is None:
                continue
            if not isinstance(mark, pk.Dictionary) or not isinstance(mark.get("/Placeholder"), pk.Stream):
                raise IntegrityError(f"the c11 marker of page {i + 1} was edited")
            if str(mark.get("/Kind")) == "/Page":
                loc = f"page:{i + 1}"
            else:
                loc = f"region:{i + 1}:{_regions_spec(_parse_spec(str(mark.get('/Regions', ''))))}"
            if loc in out:
                raise IntegrityError(f"protected part {loc!r} appears twice (duplicated page)")
            out[loc] = (i, mark.Placeholder.read_bytes())
        return out

    def unprotect(self, data: bytes, identities) -> tuple[bytes, P.Opened]:
        pk = _pikepdf()
        pdf = _open(data)
        env = self._env(pdf)
        if env is None:
            raise FormatError("this PDF has no c11 protected parts")
        current = self._current(pdf)
        placeholders = {loc: ph for loc, (_, ph) in current.items()}
        digest = _public_digest(_open(data))
        orig = next((p for p in env.parts if p.location == ORIGINAL), None)
        unchanged = orig is not None and hashlib.sha256(digest).digest() == orig.placeholder_sha256
        if unchanged:
            placeholders[ORIGINAL] = digest
        check_placeholders(env, placeholders, skip=() if unchanged else (ORIGINAL,))
        opened = P.open_parts(env, list(identities), None)
        if unchanged and ORIGINAL in opened.plaintexts:
            return opened.plaintexts[ORIGINAL], opened
        index_to_page = list(pdf.pages)
        sources = []  # keep the one-page PDFs alive: qpdf copies their streams lazily, at save time
        restored_fields: list = []
        for loc, (i, _) in current.items():
            pt = opened.plaintexts.get(loc)
            if pt is None:
                continue
            single = _open(pt)
            sources.append(single)
            if len(single.pages) != 1:
                raise IntegrityError(f"protected part {loc!r} is malformed")
            src = single.pages[0].obj
            if "/Parent" in src:
                del src["/Parent"]
            obj = index_to_page[i].obj
            obj.emplace(pdf.copy_foreign(src), retain=[pk.Name.Parent])
            if MARK_KEY in obj:
                del obj[MARK_KEY]
            annots = obj.get("/Annots")
            if isinstance(annots, pk.Array):
                for a in annots:
                    if not isinstance(a, pk.Dictionary):
                        continue
                    if "/Dest" in a:
                        a.Dest = _dest_to_pages(a.Dest, index_to_page)
                    act = a.get("/A")
                    if isinstance(act, pk.Dictionary) and "/D" in act:
                        act.D = _dest_to_pages(act.D, index_to_page)
                    if str(a.get("/Subtype", "")) != "/Popup":
                        a.P = obj
                    if str(a.get("/Subtype", "")) == "/Widget" and ("/T" in a or "/FT" in a):
                        restored_fields.append(a)
        if restored_fields:
            form = pdf.Root.get("/AcroForm")
            if not isinstance(form, pk.Dictionary):
                form = pdf.Root.AcroForm = pdf.make_indirect(pk.Dictionary(Fields=pk.Array()))
            if not isinstance(form.get("/Fields"), pk.Array):
                form.Fields = pk.Array()
            present = {f.objgen for f in form.Fields if isinstance(f, pk.Object) and f.is_indirect}
            for a in restored_fields:
                if a.is_indirect and a.objgen not in present:
                    form.Fields.append(a)
        rest = remaining(env, opened)
        if rest is None:
            del pdf.Root[ENV_KEY]
        else:
            self._set_env(pdf, rest)
        out = _save(pdf)
        del sources
        return out, opened


RESOURCE_KINDS = ("/Font", "/XObject", "/ExtGState", "/Pattern", "/Shading", "/Properties")


def _prune_resources(page) -> None:
    """Drop the resources a page's content does not name (in a copy: the dictionary may be shared
    with pages that still use them), then let qpdf do the same inside form XObjects."""
    pk = _pikepdf()
    res = page.obj.get("/Resources")
    try:
        ops = pk.parse_content_stream(page)
    except pk.PdfError:
        return
    if isinstance(res, pk.Dictionary):
        used = {str(o) for ins in ops if isinstance(ins, pk.ContentStreamInstruction)
                for o in ins.operands if isinstance(o, pk.Name)}
        new, changed = pk.Dictionary(res), False
        for kind in RESOURCE_KINDS:
            d = new.get(kind)
            if isinstance(d, pk.Dictionary) and any(k not in used for k in d.keys()):
                new[kind] = pk.Dictionary({k: v for k, v in d.items() if k in used})
                changed = True
        if changed:
            page.obj.Resources = new
    try:
        page.remove_unreferenced_resources()
    except pk.PdfError:
        pass


def _dest_to_numbers(dest, index: dict):
    pk = _pikepdf()
    if isinstance(dest, pk.Array) and len(dest) and isinstance(dest[0], pk.Dictionary) and dest[0].is_indirect:
        n = index.get(dest[0].objgen)
        return pk.Array([n if n is not None else 0] + list(dest)[1:])
    return dest


def _dest_to_pages(dest, pages: list):
    pk = _pikepdf()
    if isinstance(dest, pk.Array) and len(dest) and not isinstance(dest[0], pk.Dictionary):
        try:
            n = int(dest[0])
        except (TypeError, ValueError):
            return dest
        if 0 <= n < len(pages):
            return pk.Array([pages[n].obj] + list(dest)[1:])
    return dest


HANDLER = PdfHandler()
