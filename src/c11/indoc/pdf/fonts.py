"""Enough of a PDF font to know each glyph's code length, advance width and height.

Simple fonts read /Widths (or the standard 14 fonts' metrics), composite (Type0) fonts their
code-space ranges and /W array; a font c11 cannot read falls back to an average width.
"""

from __future__ import annotations

import re

from c11.indoc.pdf._lib import PdfObject, pikepdf
from c11.indoc.pdf.geometry import num
from c11.indoc.pdf.metrics import width as base14_width

#: one glyph of a string: (its code bytes, its advance in em, whether it is the single-byte space)
Glyph = tuple[bytes, float, bool]


class FontInfo:
    """Glyph metrics of one font dictionary (or of none: defaults)."""

    def __init__(self, font: PdfObject) -> None:
        pk = pikepdf()
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
            if str(enc).endswith("-V") or (isinstance(enc, pk.Stream) and int(num(enc.get("/WMode", 0))) == 1):
                self.vertical = True
            if isinstance(enc, pk.Stream):
                self._codespace(enc)
            desc_fonts = font.get("/DescendantFonts")
            cid = desc_fonts[0] if isinstance(desc_fonts, pk.Array) and len(desc_fonts) else None
            if isinstance(cid, pk.Dictionary):
                self.default = num(cid.get("/DW", 1000)) / 1000
                self._w_array(cid.get("/W"))
                desc = cid.get("/FontDescriptor")
        else:
            if subtype == "/Type3":
                fm = font.get("/FontMatrix")
                self.scale = abs(num(fm[0])) if isinstance(fm, pk.Array) and len(fm) == 6 else 0.001
                self.ascent, self.descent = 1.0, -0.3
            first = int(num(font.get("/FirstChar", 0)))
            ws = font.get("/Widths")
            if isinstance(ws, pk.Array):
                for i, w in enumerate(ws):
                    self.widths[first + i] = num(w) * self.scale
            missing = num(desc.get("/MissingWidth", 0)) if isinstance(desc, pk.Dictionary) else 0
            if self.widths or missing:
                self.default = missing * self.scale  # codes outside /Widths: /MissingWidth, else 0
            else:
                self.default = 0.6 if base14_width(self.base, 65) is None else 0.5
        if isinstance(desc, pk.Dictionary) and subtype != "/Type3":
            asc, dsc = num(desc.get("/Ascent", 0)) / 1000, num(desc.get("/Descent", 0)) / 1000
            if 0.3 < asc < 2:
                self.ascent = asc
            if -1 < dsc < 0:
                self.descent = dsc

    def _codespace(self, cmap: PdfObject) -> None:
        try:
            text = cmap.read_bytes().decode("latin-1")
        except Exception:  # noqa: BLE001
            return
        for block in re.findall(r"begincodespacerange(.*?)endcodespacerange", text, re.S):
            for lo, hi in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                n = len(lo) // 2
                self.code_lengths.append((int(lo[:2], 16), int(hi[:2], 16), n))

    def _w_array(self, w: PdfObject) -> None:
        pk = pikepdf()
        if not isinstance(w, pk.Array):
            return
        items = list(w)
        i = 0
        while i < len(items):
            try:
                start = int(num(items[i]))
                nxt = items[i + 1]
                if isinstance(nxt, pk.Array):
                    for k, v in enumerate(nxt):
                        self.widths[start + k] = num(v) / 1000
                    i += 2
                else:
                    end, v = int(num(nxt)), num(items[i + 2]) / 1000
                    if end - start < 70000:
                        for c in range(start, end + 1):
                            self.widths[c] = v
                    i += 3
            except (IndexError, TypeError):
                break

    def glyphs(self, s: bytes) -> list[Glyph]:
        """(code bytes, advance in em, is the single-byte space) for each glyph of a string."""
        out: list[Glyph] = []
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
            code = s[i : i + n]
            out.append((code, self.widths.get(int.from_bytes(code, "big"), self.default), n == 1 and code == b" "))
            i += n
        return out
