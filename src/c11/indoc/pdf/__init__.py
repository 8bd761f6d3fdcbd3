"""In-document protection of PDF files: whole pages, and rectangular regions truly removed
(docs/indoc-media.md).

* `page:2-3` — each page is replaced, in place (same page object, so links and bookmarks to it still
  work), by a placeholder page of the same size: its content streams, resources, annotations and
  thumbnail are gone; its form fields leave the AcroForm; text alternatives of its tagged-structure
  elements are dropped.
* `region:PAGE:x0,y0,x1,y1` — in PDF points from the top left corner of the page as displayed
  (CropBox, after /Rotate), y downwards. The page's content streams are rewritten (`redactor`):
  every glyph whose box intersects a region is removed from its text-showing operator (the glyphs
  around it keep their exact positions through TJ adjustments); images drawn over a region have
  those pixels painted over in a new image (stencil masks and inline images are dropped whole);
  subpaths painted over a region are removed (except filled rectangles that contain the region,
  like backgrounds); form XObjects drawn over a region are rewritten the same way; annotations that
  intersect a region are removed. A dark box with the placeholder is then drawn on top.

Each protected page (or all the regions of one page) is one part whose plaintext is that page alone
as a PDF, so it can have its own recipients and be restored alone. The exact original file is one
more part, `original`, for the people who may open every part: unprotecting returns it byte for byte
when the rest of the document was not changed meanwhile. The envelope is a stream under the custom
catalog key /C11Parts.

Modules: `handler` (the Handler), `selection` (pages and regions chosen), `pages` (page-level
steps), `redactor` (content-stream rewriting, one handler per operator), `graphics` (graphics and
text state), `fonts` (glyph metrics), `geometry`, `drawing` (placeholders), `document` (reading,
writing, digest).
"""

from __future__ import annotations

from c11.indoc._handler import Handler
from c11.indoc.pdf.handler import PdfHandler

HANDLER: Handler = PdfHandler()

__all__ = ["HANDLER", "PdfHandler"]
