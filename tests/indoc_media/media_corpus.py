"""Inputs for the PDF, image and structured-text tests, generated on the fly (no binary fixtures)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

# ------------------------------------------------------------------------------------------------
# PDF corpus


def reportlab_pdf() -> bytes:
    """Three pages: standard and embedded TrueType fonts, an image, vector art, a link, a bookmark,
    a form field, kerning (TJ), character spacing and a rotated page."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4, letter
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("Vera", "Vera.ttf"))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter)
    c.setTitle("corpus")
    c.setFont("Helvetica", 12)
    c.drawString(72, 720, "Page one public text")
    c.drawString(72, 700, "Account SECRETALPHA 1234 stays here")
    c.setFont("Vera", 14)
    c.drawString(72, 650, "Vera line with SECRETBETA inside")
    t = c.beginText(72, 620)
    t.setFont("Times-Bold", 12)
    t.setCharSpace(1.5)
    t.textLine("Spaced SECRETDELTA words")
    c.drawText(t)
    im = Image.new("RGB", (100, 60), "white")
    ImageDraw.Draw(im).rectangle((10, 10, 90, 50), fill=(200, 0, 0))
    c.drawImage(ImageReader(im), 300, 500, width=100, height=60)
    c.setStrokeColorRGB(0, 0, 1)
    c.bezier(100, 400, 150, 450, 200, 350, 250, 400)
    c.rect(50, 50, 500, 300, stroke=1, fill=0)
    c.linkAbsolute("to page 3", "p3", (72, 560, 200, 580))
    c.acroForm.textfield(name="ssn", value="SECRETFIELD", x=72, y=460, width=200, height=20)
    c.showPage()
    c.setFont("Times-Roman", 11)
    for i in range(30):
        c.drawString(72, 740 - i * 20, f"Page two line {i} SECRETGAMMA{i}")
    c.showPage()
    c.setPageSize(A4)
    c.setPageRotation(90)
    c.bookmarkPage("p3")
    c.addOutlineEntry("Third", "p3")
    c.setFont("Courier", 10)
    c.drawString(72, 500, "Page three public")
    c.drawString(72, 480, "Rotated SECRETEPSILON here")
    c.showPage()
    c.save()
    return buf.getvalue()


def handmade_pdf() -> bytes:
    """Built with pikepdf: a Type0 (Identity-H) font with /W widths and a ToUnicode map, a form
    XObject holding secret text, an inline image, marked content with /ActualText (inline and
    named) and a resource dictionary shared by both pages."""
    import pikepdf
    from pikepdf import Array, Dictionary, Name, Stream

    pdf = pikepdf.Pdf.new()
    text = "Form SECRETZETA text"
    tounicode = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /C11Test def\n"
        b"1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
        b"1 beginbfrange <0020> <007E> <0020> endbfrange\nendcmap CMapName currentdict /CMap defineresource pop end end\n"
    )
    cid = Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType2,
        BaseFont=Name("/Arial"),
        CIDSystemInfo=Dictionary(Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"), Supplement=0),
        DW=600,
        W=Array([32, Array([278]), 65, 90, 667]),
    )
    t0 = pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type0,
            BaseFont=Name("/Arial"),
            Encoding=Name("/Identity-H"),
            DescendantFonts=Array([pdf.make_indirect(cid)]),
            ToUnicode=pdf.make_indirect(Stream(pdf, tounicode)),
        )
    )
    helv = pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica, Encoding=Name.WinAnsiEncoding)
    )
    hexstr = "".join(f"{ord(ch):04X}" for ch in "Wide SECRETETA glyphs")
    form = Stream(pdf, f"BT /F1 12 Tf 0 0 Td ({text}) Tj ET".encode())
    form.Type, form.Subtype = Name.XObject, Name.Form
    form.BBox = Array([0, 0, 300, 50])
    form.Resources = Dictionary(Font=Dictionary(F1=helv))
    resources = pdf.make_indirect(
        Dictionary(
            Font=Dictionary(F1=helv, F2=t0),
            XObject=Dictionary(Fm1=pdf.make_indirect(form)),
            Properties=Dictionary(MC0=Dictionary(ActualText=pikepdf.String("SECRETKAPPA"))),
        )
    )
    content = (
        f"BT /F1 12 Tf 72 700 Td (Handmade public line) Tj ET\n"
        f"BT /F2 12 Tf 72 650 Td <{hexstr}> Tj ET\n"
        f"q 1 0 0 1 72 500 cm /Fm1 Do Q\n"
        f"q 40 0 0 40 400 400 cm BI /W 2 /H 2 /CS /G /BPC 8 ID \x00\xff\xff\x00 EI Q\n"
        f"BT /F1 12 Tf 72 300 Td [(Kern) -250 (SECRETTHETA) 120 (end)] TJ ET\n"
        f"/Span << /ActualText (SECRETIOTA) >> BDC BT /F1 12 Tf 72 250 Td (abc) Tj ET EMC\n"
        f"/Span /MC0 BDC BT /F1 12 Tf 72 230 Td (def) Tj ET EMC\n"
    ).encode("latin-1")
    for body in (content, b"BT /F1 12 Tf 72 700 Td (Second page public) Tj ET"):
        page = Dictionary(
            Type=Name.Page,
            MediaBox=Array([0, 0, 612, 792]),
            Resources=resources,
            Contents=pdf.make_indirect(Stream(pdf, body)),
        )
        pdf.pages.append(pikepdf.Page(page))
    buf = io.BytesIO()
    pdf.save(buf)
    return buf.getvalue()


def objstreams_pdf(data: bytes) -> bytes:
    """The same document rewritten by qpdf with object streams and a cross-reference stream."""
    import pikepdf

    pdf = pikepdf.Pdf.open(io.BytesIO(data))
    buf = io.BytesIO()
    pdf.save(buf, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return buf.getvalue()


def libreoffice_pdf(tmp: Path) -> bytes | None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        return None
    src = tmp / "lo.html"
    src.write_text(
        "<html><body><h1>LibreOffice corpus</h1><p>Public paragraph.</p>"
        "<p>Confidential SECRETIOTA paragraph.</p><table border=1><tr><td>cell</td>"
        "<td>SECRETKAPPA</td></tr></table><p style='page-break-before: always'>Second page"
        " SECRETLAMBDA.</p></body></html>"
    )
    try:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{tmp}/lo-profile",
                "--headless",
                "--convert-to",
                "pdf:writer_pdf_Export",
                "--outdir",
                str(tmp),
                str(src),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (subprocess.SubprocessError, OSError):
        return None
    out = tmp / "lo.pdf"
    return out.read_bytes() if out.exists() else None


# ------------------------------------------------------------------------------------------------
# image corpus


def _picture(mode: str = "RGB"):
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (160, 100), (250, 250, 240))
    d = ImageDraw.Draw(im)
    d.text((10, 10), "SECRET 42", fill=(0, 0, 0))
    d.ellipse((90, 40, 150, 95), fill=(200, 20, 20))
    for x in range(0, 160, 7):
        d.line((x, 60, x + 20, 99), fill=(x, 100, 200 - x))
    if mode == "RGBA":
        im = im.convert("RGBA")
        im.putalpha(Image.linear_gradient("L").resize(im.size))
    elif mode == "P":
        im = im.convert("P", palette=Image.Palette.ADAPTIVE, colors=12)
    elif mode != "RGB":
        im = im.convert(mode)
    return im


def image_bytes(kind: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    if kind == "png-rgba":
        _picture("RGBA").save(buf, "PNG")
    elif kind == "png-palette":
        _picture("P").save(buf, "PNG", transparency=0)
    elif kind == "png-gray":
        _picture("L").save(buf, "PNG")
    elif kind == "png-gray16":
        _picture("L").convert("I").point(lambda v: v * 256).convert("I;16").save(buf, "PNG")
    elif kind == "png-text-dpi":
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "someone")
        _picture("RGB").save(buf, "PNG", pnginfo=info, dpi=(300, 300))
    elif kind == "jpeg-progressive":
        _picture().save(buf, "JPEG", quality=85, progressive=True)
    elif kind == "jpeg-exif":
        im = _picture()
        exif = Image.Exif()
        exif[0x010F] = "CameraMaker"
        exif[0x0112] = 1
        # an Exif thumbnail (IFD1) shows the whole picture: it must not survive protection
        thumb = io.BytesIO()
        im.resize((40, 25)).save(thumb, "JPEG")
        im.save(buf, "JPEG", quality=90, exif=exif, icc_profile=b"\x00" * 10)
        return _add_exif_thumbnail(buf.getvalue(), thumb.getvalue())
    elif kind == "jpeg-gray":
        _picture("L").save(buf, "JPEG")
    elif kind == "jpeg-cmyk":
        _picture("CMYK").save(buf, "JPEG")
    else:
        raise ValueError(kind)
    return buf.getvalue()


def _add_exif_thumbnail(jpeg: bytes, thumb: bytes) -> bytes:
    """Append an APP1 Exif segment with IFD1 thumbnail (JPEGInterchangeFormat) by hand."""
    import struct

    # TIFF header, IFD0 with one entry (Make), next IFD -> IFD1 with the thumbnail pointer/length
    make = b"CameraMaker\x00"
    ifd0_off = 8
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x010F, 2, len(make), 0) + struct.pack("<I", 0)
    ifd1_off = ifd0_off + len(ifd0)
    ifd1 = (
        struct.pack("<H", 2)
        + struct.pack("<HHII", 0x0201, 4, 1, 0)
        + struct.pack("<HHII", 0x0202, 4, 1, len(thumb))
        + struct.pack("<I", 0)
    )
    make_off = ifd1_off + len(ifd1)
    thumb_off = make_off + len(make)
    ifd0 = ifd0[:2] + struct.pack("<HHII", 0x010F, 2, len(make), make_off) + struct.pack("<I", ifd1_off)
    ifd1 = (
        ifd1[:2]
        + struct.pack("<HHII", 0x0201, 4, 1, thumb_off)
        + struct.pack("<HHII", 0x0202, 4, 1, len(thumb))
        + struct.pack("<I", 0)
    )
    tiff = b"II*\x00" + struct.pack("<I", ifd0_off) + ifd0 + ifd1 + make + thumb
    body = b"Exif\x00\x00" + tiff
    seg = b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    # drop the Exif segment Pillow wrote and put ours right after SOI/APP0
    from c11.indoc.image import _jpeg_segments

    segs, sos = _jpeg_segments(jpeg)
    kept = [s for m, s in segs if not (m == 0xE1 and s[4:10] == b"Exif\x00\x00")]
    return b"\xff\xd8" + kept[0] + seg + b"".join(kept[1:]) + jpeg[sos:]


IMAGE_KINDS = [
    "png-rgba",
    "png-palette",
    "png-gray",
    "png-gray16",
    "png-text-dpi",
    "jpeg-progressive",
    "jpeg-exif",
    "jpeg-gray",
    "jpeg-cmyk",
]


def scanned_pdf() -> bytes:
    """A 'scanned' page: one JPEG covering the page and an invisible OCR text layer (3 Tr) on it,
    and a Type3 font with its own glyph procedures and FontMatrix."""
    import pikepdf
    from pikepdf import Array, Dictionary, Name, Stream
    from PIL import Image, ImageDraw

    pdf = pikepdf.Pdf.new()
    scan = Image.new("RGB", (612, 792), (245, 245, 235))
    d = ImageDraw.Draw(scan)
    for y in range(60, 760, 40):
        d.rectangle((60, y, 540, y + 12), fill=(30, 30, 30))  # "lines of text" in the scan
    buf = io.BytesIO()
    scan.save(buf, "JPEG", quality=90)
    img = Stream(pdf, buf.getvalue())
    img.Type, img.Subtype = Name.XObject, Name.Image
    img.Width, img.Height, img.ColorSpace, img.BitsPerComponent = 612, 792, Name.DeviceRGB, 8
    img.Filter = Name.DCTDecode
    helv = pdf.make_indirect(
        Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica, Encoding=Name.WinAnsiEncoding)
    )
    glyph = pdf.make_indirect(Stream(pdf, b"500 0 0 0 500 700 d1 0 0 500 700 re f"))
    names = [Name("/" + ch) for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"]
    names[26:] = [
        Name(n) for n in ("/zero", "/one", "/two", "/three", "/four", "/five", "/six", "/seven", "/eight", "/nine")
    ]
    t3 = pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type3,
            FontBBox=Array([0, 0, 500, 700]),
            FontMatrix=Array([0.001, 0, 0, 0.001, 0, 0]),
            CharProcs=Dictionary({str(n): glyph for n in names}),
            Encoding=Dictionary(Type=Name.Encoding, Differences=Array([65] + names[:26] + [48] + names[26:])),
            FirstChar=48,
            LastChar=90,
            Widths=Array([500] * 43),
            Resources=Dictionary(),
        )
    )
    content = (
        b"q 612 0 0 792 0 0 cm /Im0 Do Q\n"
        b"BT 3 Tr /F1 12 Tf 60 700 Td (OCR line SECRETOCR visible) Tj ET\n"
        b"BT /T3 10 Tf 60 200 Td (AAAA SECRETTYPE3 BBBB) Tj ET\n"
    )
    page = Dictionary(
        Type=Name.Page,
        MediaBox=Array([0, 0, 612, 792]),
        Resources=Dictionary(XObject=Dictionary(Im0=img), Font=Dictionary(F1=helv, T3=t3)),
        Contents=pdf.make_indirect(Stream(pdf, content)),
    )
    pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
