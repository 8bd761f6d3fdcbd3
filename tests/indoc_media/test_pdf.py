"""PDF handler: pages and regions truly removed, exact restore, tamper detection, corpus."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import pikepdf
import pypdf
import pytest

from c11.errors import IntegrityError, NoMatchingKeyError, UsageError
from c11.indoc.pdf import HANDLER as H

PDFTOTEXT = shutil.which("pdftotext")


def all_bytes(data: bytes) -> bytes:
    """Every object of the file, streams decoded: what a determined reader could dig out."""
    pdf = pikepdf.Pdf.open(io.BytesIO(data))
    out = [data]
    for obj in pdf.objects:
        try:
            if isinstance(obj, pikepdf.Stream):
                out.append(obj.read_bytes())
                out.append(obj.stream_dict.unparse())
            else:
                out.append(obj.unparse())
        except pikepdf.PdfError:
            pass
    return b"\n".join(out)


def text_of(data: bytes) -> str:
    texts = ["\n".join(p.extract_text() or "" for p in pypdf.PdfReader(io.BytesIO(data)).pages)]
    if PDFTOTEXT:
        texts.append(subprocess.run([PDFTOTEXT, "-", "-"], input=data, capture_output=True, check=True).stdout.decode())
    return "\n".join(texts)


def pdftotext(data: bytes) -> str:
    if not PDFTOTEXT:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run([PDFTOTEXT, "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def assert_gone(data: bytes, secrets) -> None:
    raw = all_bytes(data)
    text = text_of(data)
    for s in secrets:
        assert s.encode() not in raw, f"{s} still in the file"
        assert s not in text, f"{s} still extractable"


def R(page: int, x0: float, y0: float, x1: float, y1: float, height: float = 792) -> str:
    """A region selector from user-space coordinates (y up) on a page of the given height."""
    return f"region:{page}:{x0:.2f},{height - y1:.2f},{x1:.2f},{height - y0:.2f}"


def sw(text: str, font: str = "Helvetica", size: float = 12) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(text, font, size)


def test_pages_removed_and_restored_exactly(pdf_corpus, alice, bob):
    data = pdf_corpus["reportlab"]
    out = H.protect(data, ["page:2"], [bob.public], alice, note="Ask HR for page 2")
    assert_gone(out, ["SECRETGAMMA"])
    pages = pikepdf.Pdf.open(io.BytesIO(out)).pages
    original = pikepdf.Pdf.open(io.BytesIO(data)).pages
    assert len(pages) == 3
    assert list(pages[1].mediabox) == list(original[1].mediabox)
    text = pdftotext(out)
    assert "Protected with c11 (part 1): open it with c11 to read this part" in text
    assert "Ask HR for page 2" in text
    assert "Page one public text" in text and "Page three public" in text
    back, opened = H.unprotect(out, [bob])
    assert back == data
    assert opened.closed == []
    back, _ = H.unprotect(out, [alice])
    assert back == data


def test_region_removes_only_what_is_under_it(pdf_corpus, alice, bob):
    data = pdf_corpus["reportlab"]
    x0 = 72 + sw("Account ")
    x1 = x0 + sw("SECRETALPHA")
    v0 = 72 + sw("Vera line with ", "Vera", 14)
    regions = [
        R(1, x0 - 0.5, 695, x1 + 0.5, 711),  # one word of a line
        R(1, v0 - 0.5, 645, v0 + 95, 662),  # a word in an embedded TrueType font
        R(1, 290, 490, 350, 570),  # half an image
        R(1, 60, 455, 280, 485),  # a form field
        R(1, 60, 612, 300, 632),  # character-spaced text
    ]
    out = H.protect(data, regions, [bob.public], alice, note="regions")
    assert_gone(out, ["SECRETALPHA", "SECRETBETA", "SECRETFIELD", "SECRETDELTA"])
    text = pdftotext(out)
    assert "Account" in text and "1234 stays here" in text and "Vera line with" in text
    assert "Page one public text" in text
    assert "Protected with c11 (part 1)" in text
    # the image is still there, with the pixels under the region painted over
    pdf = pikepdf.Pdf.open(io.BytesIO(out))
    imgs = [pikepdf.PdfImage(v).as_pil_image().convert("RGB") for _, v in pdf.pages[0].get_images().items()]
    assert len(imgs) == 1
    im = imgs[0]
    assert im.getpixel((20, 30)) == (128, 128, 128)  # under the region: painted grey
    assert im.getpixel((80, 30)) == (200, 0, 0)  # outside the region: untouched
    assert "/AcroForm" not in pdf.Root or len(pdf.Root.AcroForm.get("/Fields", [])) == 0
    back, _ = H.unprotect(out, [bob])
    assert back == data


def test_regions_in_composite_font_form_xobject_inline_image_and_tj(pdf_corpus, alice, bob):
    data = pdf_corpus["handmade"]
    assert "SECRETIOTA" in text_of(data) and b"SECRETKAPPA" in all_bytes(data)
    regions = [
        R(1, 104, 645, 178, 662),
        R(1, 60, 495, 300, 515),
        R(1, 390, 390, 450, 450),
        R(1, 100, 296, 186, 310),
        R(1, 60, 225, 200, 265),
    ]
    out = H.protect(data, regions, [bob.public], alice)
    assert_gone(out, ["SECRETETA", "SECRETZETA", "SECRETTHETA", "SECRETTHET", "SECRETIOTA", "SECRETKAPPA"])
    text = pdftotext(out)
    assert "Wide" in text and "glyphs" in text and "Kern" in text and "end" in text
    assert "Handmade public line" in text and "Second page public" in text
    pdf = pikepdf.Pdf.open(io.BytesIO(out))
    ops = pikepdf.parse_content_stream(pdf.pages[0])
    assert not any(isinstance(i, pikepdf.ContentStreamInlineImage) for i in ops)
    # the second page shares the resources: its form XObject is untouched
    assert "Second page public" in text
    back, _ = H.unprotect(out, [alice])
    assert back == data


def test_vector_art_in_region_removed(pdf_corpus, alice, bob):
    data = pdf_corpus["reportlab"]
    out = H.protect(data, [R(1, 90, 370, 260, 460)], [bob.public], alice)
    pdf = pikepdf.Pdf.open(io.BytesIO(out))
    ops = [
        str(i.operator)
        for i in pikepdf.parse_content_stream(pdf.pages[0].obj.Contents[0])
        if not isinstance(i, pikepdf.ContentStreamInlineImage)
    ]
    assert "c" not in ops  # the Bézier curve is gone
    assert "re" in ops  # the frame rectangle (not under the region) stays


def test_rotated_page_and_whole_document(pdf_corpus, alice, bob):
    data = pdf_corpus["reportlab"]
    out = H.protect(data, ["page:1-3"], [bob.public], alice, note="all")
    assert_gone(out, ["SECRET"])
    pdf = pikepdf.Pdf.open(io.BytesIO(out))
    assert int(pdf.pages[2].obj.get("/Rotate", 0)) == 90
    assert "Outlines" in str(list(pdf.Root.keys()))  # bookmarks to protected pages still resolve
    assert H.unprotect(out, [bob])[0] == data


def test_different_recipients_per_part(pdf_corpus, alice, bob, carol):
    data = pdf_corpus["reportlab"]
    out = H.protect(
        data, ["page:2", R(1, 60, 612, 300, 632)], [bob.public], alice, part_recipients={"page:2": [carol.public]}
    )
    b_view, opened = H.unprotect(out, [bob])
    assert "page:2" in opened.closed and "original" in opened.closed
    text = pdftotext(b_view)
    assert "SECRETDELTA" in text and "SECRETGAMMA" not in text
    c_view, opened = H.unprotect(b_view, [carol])
    assert "SECRETGAMMA3" in pdftotext(c_view)
    with pytest.raises(NoMatchingKeyError):
        H.unprotect(out, [pytest.importorskip("c11.keys").Identity.generate("x@y", kem="x25519")])
    assert H.unprotect(out, [alice])[0] == data  # the sender may open everything


def _reorder(data: bytes, fn) -> bytes:
    pdf = pikepdf.Pdf.open(io.BytesIO(data))
    fn(pdf)
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def test_moved_duplicated_swapped_edited_parts_refused(pdf_corpus, alice, bob):
    data = pdf_corpus["reportlab"]
    out = H.protect(data, ["page:1", "page:2"], [bob.public], alice, note="n")

    def move(pdf):
        pdf.pages.append(pdf.pages[0])
        del pdf.pages[0]

    def duplicate(pdf):
        pdf.pages.append(pdf.pages[1])

    def swap(pdf):
        pdf.pages.insert(0, pdf.pages[1])
        del pdf.pages[2]

    def edit_placeholder(pdf):
        mark = pdf.pages[0].obj.C11Part
        mark.Placeholder.write(mark.Placeholder.read_bytes().replace(b"part 1", b"part 9"))

    def edit_env(field):
        def fn(pdf):
            env = json.loads(pdf.Root.C11Parts.read_bytes())
            if field == "swap":
                env["parts"][0]["ct"], env["parts"][1]["ct"] = env["parts"][1]["ct"], env["parts"][0]["ct"]
                env["parts"][0]["nonce"], env["parts"][1]["nonce"] = env["parts"][1]["nonce"], env["parts"][0]["nonce"]
            elif field == "note":
                env["note"] = "changed"
            elif field == "dup":
                env["parts"].append(dict(env["parts"][0]))
            pdf.Root.C11Parts.write(json.dumps(env).encode())

        return fn

    for fn in (move, duplicate, swap, edit_placeholder, edit_env("swap"), edit_env("note"), edit_env("dup")):
        tampered = _reorder(out, fn)
        with pytest.raises((IntegrityError,)) as e:
            H.unprotect(tampered, [bob])
        assert "\n" not in str(e.value) and str(e.value)


def test_part_from_another_document_refused(pdf_corpus, alice, bob):
    data = pdf_corpus["reportlab"]
    a = H.protect(data, ["page:2"], [bob.public], alice)
    b = H.protect(data, ["page:2"], [bob.public], alice)
    env_a, env_b = H.read_envelope(a), H.read_envelope(b)
    env_a.parts[0] = env_b.parts[0]  # same location, same placeholder, other document
    with pytest.raises(IntegrityError):
        H.unprotect(H.write_envelope(a, env_a), [bob])


def test_edits_elsewhere_are_kept(pdf_corpus, alice, bob):
    data = pdf_corpus["reportlab"]
    out = H.protect(data, ["page:2"], [bob.public], alice)
    edited = _reorder(out, lambda pdf: pdf.docinfo.__setitem__("/Title", "edited later"))
    back, _ = H.unprotect(edited, [bob])
    pdf = pikepdf.Pdf.open(io.BytesIO(back))
    assert str(pdf.docinfo.Title) == "edited later"
    assert "SECRETGAMMA5" in pdftotext(back)
    assert "/C11Parts" not in pdf.Root


def test_bad_selectors(pdf_corpus, alice, bob):
    data = pdf_corpus["reportlab"]
    for sel in (["page:9"], ["region:1:1,2,3"], ["path:/a"], ["page:1", "region:1:0,0,10,10"]):
        with pytest.raises(UsageError):
            H.protect(data, sel, [bob.public], alice)
    with pytest.raises(UsageError):
        H.protect(
            data,
            ["region:1:0,0,10,10", "region:1:20,20,30,30"],
            [bob.public],
            alice,
            part_recipients={"region:1:0,0,10,10": [alice.public]},
        )
    out = H.protect(data, ["page:1"], [bob.public], alice)
    with pytest.raises(UsageError):
        H.protect(out, ["page:2"], [bob.public], alice)


@pytest.mark.parametrize("name", ["reportlab", "handmade", "libreoffice", "objstreams"])
def test_corpus_roundtrip(pdf_corpus, name, alice, bob):
    if name not in pdf_corpus:
        pytest.skip("LibreOffice (soffice) is not installed")
    data = pdf_corpus[name]
    n = len(pikepdf.Pdf.open(io.BytesIO(data)).pages)
    sels = ["page:1"] + ([f"region:{n}:0,300,612,792"] if n > 1 else [])
    out = H.protect(data, sels, [bob.public], alice, note="corpus")
    pypdf.PdfReader(io.BytesIO(out)).pages[0].extract_text()
    assert "corpus" in pdftotext(out)
    assert H.read_envelope(out) is not None
    assert H.unprotect(out, [bob])[0] == data


def test_libreoffice_text_removed(pdf_corpus, alice, bob):
    if "libreoffice" not in pdf_corpus:
        pytest.skip("LibreOffice (soffice) is not installed")
    data = pdf_corpus["libreoffice"]
    out = H.protect(data, ["page:2"], [bob.public], alice)
    assert "SECRETLAMBDA" in pdftotext(data)
    assert "SECRETLAMBDA" not in text_of(out)
    assert "SECRETIOTA" in pdftotext(out)


def test_region_on_rotated_page_uses_displayed_coordinates(pdf_corpus, alice, bob):
    data = pdf_corpus["reportlab"]
    # page 3 is landscape A4 (842 x 595) displayed rotated by 90 degrees: 595 wide, 842 tall.
    # The text "Rotated SECRETEPSILON here" sits at user (72, 480); displayed: X = y, Y = x.
    out = H.protect(data, ["region:3:470,60,495,400"], [bob.public], alice)
    text = pdftotext(out)
    assert "SECRETEPSILON" not in text_of(out)
    assert "Page three public" in text
    assert H.unprotect(out, [bob])[0] == data


def test_sdk_and_selector_recipients(pdf_corpus, alice, bob, carol, tmp_path):
    from c11.indoc import api

    src = tmp_path / "doc.pdf"
    src.write_bytes(pdf_corpus["reportlab"])
    out = api.protect_document(
        src,
        ["page:1", f"page:2=>{carol.public.line()}"],
        [bob.public],
        alice,
        note="sdk",
        output=tmp_path / "doc.protected.pdf",
    )
    assert (tmp_path / "doc.protected.pdf").read_bytes() == out
    res = api.unprotect_document(tmp_path / "doc.protected.pdf", [bob])
    assert "page:2" in res.closed and "page:1" in res.opened
    assert api.unprotect_document(out, [alice], format=".pdf").data == pdf_corpus["reportlab"]


def word_boxes(data: bytes) -> list[tuple[int, str, tuple[float, float, float, float]]]:
    """(page, word, (x0, y0, x1, y1) from the top left) as poppler sees them."""
    import re as _re

    if not PDFTOTEXT:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    html = subprocess.run([PDFTOTEXT, "-bbox", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    out, page = [], 0
    for line in html.splitlines():
        if "<page " in line:
            page += 1
        m = _re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', line)
        if m:
            out.append((page, m.group(5), tuple(float(m.group(i)) for i in range(1, 5))))
    return out


@pytest.mark.parametrize("name", ["reportlab", "handmade", "libreoffice", "objstreams"])
def test_regions_at_words_found_by_poppler(pdf_corpus, name, alice, bob):
    """Regions drawn around words poppler finds (its coordinates: top left, like ours): the words
    go, their neighbours on the same line stay."""
    if name not in pdf_corpus:
        pytest.skip("LibreOffice (soffice) is not installed")
    data = pdf_corpus[name]
    words = [w for w in word_boxes(data) if w[1].startswith("SECRET")]
    assert words
    sels = [f"region:{p}:{b[0] - 0.5:.2f},{b[1] + 1:.2f},{b[2] + 0.5:.2f},{b[3] - 1:.2f}" for p, _, b in words]
    out = H.protect(data, sels, [bob.public], alice)
    remaining = text_of(out)
    for _, w, _ in words:
        assert w not in remaining
    before = [w for _, w, _ in word_boxes(data) if not w.startswith("SECRET") and w.isalpha() and len(w) > 3]
    after = set(w for _, w, _ in word_boxes(out))
    kept = [w for w in before if w in after]
    assert len(kept) >= 0.8 * len(before), set(before) - after
    assert H.unprotect(out, [bob])[0] == data


def test_random_regions_remove_exactly_the_words_under_them(pdf_corpus, alice, bob):
    import random

    data = pdf_corpus["reportlab"]
    before = [(w, b) for p, w, b in word_boxes(data) if p == 2]
    rng = random.Random(11)
    for _ in range(6):
        x0, y0 = rng.uniform(40, 300), rng.uniform(40, 600)
        box = (x0, y0, x0 + rng.uniform(20, 250), y0 + rng.uniform(8, 150))
        out = H.protect(data, [f"region:2:{box[0]:.2f},{box[1]:.2f},{box[2]:.2f},{box[3]:.2f}"], [bob.public], alice)
        after = {(w, round(b[1])) for p, w, b in word_boxes(out) if p == 2}
        for w, b in before:
            inside = box[0] <= b[0] and b[2] <= box[2] and box[1] <= b[1] + 1 and b[3] - 1 <= box[3]
            outside = b[2] < box[0] - 2 or b[0] > box[2] + 2 or b[3] < box[1] - 2 or b[1] > box[3] + 2
            if inside:
                assert (w, round(b[1])) not in after, (w, b, box)
            if outside:
                assert (w, round(b[1])) in after, (w, b, box)
        assert H.unprotect(out, [bob])[0] == data


def test_protected_pdfs_are_structurally_sound(pdf_corpus, alice, bob):
    for name, data in pdf_corpus.items():
        out = H.protect(
            data,
            ["page:1"] + (["region:2:0,0,300,300"] if len(pikepdf.Pdf.open(io.BytesIO(data)).pages) > 1 else []),
            [bob.public],
            alice,
        )
        with pikepdf.Pdf.open(io.BytesIO(out)) as pdf:
            assert pdf.check_pdf_syntax() == [], name
        if shutil.which("pdftoppm"):
            r = subprocess.run(["pdftoppm", "-r", "20", "-png", "-", "/dev/null"], input=out, capture_output=True)
            assert r.returncode == 0 and b"Error" not in r.stderr, (name, r.stderr[:300])


def test_only_the_subpaths_under_a_region_go(alice, bob):
    """A table grid drawn as one path: lines crossing the region go, the others stay."""
    pdf = pikepdf.Pdf.new()
    grid = b"".join(b"72 %d m 540 %d l\n" % (y, y) for y in range(100, 700, 100)) + b"1 w S\n"
    grid += b"0.9 g 0 0 612 792 re f\n"  # a background under everything
    page = pikepdf.Dictionary(
        Type=pikepdf.Name.Page,
        MediaBox=pikepdf.Array([0, 0, 612, 792]),
        Contents=pdf.make_indirect(pikepdf.Stream(pdf, grid)),
    )
    pdf.pages.append(pikepdf.Page(page))
    buf = io.BytesIO()
    pdf.save(buf)
    data = buf.getvalue()
    out = H.protect(data, [R(1, 100, 280, 200, 320)], [bob.public], alice)  # around the line y=300
    with pikepdf.Pdf.open(io.BytesIO(out)) as res:
        ops = [
            (str(i.operator), [float(v) for v in i.operands])
            for i in pikepdf.parse_content_stream(res.pages[0].obj.Contents[0])
        ]
    lines = sorted(args[1] for op, args in ops if op == "m")
    assert lines == [100.0, 200.0, 400.0, 500.0, 600.0]
    assert ("re", [0.0, 0.0, 612.0, 792.0]) in ops
    assert H.unprotect(out, [bob])[0] == data


def test_exact_restore_survives_an_unchanged_resave(pdf_corpus, alice, bob):
    """Another tool saving the protected file again, unchanged, must not cost the exact restore."""
    data = pdf_corpus["reportlab"]
    out = H.protect(data, ["page:2", R(1, 60, 612, 300, 632)], [bob.public], alice)
    for kw in (
        {"object_stream_mode": pikepdf.ObjectStreamMode.generate},
        {"compress_streams": False, "stream_decode_level": pikepdf.StreamDecodeLevel.generalized},
        {"qdf": True},
    ):
        with pikepdf.Pdf.open(io.BytesIO(out)) as pdf:
            buf = io.BytesIO()
            pdf.save(buf, **kw)
        assert buf.getvalue() != out
        assert H.unprotect(buf.getvalue(), [bob])[0] == data, kw


def test_scanned_page_ocr_layer_and_type3_font(alice, bob):
    from media_corpus import scanned_pdf

    data = scanned_pdf()
    before = text_of(data)
    assert "SECRETOCR" in before and "SECRETTYPE3" in before
    words = {w: b for _, w, b in word_boxes(data)}
    sels = []
    for w in ("SECRETOCR", "SECRETTYPE3"):
        b = words[w]
        # glyph boxes touch here (the space has no width): keep the region just inside the word
        sels.append(f"region:1:{b[0] + 0.5:.2f},{b[1] + 0.5:.2f},{b[2] - 0.5:.2f},{b[3] - 0.5:.2f}")
    out = H.protect(data, sels, [bob.public], alice)
    after = text_of(out)
    assert "SECRETOCR" not in after and "SECRETTYPE3" not in after
    assert "OCR line" in after and "visible" in after and "AAAA" in after and "BBBB" in after
    # the scan itself is painted over under the OCR word, and untouched far from it
    with pikepdf.Pdf.open(io.BytesIO(out)) as pdf:
        (img,) = [pikepdf.PdfImage(v).as_pil_image().convert("RGB") for v in pdf.pages[0].get_images().values()]
    b = words["SECRETOCR"]
    cx, cy = int((b[0] + b[2]) / 2), int((b[1] + b[3]) / 2)
    assert all(abs(c - 128) < 12 for c in img.getpixel((cx, cy)))
    assert all(abs(c - 240) < 16 for c in img.getpixel((580, 20)))
    assert H.unprotect(out, [bob])[0] == data


def _system_pdfs(limit: int = 3) -> list:
    """Real-world PDFs this machine happens to have (Debian documentation), if any."""
    import glob
    import os

    found = sorted(p for p in glob.glob("/usr/share/doc/**/*.pdf", recursive=True) if os.path.getsize(p) < 3_000_000)
    return found[:limit]


@pytest.mark.parametrize("path", _system_pdfs() or ["none"])
def test_real_world_pdf_paragraph_region(path, alice, bob):
    """A paragraph-sized region on a PDF made by someone else: every word inside goes, no word
    clearly outside is lost, and the exact original comes back."""
    if path == "none":
        pytest.skip("no PDF documentation installed on this machine")
    data = open(path, "rb").read()
    npages = len(pikepdf.Pdf.open(io.BytesIO(data)).pages)
    page = 2 if npages > 1 else 1
    words = [(w, b) for p, w, b in word_boxes(data) if p == page]
    if len(words) < 40:
        pytest.skip("too little text on the page")
    ws = words[len(words) // 3 : len(words) // 3 + 15]
    x0, y0 = min(b[0] for _, b in ws), min(b[1] for _, b in ws)
    x1, y1 = max(b[2] for _, b in ws), max(b[3] for _, b in ws)
    out = H.protect(
        data, [f"region:{page}:{x0:.2f},{y0 + 0.5:.2f},{x1:.2f},{y1 - 0.5:.2f}", "page:1"], [bob.public], alice
    )
    after = {(w, round(b[1])) for p, w, b in word_boxes(out) if p == page}
    for w, b in words:
        if x0 <= b[0] and b[2] <= x1 and y0 <= b[1] and b[3] <= y1:
            assert (w, round(b[1])) not in after, w
        elif b[3] < y0 - 2 or b[1] > y1 + 2 or b[2] < x0 - 2 or b[0] > x1 + 2:
            assert (w, round(b[1])) in after, w
    assert H.unprotect(out, [bob])[0] == data
