"""The PDF handler: protecting pages and regions, unprotecting, and the envelope under /C11Parts.

Each protected page (or all the regions of one page) is one part whose plaintext is that page alone
as a PDF; the exact original file is one more part, `original`, for the people who may open every
part (docs/indoc-media.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from c11.errors import FormatError, IntegrityError, UsageError
from c11.indoc import parts as P
from c11.indoc._handler import PartRecipients, SelectorArg, chosen_selectors
from c11.indoc._mediacommon import ORIGINAL, check_placeholders, intersection, same_keys
from c11.indoc.pdf._lib import PdfObject, pikepdf
from c11.indoc.pdf.document import (
    ENV_KEY,
    dest_to_pages,
    open_pdf,
    prune_resources,
    public_digest,
    save,
)
from c11.indoc.pdf.fonts import FontInfo
from c11.indoc.pdf.pages import (
    MARK_KEY,
    drop_fields,
    drop_struct_text,
    page_pdf,
    redact_page,
    replace_page,
)
from c11.indoc.pdf.selection import PageChoice, choose, parse_spec, regions_spec
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey


class PdfHandler:
    """`c11.indoc.Handler` for .pdf files."""

    name = "pdf"

    # -- envelope ---------------------------------------------------------------------------------
    def read_envelope(self, data: bytes, *, label: str = "document") -> P.Envelope | None:
        return _env(open_pdf(data))

    def write_envelope(self, data: bytes, envelope: P.Envelope, *, label: str = "document") -> bytes:
        pdf = open_pdf(data)
        if _env(pdf) is None:
            raise FormatError("this PDF has no c11 protected parts")
        _set_env(pdf, envelope)
        return save(pdf)

    # -- protect ----------------------------------------------------------------------------------
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
        pk = pikepdf()
        pdf = open_pdf(data)
        if pdf.is_encrypted:
            raise UsageError("this PDF is encrypted; remove its password first")
        if _env(pdf) is not None:
            raise UsageError("this PDF is already protected with c11; unprotect it first")
        sels = chosen_selectors(selectors, matches, part_recipients)
        if any(sel.kind == "match" for sel in sels):
            raise UsageError("match selectors are not supported for PDF files (choose pages or regions)")
        chosen = choose(sels, pdf)
        recipients = list(recipients)
        plan: list[tuple[int, int, PageChoice, list[PublicKey] | None]] = []
        for n, idx in enumerate(sorted(chosen), 1):
            choice = chosen[idx]
            if choice.selector is not None:
                rs = choice.selector.recipients
            else:
                sets = [r.selector.recipients for r in choice.regions]
                rs = sets[0]
                if any(not same_keys(s, rs, recipients) for s in sets[1:]):
                    raise UsageError(f"the regions of page {idx + 1} must all have the same recipients")
            plan.append((n, idx, choice, rs))
        fonts: dict[tuple[int, int], FontInfo] = {}
        counter = [0]
        parts = []
        dropped_fields: set[tuple[int, int]] = set()
        for n, idx, choice, rs in plan:
            page = pdf.pages[idx]
            original = page_pdf(pdf, idx)
            if choice.selector is not None:
                location = f"page:{idx + 1}"
                ph = replace_page(pdf, page, n, note, dropped_fields)
            else:
                location = f"region:{idx + 1}:{regions_spec([r.given for r in choice.regions])}"
                ph = redact_page(pdf, page, n, note, choice.regions, fonts, counter, dropped_fields)
            parts.append(P.Part(location, original, ph, rs))
        drop_fields(pdf, dropped_fields)
        # resources shared between pages would keep what was removed reachable from another page
        for page in pdf.pages:
            prune_resources(page)
        drop_struct_text(pdf, {pdf.pages[idx].obj.objgen for _, idx, _, _ in plan})
        meta = pdf.Root.get("/Metadata")
        if isinstance(meta, pk.Stream) and b"Thumbnails" in meta.read_bytes():
            del pdf.Root["/Metadata"]  # XMP with an embedded thumbnail (xmp:Thumbnails) shows page 1
        public = open_pdf(save(pdf, object_stream_mode=pk.ObjectStreamMode.preserve))
        digest = public_digest(public)
        parts.append(P.Part(ORIGINAL, data, digest, intersection([rs for _, _, _, rs in plan], recipients)))
        env = P.seal(parts, recipients, sender, note=note)
        _set_env(public, env)
        out = save(public)
        if public_digest(open_pdf(out)) != digest:
            raise FormatError("could not write the protected PDF reproducibly")
        return out

    def unprotect(
        self, data: bytes, identities: Sequence[Identity], *, label: str = "document"
    ) -> tuple[bytes, P.Opened]:
        pk = pikepdf()
        pdf = open_pdf(data)
        env = _env(pdf)
        if env is None:
            raise FormatError("this PDF has no c11 protected parts")
        current = _current(pdf)
        placeholders = {loc: ph for loc, (_, ph) in current.items()}
        digest = public_digest(open_pdf(data))
        orig = next((p for p in env.parts if p.location == ORIGINAL), None)
        unchanged = orig is not None and hashlib.sha256(digest).digest() == orig.placeholder_sha256
        if unchanged:
            placeholders[ORIGINAL] = digest
        check_placeholders(env, placeholders, skip=() if unchanged else (ORIGINAL,))
        opened = P.open_parts(env, list(identities), None)
        if unchanged and ORIGINAL in opened.plaintexts:
            return opened.plaintexts[ORIGINAL], opened
        index_to_page = list(pdf.pages)
        sources: list[PdfObject] = []  # keep the one-page PDFs alive: qpdf copies their streams lazily, at save time
        restored_fields: list[PdfObject] = []
        for loc, (i, _) in current.items():
            pt = opened.plaintexts.get(loc)
            if pt is None:
                continue
            single = open_pdf(pt)
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
                        a.Dest = dest_to_pages(a.Dest, index_to_page)
                    act = a.get("/A")
                    if isinstance(act, pk.Dictionary) and "/D" in act:
                        act.D = dest_to_pages(act.D, index_to_page)
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
        rest = P.remaining(env, opened)
        if rest is None:
            del pdf.Root[ENV_KEY]
        else:
            _set_env(pdf, rest)
        out = save(pdf)
        del sources
        return out, opened


def _env(pdf: PdfObject) -> P.Envelope | None:
    """The envelope stream under /C11Parts, or None."""
    pk = pikepdf()
    st = pdf.Root.get(ENV_KEY)
    if st is None:
        return None
    if not isinstance(st, pk.Stream):
        raise FormatError("the c11 envelope of this PDF is malformed")
    return P.Envelope.from_json(st.read_bytes())


def _set_env(pdf: PdfObject, env: P.Envelope) -> None:
    pk = pikepdf()
    st = pk.Stream(pdf, env.to_json())
    st.Type = pk.Name("/C11Envelope")
    pdf.Root[ENV_KEY] = pdf.make_indirect(st)


def _current(pdf: PdfObject) -> dict[str, tuple[int, bytes]]:
    """Location -> (page index, placeholder content) of every page marked as protected."""
    pk = pikepdf()
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
            loc = f"region:{i + 1}:{regions_spec(parse_spec(str(mark.get('/Regions', ''))))}"
        if loc in out:
            raise IntegrityError(f"protected part {loc!r} appears twice (duplicated page)")
        out[loc] = (i, mark.Placeholder.read_bytes())
    return out
