"""Rewriting a content stream so that nothing is drawn over given user-space rectangles.

`Redactor.rewrite` walks the instructions once, tracking the graphics state, and hands each operator
to its entry in `OPERATORS`: path construction is collected until the path is painted (subpaths over
a region are dropped), text-showing operators lose the glyphs over a region (the others keep their
positions through TJ adjustments), images drawn over a region get those pixels painted over, form
XObjects are rewritten the same way, and text alternatives of marked content are removed.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from c11.indoc import _limits
from c11.indoc.pdf._lib import PdfObject, pikepdf
from c11.indoc.pdf.fonts import FontInfo
from c11.indoc.pdf.geometry import ID, Matrix, Rect, apply, bbox, contains, invert, matrix, mul, num, overlaps
from c11.indoc.pdf.graphics import GraphicsState, TextState

#: dictionary keys of marked content and structure elements that carry text in clear
TEXT_ALT_KEYS = ("/ActualText", "/Alt", "/E")
PAINT_OPS = {"S", "s", "f", "F", "f*", "B", "B*", "b", "b*", "n"}
STROKE_OPS = {"S", "s", "B", "B*", "b", "b*"}
PATH_OPS = {"m", "l", "c", "v", "y", "h", "re"}


@dataclass
class Pass:
    """The state of one rewrite of one content stream."""

    resources: PdfObject
    gs: GraphicsState
    text: TextState = field(default_factory=TextState)
    out: list[PdfObject] = field(default_factory=list)
    stack: list[GraphicsState] = field(default_factory=list)
    path: list[PdfObject] = field(default_factory=list)  # path construction not yet painted
    clip: PdfObject = None  # W or W* waiting for the painting operator
    xobjects_new: dict[str, PdfObject] = field(default_factory=dict)  # new name -> rewritten XObject
    replaced: set[str] = field(default_factory=set)  # XObject names drawn rewritten at least once
    used: set[str] = field(default_factory=set)  # XObject names still drawn as they are

    def emit(self, operands: list[Any], operator: str) -> None:
        pk = pikepdf()
        self.out.append(pk.ContentStreamInstruction(operands, pk.Operator(operator)))


#: an operator's handler: True when it wrote (or dropped) the instruction itself, False to keep it
OpHandler = Callable[["Redactor", Pass, PdfObject, list[Any]], bool]


class Redactor:
    """Rewrites content streams so nothing is drawn over the given user-space rectangles."""

    def __init__(
        self,
        pdf: PdfObject,
        rects: list[Rect],
        fonts: dict[tuple[int, int], FontInfo] | None = None,
        counter: list[int] | None = None,
    ) -> None:
        self.pdf = pdf
        self.rects = rects
        self.fonts: dict[tuple[int, int], FontInfo] = fonts if fonts is not None else {}
        self.counter = counter if counter is not None else [0]
        self.changed = False

    def rewrite(
        self, instructions: list[PdfObject], resources: PdfObject, ctm: Matrix, gs: GraphicsState | None = None
    ) -> tuple[list[PdfObject], PdfObject]:
        """New instructions and resources (a new dictionary when anything in it changed)."""
        pk = pikepdf()
        run = Pass(resources, gs.copy() if gs is not None else GraphicsState())
        run.gs.ctm = ctm
        for ins in instructions:
            if isinstance(ins, pk.ContentStreamInlineImage):
                if self.hit(bbox(run.gs.ctm, 0, 0, 1, 1)):
                    self.changed = True  # inline images are small: dropped whole
                else:
                    run.out.append(ins)
                continue
            handler = OPERATORS.get(str(ins.operator))
            if handler is None or not handler(self, run, ins, list(ins.operands)):
                run.out.append(ins)
        run.out.extend(run.path)  # a path never painted
        return run.out, self._resources(run)

    def hit(self, b: Rect) -> bool:
        """Whether a user-space box touches a region."""
        return any(overlaps(b, r) for r in self.rects)

    def font(self, resources: PdfObject, name: PdfObject) -> FontInfo:
        """The metrics of the font a resource dictionary names."""
        pk = pikepdf()
        font = None
        if isinstance(resources, pk.Dictionary):
            fonts = resources.get("/Font")
            if isinstance(fonts, pk.Dictionary):
                font = fonts.get(name)
        return self.font_info(font)

    def font_info(self, font: PdfObject) -> FontInfo:
        """The metrics of a font dictionary, cached by object number."""
        pk = pikepdf()
        if not (isinstance(font, pk.Object) and font.is_indirect):
            return FontInfo(font)  # direct (or missing) fonts have no stable identity to cache by
        if font.objgen not in self.fonts:
            self.fonts[font.objgen] = FontInfo(font)
        return self.fonts[font.objgen]

    def new_name(self, prefix: str) -> str:
        """A resource name not used before in this document."""
        self.counter[0] += 1
        return f"/C11{prefix}{self.counter[0]}"

    def _resources(self, run: Pass) -> PdfObject:
        pk = pikepdf()
        if not run.xobjects_new and not run.replaced - run.used:
            return run.resources
        res = run.resources
        new_res = pk.Dictionary(res) if isinstance(res, pk.Dictionary) else pk.Dictionary()
        xd = pk.Dictionary(new_res.XObject) if isinstance(new_res.get("/XObject"), pk.Dictionary) else pk.Dictionary()
        for n in run.replaced - run.used:
            if n in xd:
                del xd[n]
        for n, v in run.xobjects_new.items():
            xd[n] = v
        new_res.XObject = xd
        return new_res

    # -- text ------------------------------------------------------------------------------------
    def show(self, run: Pass, items: list[Any]) -> list[Any] | None:
        """A TJ array without the glyphs drawn over a region (None: nothing was removed)."""
        pk = pikepdf()
        gs, text = run.gs, run.text
        font, tfs, th = gs.font, gs.font_size, gs.h_scale
        trm = mul(text.tm, gs.ctm)
        new_items: list[Any] = []
        buf = bytearray()
        removed = False
        for item in items:
            if isinstance(item, (pk.String, bytes)):
                for code, w, space in font.glyphs(bytes(item)):
                    if font.vertical:  # vertical writing: glyphs go down, about 1 em each
                        adv = -(tfs + gs.char_spacing + (gs.word_spacing if space else 0.0))
                        box = bbox(trm, -0.5 * abs(tfs), -abs(tfs), 0.5 * abs(tfs), 0.0)
                    else:
                        adv = (w * tfs + gs.char_spacing + (gs.word_spacing if space else 0.0)) * th
                        gw = max(w, 0.3) * tfs * th
                        lo = gs.rise + font.descent * tfs
                        hi = gs.rise + font.ascent * tfs
                        box = bbox(trm, min(0.0, gw), min(lo, hi), max(0.0, gw), max(lo, hi))
                    if self.hit(box):
                        removed = True
                        if buf:
                            new_items.append(pk.String(bytes(buf)))
                            buf = bytearray()
                        scale = tfs if font.vertical else tfs * th
                        if scale:
                            _adjust(new_items, -adv * 1000 / scale)
                    else:
                        buf += code
                    text.advance((1, 0, 0, 1, 0, adv) if font.vertical else (1, 0, 0, 1, adv, 0))
                    trm = mul(text.tm, gs.ctm)
            else:
                n = num(item)
                if buf:
                    new_items.append(pk.String(bytes(buf)))
                    buf = bytearray()
                _adjust(new_items, n)
                shift = -n / 1000 * tfs
                text.advance((1, 0, 0, 1, 0, shift) if font.vertical else (1, 0, 0, 1, shift * th, 0))
                trm = mul(text.tm, gs.ctm)
        if buf:
            new_items.append(pk.String(bytes(buf)))
        if not removed:
            return None
        self.changed = True
        return [round(x, 4) if isinstance(x, float) else x for x in new_items]

    # -- paths -----------------------------------------------------------------------------------
    def filter_path(self, path: list[PdfObject], op: str, gs: GraphicsState) -> list[PdfObject]:
        """The subpaths of a painted path that may stay: those that do not touch a region, and
        plain filled rectangles that contain the regions they touch (backgrounds)."""
        if not path or op == "n":
            return path
        groups: list[list[PdfObject]] = []
        for ins in path:
            if str(ins.operator) in ("m", "re") or not groups:
                groups.append([])
            groups[-1].append(ins)
        pad = 0.0
        if op in STROKE_OPS:
            m = gs.ctm
            pad = max(gs.line_width, 1.0) * math.sqrt(abs(m[0] * m[3] - m[1] * m[2])) / 2
        kept: list[PdfObject] = []
        for group in groups:
            pts: list[tuple[float, float]] = []
            rect: Rect | None = None
            for ins in group:
                vals = [num(v) for v in ins.operands]
                if str(ins.operator) == "re" and len(vals) == 4:
                    x, y, w, h = vals
                    rect = bbox(gs.ctm, x, y, x + w, y + h)
                    pts.extend([(rect[0], rect[1]), (rect[2], rect[3])])
                else:
                    pts.extend(apply(gs.ctm, vals[i], vals[i + 1]) for i in range(0, len(vals) - 1, 2))
            if not pts:
                kept.extend(group)
                continue
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            b = (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)
            hit = [r for r in self.rects if overlaps(b, r)]
            if not hit or (rect is not None and op not in STROKE_OPS and all(contains(rect, r) for r in hit)):
                kept.extend(group)
        return kept

    # -- XObjects --------------------------------------------------------------------------------
    def rewrite_form(
        self, xobj: PdfObject, ctm: Matrix, gs: GraphicsState, parent_resources: PdfObject = None
    ) -> PdfObject:
        """A rewritten copy of a form XObject, or None when nothing in it was over a region."""
        pk = pikepdf()
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

    def redact_image(self, xobj: PdfObject, ctm: Matrix) -> PdfObject:
        """A new image XObject with the pixels under a region painted over (None: drop the image)."""
        pk = pikepdf()
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
        grey: int | tuple[int, ...] = (0, 0, 0, 128)  # CMYK
        if pil.mode in ("L", "RGB"):
            grey = 128 if pil.mode == "L" else (128, 128, 128)
        pil = self.paint(pil, inv, grey)
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
        # a colour-key /Mask (an array) refers to the old colour values: it is dropped
        smask = xobj.get("/SMask")
        if isinstance(smask, pk.Stream):
            try:
                m = pk.PdfImage(smask).as_pil_image().convert("L")
                m = self.paint(m, inv, 255)
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

    def paint(self, pil: Any, inv: Matrix, fill: int | tuple[int, ...]) -> Any:
        """Paint the regions, mapped into the unit square of image space, over a Pillow image."""
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


def _adjust(items: list[Any], n: float) -> None:
    """Add a TJ adjustment (thousandths of an em), merged with the one before it."""
    if items and isinstance(items[-1], float):
        items[-1] += n
    else:
        items.append(n)


# ---------------------------------------------------------------------------------------------
# the operator table (ISO 32000-1 Annex A); operators not listed are copied as they are


def _path(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    run.path.append(ins)
    return True


def _clip(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    run.clip = ins
    return True


def _paint(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    op = str(ins.operator)
    kept = red.filter_path(run.path, op, run.gs)
    if len(kept) == len(run.path):
        run.out.extend(run.path)
        if run.clip is not None:
            run.out.append(run.clip)
        run.out.append(ins)
    else:
        red.changed = True
        if kept:
            run.out.extend(kept)
            run.out.append(ins)
        if run.clip is not None:  # the clip still uses the whole path, painted or not
            run.out.extend(run.path)
            run.out.append(run.clip)
            run.emit([], "n")
    run.path, run.clip = [], None
    return True


# state operators: they change what the following operators draw, and are kept as they are


def _save(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    run.stack.append(run.gs.copy())
    return False


def _restore(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    if run.stack:
        run.gs = run.stack.pop()
    return False


def _concat(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    if len(args) == 6:
        run.gs.ctm = mul(matrix(args), run.gs.ctm)
    return False


def _line_width(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    if args:
        run.gs.line_width = num(args[0])
    return False


def _ext_gstate(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    pk = pikepdf()
    if not args or not isinstance(run.resources, pk.Dictionary):
        return False
    ext = run.resources.get("/ExtGState")
    st = ext.get(str(args[0])) if isinstance(ext, pk.Dictionary) else None
    if isinstance(st, pk.Dictionary):
        if "/LW" in st:
            run.gs.line_width = num(st.LW)
        f = st.get("/Font")
        if isinstance(f, pk.Array) and len(f) == 2 and isinstance(f[0], pk.Dictionary):
            run.gs.font, run.gs.font_size = red.font_info(f[0]), num(f[1])
    return False


def _begin_text(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    run.text.begin()
    return False


def _font(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    if len(args) == 2:
        run.gs.font = red.font(run.resources, args[0])
        run.gs.font_size = num(args[1])
    return False


def _text_param(set_param: Callable[[GraphicsState, float], None]) -> OpHandler:
    """The handler of a one-operand text-state operator (Tc, Tw, Tz, TL, Ts)."""

    def handler(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
        if args:
            set_param(run.gs, num(args[0]))
        return False

    return handler


def _set_char_spacing(gs: GraphicsState, v: float) -> None:
    gs.char_spacing = v


def _set_word_spacing(gs: GraphicsState, v: float) -> None:
    gs.word_spacing = v


def _set_h_scale(gs: GraphicsState, v: float) -> None:
    gs.h_scale = v / 100


def _set_leading(gs: GraphicsState, v: float) -> None:
    gs.leading = v


def _set_rise(gs: GraphicsState, v: float) -> None:
    gs.rise = v


def _move(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    if len(args) == 2:
        if str(ins.operator) == "TD":
            run.gs.leading = -num(args[1])
        run.text.move(num(args[0]), num(args[1]))
    return False


def _text_matrix(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    if len(args) == 6:
        run.text.set(matrix(args))
    return False


def _next_line(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    run.text.next_line(run.gs.leading)
    return False


# drawing operators


def _show(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    pk = pikepdf()
    op = str(ins.operator)
    if op == '"' and len(args) == 3:
        run.gs.word_spacing, run.gs.char_spacing = num(args[0]), num(args[1])
    if op in ("'", '"'):
        run.text.next_line(run.gs.leading)
    items = list(args[-1]) if op == "TJ" and args and isinstance(args[-1], pk.Array) else args[-1:]
    new = red.show(run, items)
    if new is None:
        return False
    if op == '"':
        run.emit([args[0]], "Tw")
        run.emit([args[1]], "Tc")
    if op in ("'", '"'):
        run.emit([], "T*")
    run.emit([pk.Array(new)], "TJ")
    return True


def _xobject(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    pk = pikepdf()
    if not args:
        return False
    name = str(args[0])
    res = run.resources
    xobj = None
    if isinstance(res, pk.Dictionary) and isinstance(res.get("/XObject"), pk.Dictionary):
        xobj = res.XObject.get(name)
    if isinstance(xobj, pk.Stream):
        sub = str(xobj.get("/Subtype", ""))
        if sub == "/Image" and red.hit(bbox(run.gs.ctm, 0, 0, 1, 1)):
            red.changed = True
            run.replaced.add(name)
            new = red.redact_image(xobj, run.gs.ctm)
            if new is not None:
                _draw_new(red, run, "Im", new)
            return True
        if sub == "/Form":
            fm = mul(matrix(xobj.get("/Matrix", ID)), run.gs.ctm)
            bb = xobj.get("/BBox")
            fb = bbox(fm, *[num(v) for v in bb]) if isinstance(bb, pk.Array) and len(bb) == 4 else None
            if fb is None or red.hit(fb):
                new = red.rewrite_form(xobj, fm, run.gs, res)
                if new is not None:
                    red.changed = True
                    run.replaced.add(name)
                    _draw_new(red, run, "Fm", new)
                    return True
    run.used.add(name)
    return False


def _draw_new(red: Redactor, run: Pass, prefix: str, xobj: PdfObject) -> None:
    pk = pikepdf()
    name = red.new_name(prefix)
    run.xobjects_new[name] = xobj
    run.emit([pk.Name(name)], "Do")


def _marked(red: Redactor, run: Pass, ins: PdfObject, args: list[Any]) -> bool:
    pk = pikepdf()
    if len(args) != 2 or not isinstance(args[1], pk.Dictionary):
        return False
    props = args[1]
    if not any(k in props for k in TEXT_ALT_KEYS):
        return False
    clean = pk.Dictionary({k: v for k, v in props.items() if k not in TEXT_ALT_KEYS})
    run.out.append(pk.ContentStreamInstruction([args[0], clean], ins.operator))
    red.changed = True
    return True


OPERATORS: dict[str, OpHandler] = {
    **{op: _path for op in PATH_OPS},
    "W": _clip,
    "W*": _clip,
    **{op: _paint for op in PAINT_OPS},
    "q": _save,
    "Q": _restore,
    "cm": _concat,
    "w": _line_width,
    "gs": _ext_gstate,
    "BT": _begin_text,
    "Tf": _font,
    "Tc": _text_param(_set_char_spacing),
    "Tw": _text_param(_set_word_spacing),
    "Tz": _text_param(_set_h_scale),
    "TL": _text_param(_set_leading),
    "Ts": _text_param(_set_rise),
    "Td": _move,
    "TD": _move,
    "Tm": _text_matrix,
    "T*": _next_line,
    "Tj": _show,
    "TJ": _show,
    "'": _show,
    '"': _show,
    "Do": _xobject,
    "BDC": _marked,
    "DP": _marked,
}
