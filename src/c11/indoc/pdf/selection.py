"""Which pages and regions of a PDF a set of selectors chooses, in the page's own coordinates.

Regions are given in points from the top left of the page as displayed (CropBox, after /Rotate) and
kept, as given, in the part's location `region:PAGE:x0,y0,x1,y1;...` and the page's marker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from c11.errors import IntegrityError, UsageError
from c11.indoc._mediacommon import numbers
from c11.indoc.pdf._lib import PdfObject
from c11.indoc.pdf.geometry import Rect, num
from c11.indoc.selectors import Selector


@dataclass
class Region:
    """One chosen rectangle: in user space, as given, and the selector that chose it."""

    rect: Rect
    given: Rect
    selector: Selector


@dataclass
class PageChoice:
    """What is protected on one page: the whole page (`selector`), or `regions`."""

    selector: Selector | None = None
    regions: list[Region] = field(default_factory=list)


def choose(sels: list[Selector], pdf: PdfObject) -> dict[int, PageChoice]:
    """Page index -> what the selectors choose on it; UsageError for anything but pages and regions."""
    npages = len(pdf.pages)
    out: dict[int, PageChoice] = {}
    for sel in sels:
        if sel.kind == "page":
            for p in numbers(sel, npages, "pages"):
                if p - 1 in out and out[p - 1].regions:
                    raise UsageError(f"page {p} is chosen both whole and by region")
                out[p - 1] = PageChoice(selector=sel)
        elif sel.kind == "region" and sel.box is not None:
            p = sel.page
            if not 1 <= p <= npages:
                raise UsageError(f"{sel.text!r}: this PDF has {npages} pages")
            rect = user_rect(pdf.pages[p - 1], sel.box)
            cur = out.setdefault(p - 1, PageChoice())
            if cur.selector is not None:
                raise UsageError(f"page {p} is chosen both whole and by region")
            cur.regions.append(Region(rect, sel.box, sel))
        else:
            raise UsageError(f"PDF files take page:N-M or region:PAGE:x0,y0,x1,y1 selectors, not {sel.text!r}")
    return out


def visible_box(page: PdfObject) -> Rect:
    """The page's CropBox (else MediaBox), normalised."""
    box = [float(v) for v in (page.obj.get("/CropBox") or page.mediabox)]
    return min(box[0], box[2]), min(box[1], box[3]), max(box[0], box[2]), max(box[1], box[3])


def user_rect(page: PdfObject, box: Rect) -> Rect:
    """A rectangle given in points from the top left of the page as displayed (after /Rotate),
    in the page's user space (origin at the bottom left of the MediaBox, y upwards)."""
    x0, y0, x1, y1 = visible_box(page)
    rot = int(num(page.obj.get("/Rotate", 0))) % 360

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


def regions_spec(rects: list[Rect]) -> str:
    """`x0,y0,x1,y1;...` as written in a location and a page marker."""
    return ";".join(",".join(_fmt(v) for v in r) for r in rects)


def parse_spec(spec: str) -> list[Rect]:
    """The rectangles of a page marker's `regions_spec`; IntegrityError when it was edited."""
    try:
        rects = [tuple(float(v) for v in r.split(",")) for r in spec.split(";")]
    except ValueError:
        raise IntegrityError("the c11 marker of a protected page was edited") from None
    if not rects or any(len(r) != 4 for r in rects):
        raise IntegrityError("the c11 marker of a protected page was edited")
    return [(r[0], r[1], r[2], r[3]) for r in rects]
