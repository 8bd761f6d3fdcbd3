"""What a protected page shows: the placeholder page and the dark boxes over regions.

Drawn in Helvetica (WinAnsi), the one font every PDF reader has, under the resource name `FONT_NAME`.
"""

from __future__ import annotations

from typing import Any

from c11.indoc._mediacommon import placeholder
from c11.indoc.pdf._lib import pikepdf
from c11.indoc.pdf.geometry import Rect
from c11.indoc.pdf.metrics import width as base14_width

FONT_NAME = "/C11Helv"


def notice(note: str) -> str:
    """The sentence every placeholder shows, with the author's note."""
    text = "Parts of this document are protected with c11: open it with c11 to read them."
    if note:
        text += f" Note from the author: {note}"
    return text


def _text_width(text: str, size: float) -> float:
    total = 0.0
    for ch in text:
        try:
            code = ch.encode("cp1252")[0]
        except (UnicodeEncodeError, IndexError):
            code = 63
        total += base14_width("Helvetica", code) or 556
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


def _text_ops(lines: list[str], x: float, y: float, size: float, gray: float) -> list[Any]:
    pk = pikepdf()
    Op, Ins = pk.Operator, pk.ContentStreamInstruction
    ops = [
        Ins([], Op("BT")),
        Ins([gray], Op("g")),
        Ins([pk.Name(FONT_NAME), size], Op("Tf")),
        Ins([round(size * 1.25, 2)], Op("TL")),
        Ins([round(x, 2), round(y, 2)], Op("Td")),
    ]
    for i, line in enumerate(lines):
        if i:
            ops.append(Ins([], Op("T*")))
        ops.append(Ins([pk.String(_pdf_text(line))], Op("Tj")))
    ops.append(Ins([], Op("ET")))
    return ops


def placeholder_page(n: int, note: str, box: Rect) -> bytes:
    """The content stream of the page that replaces protected page part `n`."""
    pk = pikepdf()
    Op, Ins = pk.Operator, pk.ContentStreamInstruction
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    margin = min(36.0, w / 10, h / 10)
    ops = [
        Ins([], Op("q")),
        Ins([0.92], Op("g")),
        Ins(
            [round(x0 + margin, 2), round(y0 + margin, 2), round(w - 2 * margin, 2), round(h - 2 * margin, 2)], Op("re")
        ),
        Ins([], Op("f")),
        Ins([], Op("Q")),
    ]
    size = max(4.0, min(12.0, w / 50))
    width = w - 4 * margin
    lines = ["Protected with c11"] + _wrap(placeholder(n), size, width) + [""] + _wrap(notice(note), size, width)
    ops += _text_ops(lines, x0 + 2 * margin, y1 - 2 * margin - size, size, 0.15)
    content: bytes = pk.unparse_content_stream(ops)
    return content


def region_overlay(n: int, note: str, rects: list[Rect]) -> bytes:
    """The content stream drawn over a page's protected regions (part `n`)."""
    pk = pikepdf()
    Op, Ins = pk.Operator, pk.ContentStreamInstruction
    ops = [Ins([], Op("q"))]
    for r in rects:
        ops += [
            Ins([0.25], Op("g")),
            Ins([round(r[0], 3), round(r[1], 3), round(r[2] - r[0], 3), round(r[3] - r[1], 3)], Op("re")),
            Ins([], Op("f")),
        ]
    for k, r in enumerate(rects):
        w, h = r[2] - r[0], r[3] - r[1]
        size = max(3.0, min(9.0, h / 3))
        text = placeholder(n) + ("\n" + notice(note) if k == 0 and note else "")
        lines = _wrap(text, size, max(w - 4, 1))
        fit = max(1, int((h - 2) // (size * 1.25)))
        ops += [
            Ins([], Op("q")),
            Ins([round(r[0], 3), round(r[1], 3), round(w, 3), round(h, 3)], Op("re")),
            Ins([], Op("W")),
            Ins([], Op("n")),
        ]
        ops += _text_ops(lines[:fit] if len(lines) > fit and k else lines, r[0] + 2, r[3] - size - 1, size, 1.0)
        ops.append(Ins([], Op("Q")))
    ops.append(Ins([], Op("Q")))
    content: bytes = pk.unparse_content_stream(ops)
    return content
