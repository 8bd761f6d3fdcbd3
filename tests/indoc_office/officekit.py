"""Helpers of the Word/Excel in-document protection tests: corpus builders, LibreOffice and
pdftotext runners, zip inspection. (A uniquely named module: `conftest` names collide across
test folders.)"""

from __future__ import annotations

import base64
import io
import os
import random
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import clifork
import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
PDFTOTEXT = shutil.which("pdftotext")
needs_lo = pytest.mark.skipif(
    (SOFFICE is None or PDFTOTEXT is None) and os.environ.get("CI") != "true",
    reason="LibreOffice (soffice) and pdftotext are needed (deps/apt.txt)",
)


# ---------------------------------------------------------------- helpers


def png(seed: int, size: int = 24) -> bytes:
    """A small noisy PNG whose bytes are unique to `seed`."""
    rnd = random.Random(seed)
    raw = b"".join(b"\x00" + bytes(rnd.randrange(256) for _ in range(size * 3)) for _ in range(size))

    def chunk(t, d):
        return struct.pack(">L", len(d)) + t + d + struct.pack(">L", zlib.crc32(t + d))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">LLBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def members(data: bytes) -> dict[str, bytes]:
    z = zipfile.ZipFile(io.BytesIO(data))
    return {n: z.read(n) for n in z.namelist()}


def leaks(data: bytes, secrets) -> list[tuple[str, bytes]]:
    out = []
    for name, content in members(data).items():
        for s in secrets:
            s = s.encode() if isinstance(s, str) else s
            if s in content:
                out.append((name, s))
    return out


def soffice_convert(files: list[Path], fmt: str, outdir: Path, profile: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    if not files:
        return
    cmd = [
        SOFFICE,
        "--headless",
        "--norestore",
        f"-env:UserInstallation=file://{profile}",
        "--convert-to",
        fmt,
        "--outdir",
        str(outdir),
        *map(str, files),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=240)


def pdf_text(pdf: Path) -> str:
    return subprocess.run([PDFTOTEXT, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def run_cli(*args, env=None, cwd=None) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.pop("C11_IDENTITY", None)
    e["C11_PASSPHRASE"] = "pw"
    e.update(env or {})
    return clifork.run([str(a) for a in args], env=e, cwd=cwd, text=True, timeout=120)  # `python -m c11.cli.main`


# ---------------------------------------------------------------- generated documents


def make_docx(path: Path) -> Path:
    import docx
    from docx.shared import Inches

    d = docx.Document()
    d.core_properties.title = "Quarterly report"
    d.add_heading("Quarterly report", 0)
    d.add_paragraph("Intro paragraph, public.")
    d.add_paragraph("Contact: SSN 123-45-6789, phone 555-0100.")
    d.add_heading("Salary", 1)
    d.add_paragraph("Alice earns SALARYSECRET per year.")
    d.add_paragraph("Bob earns SALARYSECRET2 per year.")
    t = d.add_table(rows=3, cols=2)
    t.style = "Table Grid"
    for i, (a, b) in enumerate([("Name", "Pay"), ("Alice", "TABLESECRET"), ("Bob", "90000")]):
        t.cell(i, 0).text, t.cell(i, 1).text = a, b
    d.add_heading("Other", 1)
    p = d.add_paragraph("Public words and ")
    r = p.add_run("bold INLINESECRET text")
    r.bold = True
    p.add_run(" after.")
    img = path.parent / "pic.png"
    img.write_bytes(png(1))
    d.add_picture(str(img), width=Inches(1))
    d.add_paragraph("Second table:")
    t2 = d.add_table(rows=1, cols=1)
    t2.cell(0, 0).text = "TABLE2SECRET"
    d.add_heading("Appendix", 1)
    for i in range(5):
        d.add_paragraph(f"Appendix line {i}.")
    d.sections[0].header.paragraphs[0].text = "Header HEADERSECRET"
    d.sections[0].footer.paragraphs[0].text = "Footer public"
    d.save(path)
    return path


def make_xlsx(path: Path) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Payroll"
    ws.append(["Name", "Dept", "Salary", "Bonus"])
    for i, (n, sal) in enumerate([("Alice", 51234), ("Bob", 62345), ("Carol", 73456)], 2):
        ws.append([n, "Sales", sal, f"=C{i}*0.1"])
    ws["A6"] = "MERGEDSECRET"
    ws.merge_cells("A6:C6")
    ws["A6"].font = openpyxl.styles.Font(bold=True)
    ws2 = wb.create_sheet("Secret Sheet")
    ws2["A1"] = "SHEETSECRET"
    ws2["B2"] = 42424242
    ws3 = wb.create_sheet("Public")
    ws3["A1"] = "Everyone can read this"
    ws3["B1"] = "=Payroll!A2"
    wb.save(path)
    return path


FODT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
 xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
 <office:meta><dc:title>Board minutes</dc:title></office:meta>
 <office:styles>
  <style:style style:name="Heading_20_1" style:display-name="Heading 1" style:family="paragraph" style:default-outline-level="1">
   <style:text-properties fo:font-size="16pt" fo:font-weight="bold"/></style:style>
 </office:styles>
 <office:automatic-styles>
  <style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="21cm" fo:page-height="29.7cm"/>
   <style:header-style/><style:footer-style/></style:page-layout>
 </office:automatic-styles>
 <office:master-styles>
  <style:master-page style:name="Standard" style:page-layout-name="pm1">
   <style:header><text:p>Board of ACME, HEADERSECRET edition</text:p></style:header>
   <style:footer><text:p>Footer: page <text:page-number>1</text:page-number></text:p></style:footer>
  </style:master-page>
 </office:master-styles>
 <office:body><office:text>
  <text:tracked-changes>
   <text:changed-region text:id="ct1"><text:insertion><office:change-info><dc:creator>Bob</dc:creator><dc:date>2024-01-02T10:00:00</dc:date></office:change-info></text:insertion></text:changed-region>
   <text:changed-region text:id="ct2"><text:deletion><office:change-info><dc:creator>Bob</dc:creator><dc:date>2024-01-02T10:00:00</dc:date></office:change-info><text:p>DELETEDSECRET</text:p></text:deletion></text:changed-region>
  </text:tracked-changes>
  <text:h text:style-name="Heading_20_1" text:outline-level="1">Introduction</text:h>
  <text:p>Public intro with <text:change-start text:change-id="ct1"/>inserted INSERTEDSECRET words<text:change-end text:change-id="ct1"/> and removed <text:change text:change-id="ct2"/> ones.</text:p>
  <text:p>Call 123-45-6789 for details.<text:note text:id="ftn1" text:note-class="footnote"><text:note-citation>1</text:note-citation><text:note-body><text:p>Footnote with FOOTSECRET inside.</text:p></text:note-body></text:note></text:p>
  <text:h text:style-name="Heading_20_1" text:outline-level="1">Salary</text:h>
  <text:p>Alice earns SALARYSECRET.<office:annotation><dc:creator>Carol</dc:creator><dc:date>2024-01-03T09:00:00</dc:date><text:p>Comment: COMMENTSECRET</text:p></office:annotation> More text.</text:p>
  <table:table table:name="Pay">
   <table:table-column table:number-columns-repeated="2"/>
   <table:table-row><table:table-cell office:value-type="string"><text:p>Name</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Pay</text:p></table:table-cell></table:table-row>
   <table:table-row><table:table-cell office:value-type="string"><text:p>Alice</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>TABLESECRET</text:p></table:table-cell></table:table-row>
  </table:table>
  <text:h text:style-name="Heading_20_1" text:outline-level="1">Appendix</text:h>
  <text:p>Picture: <draw:frame draw:name="pic1" text:anchor-type="as-char" svg:width="2cm" svg:height="2cm"><draw:image><office:binary-data>{png}</office:binary-data></draw:image></draw:frame></text:p>
  <text:p>The end.</text:p>
 </office:text></office:body>
</office:document>
"""

FODS = """<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
 <office:automatic-styles>
  <style:style style:name="bold" style:family="table-cell"><style:text-properties fo:font-weight="bold"/></style:style>
 </office:automatic-styles>
 <office:body><office:spreadsheet>
  <table:table table:name="Payroll">
   <table:table-row>{header}</table:table-row>
   {rows}
   <table:table-row><table:table-cell table:style-name="bold" table:number-columns-spanned="3" office:value-type="string"><text:p>MERGEDSECRET</text:p></table:table-cell><table:covered-table-cell/><table:covered-table-cell/></table:table-row>
  </table:table>
  <table:table table:name="Secret Sheet">
   <table:table-row><table:table-cell office:value-type="string"><text:p>SHEETSECRET</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Sales</text:p></table:table-cell></table:table-row>
  </table:table>
  <table:table table:name="Public">
   <table:table-row><table:table-cell office:value-type="string"><text:p>Everyone can read this</text:p></table:table-cell><table:table-cell office:value-type="string"><text:p>Sales</text:p></table:table-cell></table:table-row>
  </table:table>
 </office:spreadsheet></office:body>
</office:document>
"""


def _s(text):
    return f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'


def _n(v):
    return f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>'


def _f(formula, v):
    return (
        f'<table:table-cell table:formula="of:={formula}" office:value-type="float" office:value="{v}">'
        f"<text:p>{v}</text:p></table:table-cell>"
    )


def write_fods(path: Path) -> Path:
    header = "".join(_s(h) for h in ("Name", "Dept", "Salary", "Bonus"))
    rows = []
    for i, (n, sal) in enumerate([("Alice", 51234), ("Bob", 62345), ("Carol", 73456)], 2):
        rows.append(f"<table:table-row>{_s(n)}{_s('Sales')}{_n(sal)}{_f(f'[.C{i}]*2', sal * 2)}</table:table-row>")
    path.write_text(FODS.format(header=header, rows="\n".join(rows)))
    return path


def write_fodt(path: Path) -> Path:
    path.write_text(FODT.format(png=base64.b64encode(png(7, 32)).decode()))
    return path
