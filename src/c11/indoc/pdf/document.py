"""Reading and writing a PDF file safely, and what stays the same when it is saved again.

`open_pdf` refuses password-protected files and decompression bombs (`MAX_PDF_STREAM`,
`MAX_PDF_TOTAL`, measured before any stream is decoded); `public_digest` identifies a document
independently of its layout, so a file saved again unchanged still matches its `original` part.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from typing import Any

from c11.errors import FormatError, TooLargeError, UsageError
from c11.indoc import _limits
from c11.indoc.pdf._lib import PdfObject, pikepdf

#: the catalog key of the envelope stream
ENV_KEY = "/C11Parts"


def open_pdf(data: bytes) -> PdfObject:
    """The parsed PDF; UsageError when it has a password, FormatError when damaged, TooLargeError for a bomb."""
    pk = pikepdf()
    try:
        pdf = pk.Pdf.open(io.BytesIO(data))
        _check_streams(pdf)
        return pdf
    except pk.PasswordError:
        raise UsageError("this PDF is password-protected; remove its password first") from None
    except (pk.PdfError, RuntimeError) as e:  # RuntimeError: qpdf's QpdfRuntimeError (a damaged page tree)
        raise FormatError(f"cannot read this PDF: {' '.join(str(e).split())[:200]}") from None


#: Filters qpdf decodes when c11 reads a stream, and how much each can expand its input at most.
_EXPANDING: dict[str, int | None] = {
    "/FlateDecode": None,
    "/Fl": None,
    "/LZWDecode": 4096,
    "/LZW": 4096,
    "/RunLengthDecode": 128,
    "/RL": 128,
    "/ASCIIHexDecode": 1,
    "/AHx": 1,
    "/ASCII85Decode": 1,
    "/A85": 1,
}


def _check_streams(pdf: PdfObject) -> None:
    """Refuse a PDF whose streams decode to more than `_limits.MAX_PDF_STREAM` each or `MAX_PDF_TOTAL`
    together, measured before any stream is decoded: deflate is inflated in steps and counted (never
    held), other filters are bounded by their worst expansion (docs/indoc-media.md, Limits)."""
    pk = pikepdf()
    total = 0
    for obj in pdf.objects:
        if not isinstance(obj, pk.Stream):
            continue
        size = _decoded_bound(pk, obj)
        if size > _limits.MAX_PDF_STREAM:
            raise TooLargeError(
                f"this PDF has a stream (object {obj.objgen[0]}) that decodes to more than "
                f"{_limits.MAX_PDF_STREAM >> 20} MiB (a decompression bomb?)"
            )
        total += size
        if total > _limits.MAX_PDF_TOTAL:
            raise TooLargeError(f"this PDF's streams decode to more than {_limits.MAX_PDF_TOTAL >> 20} MiB together")


def _decoded_bound(pk: Any, stream: PdfObject) -> int:
    """An upper bound of a stream's decoded size (exact for a first FlateDecode filter)."""
    filters = stream.stream_dict.get("/Filter")
    names = [str(f) for f in (filters if isinstance(filters, pk.Array) else [filters] if filters is not None else [])]
    raw = stream.read_raw_bytes()
    size: int = len(raw)
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


def save(pdf: PdfObject, **kw: Any) -> bytes:
    """The PDF written out (keyword arguments go to pikepdf's `Pdf.save`)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pikepdf's advice on widgets outside the AcroForm
        pdf.save(buf, **kw)
    return buf.getvalue()


def public_digest(pdf: PdfObject) -> bytes:
    """Digest of the document without its envelope: the object graph from the catalog and the
    document information, with references numbered in visiting order and streams by their decoded
    data. It does not depend on object numbers, file layout, compression or the qpdf version, so
    a file saved again unchanged (by c11 or another tool) still matches."""
    pk = pikepdf()
    ids: dict[tuple[int, int], int] = {}
    queue: list[PdfObject] = []

    def ref(o: PdfObject) -> bytes:
        key = o.objgen
        if key not in ids:
            ids[key] = len(ids)
            queue.append(o)
        return b"@%d" % ids[key]

    def body(o: PdfObject) -> bytes:
        """The object itself (also when indirect); references inside it become @N."""
        if isinstance(o, pk.Stream):
            d = o.stream_dict
            meta = (
                b"<<"
                + b"".join(
                    k.encode() + b" " + ser(d[k]) + b" "
                    for k in sorted(d.keys())
                    if k not in ("/Length", "/Filter", "/DecodeParms")
                )
                + b">>"
            )
            try:
                data = o.read_bytes()
            except pk.PdfError:
                data = o.read_raw_bytes()
            return meta + b" stream " + hashlib.sha256(data).hexdigest().encode()
        if isinstance(o, pk.Dictionary):
            return (
                b"<<" + b"".join(k.encode() + b" " + ser(o[k]) + b" " for k in sorted(o.keys()) if k != ENV_KEY) + b">>"
            )
        if isinstance(o, pk.Array):
            return b"[" + b" ".join(ser(x) for x in o) + b"]"
        text: bytes = o.unparse(resolved=True)
        return text

    def ser(o: PdfObject) -> bytes:
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


RESOURCE_KINDS = ("/Font", "/XObject", "/ExtGState", "/Pattern", "/Shading", "/Properties")


def prune_resources(page: PdfObject) -> None:
    """Drop the resources a page's content does not name (in a copy: the dictionary may be shared
    with pages that still use them), then let qpdf do the same inside form XObjects."""
    pk = pikepdf()
    res = page.obj.get("/Resources")
    try:
        ops = pk.parse_content_stream(page)
    except pk.PdfError:
        return
    if isinstance(res, pk.Dictionary):
        used = {
            str(o)
            for ins in ops
            if isinstance(ins, pk.ContentStreamInstruction)
            for o in ins.operands
            if isinstance(o, pk.Name)
        }
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


def dest_to_numbers(dest: PdfObject, index: dict[tuple[int, int], int]) -> PdfObject:
    """A destination to a page object as one to a page number (for a page that travels alone)."""
    pk = pikepdf()
    if isinstance(dest, pk.Array) and len(dest) and isinstance(dest[0], pk.Dictionary) and dest[0].is_indirect:
        n = index.get(dest[0].objgen)
        return pk.Array([n if n is not None else 0] + list(dest)[1:])
    return dest


def dest_to_pages(dest: PdfObject, pages: list[PdfObject]) -> PdfObject:
    """A destination to a page number back to one to that page of `pages`."""
    pk = pikepdf()
    if isinstance(dest, pk.Array) and len(dest) and not isinstance(dest[0], pk.Dictionary):
        try:
            n = int(dest[0])
        except (TypeError, ValueError):
            return dest
        if 0 <= n < len(pages):
            return pk.Array([pages[n].obj] + list(dest)[1:])
    return dest
