"""Protected documents stay valid: LibreOffice (headless) renders them to PDF showing the
placeholders and the note, for documents from python-docx/openpyxl and from LibreOffice itself.
Also records what survives a LibreOffice save (docs/indoc.md §7)."""

from __future__ import annotations

import pytest
from officekit import leaks, members, needs_lo, pdf_text, png, soffice_convert

from c11.errors import IntegrityError
from c11.indoc import api

pytestmark = needs_lo

NOTE = "Salaries are confidential; ask HR"

SECRETS = [
    "SALARYSECRET",
    "TABLESECRET",
    "INLINESECRET",
    "HEADERSECRET",
    "FOOTSECRET",
    "COMMENTSECRET",
    "DELETEDSECRET",
    "INSERTEDSECRET",
    "MERGEDSECRET",
    "SHEETSECRET",
    "123-45-6789",
]

CASES = {
    # name: (corpus key, selectors, matches)
    "gen-mixed.docx": (
        "gen_docx",
        ['heading:"Salary"', "image:1", "table:2"],
        ["INLINESECRET", "HEADERSECRET", r"\d{3}-\d\d-\d{4}"],
    ),
    "gen-body.docx": ("gen_docx", ["body"], ["HEADERSECRET"]),
    "lo-mixed.docx": ("lo_docx", ["image:1", "table:1"], [r"[A-Z]+SECRET", r"\d{3}-\d\d-\d{4}"]),
    "lo-body.docx": ("lo_docx", ["body"], ["HEADERSECRET"]),
    "gen.xlsx": ("gen_xlsx", ["column:Salary", "Payroll!A6", "sheet:Secret Sheet"], []),
    "lo.xlsx": ("lo_xlsx", ["column:Salary", "Payroll!D2:D4", "sheet:Secret Sheet"], ["MERGED"]),
}


@pytest.fixture(scope="session")
def rendered(workdir, lo_profile, lo_docs, gen_docx, gen_xlsx, alice):
    """Every case protected, and all of them rendered to PDF in one LibreOffice run."""
    sources = {"gen_docx": gen_docx, "gen_xlsx": gen_xlsx, "lo_docx": lo_docs["docx"], "lo_xlsx": lo_docs["xlsx"]}
    d = workdir / "protected"
    d.mkdir(exist_ok=True)
    out = {}
    for name, (src, sels, matches) in CASES.items():
        p = d / name
        api.protect_document(sources[src], sels, [], alice, note=NOTE, matches=matches, output=p, force=True)
        out[name] = (sources[src], p)
    soffice_convert([p for _, p in out.values()], "pdf", workdir / "pdf", lo_profile)
    return {name: (src, p, workdir / "pdf" / (p.stem + ".pdf")) for name, (src, p) in out.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_renders_placeholders_and_note(rendered, name):
    _, protected, pdf = rendered[name]
    assert pdf.exists(), f"LibreOffice could not open {protected.name}"
    text = " ".join(pdf_text(pdf).split())
    assert "Protected with c11" in text
    assert NOTE in text
    for s in SECRETS:
        assert s not in text, s


@pytest.mark.parametrize("name", list(CASES))
def test_no_secret_in_any_member(rendered, name):
    src, protected, _ = rendered[name]
    data = protected.read_bytes()
    found = leaks(data, SECRETS)
    # LibreOffice's own .docx keeps the picture we protect; python-docx's too
    assert not found, found
    if name.endswith(".docx"):
        pics = [v for k, v in members(src.read_bytes()).items() if k.startswith("word/media/")]
        for pic in pics:
            assert not leaks(data, [pic[60:120]])


@pytest.mark.parametrize("name", list(CASES))
def test_unprotect_restores(rendered, name, alice):
    src, protected, _ = rendered[name]
    res = api.unprotect_document(protected, [alice])
    assert res.closed == []
    a, b = members(src.read_bytes()), members(res.data)
    assert list(a) == list(b)
    for k in a:
        assert a[k] == b[k], k


def test_libreoffice_corpus_has_the_features(lo_docs):
    """The LibreOffice-written corpus really contains what it claims to test."""
    m = members(lo_docs["docx"].read_bytes())
    doc = m["word/document.xml"]
    assert b"<w:ins " in doc and b"<w:del " in doc and b"<w:tbl>" in doc
    assert any(k.startswith("word/footnotes") for k in m) and any(k.startswith("word/comments") for k in m)
    assert any(k.startswith("word/header") for k in m) and any(k.startswith("word/media/") for k in m)
    x = members(lo_docs["xlsx"].read_bytes())
    sheet = x["xl/worksheets/sheet1.xml"]
    assert b"<mergeCell " in sheet and b"<f" in sheet and b't="s"' in sheet
    assert png(7, 32)[:8] in m[next(k for k in m if k.startswith("word/media/"))]


def test_after_libreoffice_save(rendered, workdir, lo_profile, alice):
    """What a LibreOffice save keeps: the protected content stays protected (no secret comes
    back), and unprotecting then fails with a clear error instead of guessing (docs §7)."""
    _, protected, _ = rendered["gen-mixed.docx"]
    _, xprotected, _ = rendered["gen.xlsx"]
    out = workdir / "resaved"
    soffice_convert([protected], "docx:MS Word 2007 XML", out, lo_profile)
    soffice_convert([xprotected], "xlsx:Calc MS Excel 2007 XML", out, lo_profile)
    for p in (out / protected.name, out / xprotected.name):
        data = p.read_bytes()
        assert not leaks(data, SECRETS)
        with pytest.raises(IntegrityError):
            api.unprotect_document(p, [alice])


def test_partial_unprotect_renders(workdir, lo_profile, gen_docx, gen_xlsx, alice, bob):
    """A document opened by a reader who may see only some parts is still valid."""
    d = workdir / "partial"
    d.mkdir(exist_ok=True)
    outs = []
    for src, sels in (
        (gen_docx, ["table:1", f"table:2=>{bob.public.line()}"]),
        (gen_xlsx, ["column:Salary", f"sheet:Secret Sheet=>{bob.public.line()}"]),
    ):
        protected = api.protect_document(src, sels, [], alice, note=NOTE)
        res = api.unprotect_document(protected, [bob], format=src.suffix)
        assert len(res.opened) == 1 and len(res.closed) >= 1
        p = d / f"partial-{src.suffix[1:]}{src.suffix}"
        p.write_bytes(res.data)
        outs.append(p)
    soffice_convert(outs, "pdf", d / "pdf", lo_profile)
    docx_text = " ".join(pdf_text(d / "pdf" / "partial-docx.pdf").split())
    assert "TABLE2SECRET" in docx_text and "TABLESECRET" not in docx_text and NOTE in docx_text
    assert "Protected with c11" in docx_text
    xlsx_text = " ".join(pdf_text(d / "pdf" / "partial-xlsx.pdf").split())
    assert "SHEETSECRET" in xlsx_text and "51234" not in xlsx_text and "Protected w" in xlsx_text  # narrow column
