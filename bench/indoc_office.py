#!/usr/bin/env python3
"""Benchmark of in-document protection for Word and Excel (issue 6).

    .venv/bin/python bench/indoc_office.py

Targets: protecting 1,000 paragraphs of a 200-page .docx, and unprotecting it, each under 2 s;
protecting 100,000 cells of an .xlsx under 5 s. The documents are generated here (a python-docx
skeleton with a large body; an openpyxl workbook), then timed with the SDK (`c11.indoc.api`).
"""

from __future__ import annotations

import io
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from c11.indoc import api  # noqa: E402
from c11.keys.identity import Identity  # noqa: E402

LOREM = (
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut "
    "labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco."
)


def big_docx(paragraphs: int = 6000) -> bytes:
    """About 200 pages: 6,000 paragraphs of three runs each, a table every 100 paragraphs."""
    import docx

    d = docx.Document()
    d.add_paragraph("seed")
    buf = io.BytesIO()
    d.save(buf)
    z = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    xml = z.read("word/document.xml").decode()
    body = []
    for i in range(paragraphs):
        if i % 100 == 99:
            body.append(
                '<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr><w:tblGrid><w:gridCol/></w:tblGrid>'
                f"<w:tr><w:tc><w:p><w:r><w:t>cell {i}</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
            )
        body.append(
            f'<w:p><w:pPr><w:jc w:val="both"/></w:pPr><w:r><w:t xml:space="preserve">Paragraph {i}. </w:t></w:r>'
            f"<w:r><w:rPr><w:b/></w:rPr><w:t>Account {i:08d}</w:t></w:r>"
            f'<w:r><w:t xml:space="preserve"> {LOREM}</w:t></w:r></w:p>'
        )
    start = xml.index("<w:body>") + len("<w:body>")
    end = xml.index("<w:sectPr")
    xml = xml[:start] + "".join(body) + xml[end:]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as w:
        for info in z.infolist():
            w.writestr(info, xml.encode() if info.filename == "word/document.xml" else z.read(info))
    return out.getvalue()


def big_xlsx(rows: int = 10000, cols: int = 10) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Data")
    ws.append([f"Col{c}" for c in range(cols)])
    for r in range(rows):
        ws.append([r * cols + c if c % 3 else f"text {r}-{c}" for c in range(cols)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def timed(label: str, fn, limit: float | None = None):
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    verdict = "" if limit is None else ("  ok" if dt < limit else f"  OVER the {limit:g} s target")
    print(f"  {label:<58} {dt:7.3f} s{verdict}")
    return out


def main() -> int:
    me = Identity.generate("bench", kem="x25519")
    print("building a 200-page .docx (6,000 paragraphs) and a 100,000-cell .xlsx ...")
    docx_bytes = big_docx()
    xlsx_bytes = big_xlsx()
    print(f"  docx {len(docx_bytes) / 1e6:.1f} MB, xlsx {len(xlsx_bytes) / 1e6:.1f} MB")

    print(".docx")
    every = ",".join(str(1 + 6 * i) for i in range(1000))  # 1,000 separate paragraphs = 1,000 parts
    prot = timed(
        "protect 1,000 separate paragraphs (1,000 parts)",
        lambda: api.protect_document(docx_bytes, [f"paragraph:{every}"], [], me, format=".docx"),
        2,
    )
    timed("unprotect them", lambda: api.unprotect_document(prot, [me], format=".docx"), 2)
    prot = timed(
        "protect paragraphs 1-1000 (one part)",
        lambda: api.protect_document(docx_bytes, ["paragraph:1-1000"], [], me, format=".docx"),
        2,
    )
    timed("unprotect it", lambda: api.unprotect_document(prot, [me], format=".docx"), 2)
    prot = timed(
        "protect 1,000 regex matches (Account 0000xxxx)",
        lambda: api.protect_document(docx_bytes, [], [], me, matches=[r"Account 00000\d\d\d\b"], format=".docx"),
        2,
    )
    timed("unprotect them", lambda: api.unprotect_document(prot, [me], format=".docx"), 2)

    print(".xlsx")
    prot = timed(
        "protect 100,000 cells (Data!A2:J10001, one part)",
        lambda: api.protect_document(xlsx_bytes, ["Data!A2:J10001"], [], me, format=".xlsx"),
        5,
    )
    timed("unprotect them", lambda: api.unprotect_document(prot, [me], format=".xlsx"), 5)
    cols = [f"column:Col{c}" for c in range(10)]
    prot = timed(
        "protect 100,000 cells (10 columns by header, 10 parts)",
        lambda: api.protect_document(xlsx_bytes, cols, [], me, format=".xlsx"),
        5,
    )
    timed("unprotect them", lambda: api.unprotect_document(prot, [me], format=".xlsx"), 5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
