"""Excel (.xlsx) in-document protection: cells, ranges, columns, sheets, matches; exact restore,
shared strings, formulas, merged cells, tampering and recipients."""

from __future__ import annotations

import io
import zipfile

import pytest
from lxml import etree
from officekit import leaks, members

from c11.errors import IntegrityError, NoMatchingKeyError, UsageError
from c11.indoc import _ooxml as ox
from c11.indoc import api
from c11.indoc.xlsx import NS

S = f"{{{NS}}}"


def protect(data, sels, alice, **kw):
    return api.protect_document(data, sels, kw.pop("recipients", []), alice, format=".xlsx", **kw)


def unprotect(data, ids):
    return api.unprotect_document(data, ids, format=".xlsx")


def assert_same_package(a: bytes, b: bytes):
    za, zb = zipfile.ZipFile(io.BytesIO(a)), zipfile.ZipFile(io.BytesIO(b))
    assert za.namelist() == zb.namelist()
    for n in za.namelist():
        assert za.read(n) == zb.read(n), n


def edit(data: bytes, member: str, fn) -> bytes:
    pkg = ox.Package(data)
    root = ox.parse_xml(pkg.read(member))
    fn(root)
    pkg.set(member, etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))
    return pkg.to_bytes()


def cell(root, ref):
    return next(c for c in root.iter(S + "c") if c.get("r") == ref)


@pytest.mark.parametrize(
    "sels,matches,gone,kept",
    [
        (["Payroll!C2:C4"], [], ["51234", "62345", "73456"], ["Alice", "Salary"]),
        (["column:Salary"], [], ["51234", "62345", "73456"], ["Salary"]),
        (["Payroll!A6"], [], ["MERGEDSECRET"], ["Alice"]),
        (["sheet:Secret Sheet"], [], ["SHEETSECRET", "42424242"], ["Everyone can read this"]),
        (["Payroll!D2:D4"], [], ["C2*0.1", "C3*0.1"], ["51234"]),
        (["B2"], [], [], ["Alice"]),
        ([], ["SECRET"], ["MERGEDSECRET", "SHEETSECRET"], ["Alice"]),
        (["Payroll!C:C", "'Secret Sheet'!A1:B2"], [], ["51234", "SHEETSECRET", "42424242"], ["Alice"]),
    ],
)
def test_roundtrip_generated(gen_xlsx, alice, sels, matches, gone, kept):
    original = gen_xlsx.read_bytes()
    out = protect(original, sels, alice, matches=matches, note="Ask payroll")
    assert not leaks(out, gone)
    sheets = b"".join(v for k, v in members(out).items() if k.startswith("xl/"))
    for k in kept:
        assert k.encode() in sheets, k
    assert b"Protected with c11" in sheets and b"Ask payroll" in sheets
    res = unprotect(out, [alice])
    assert res.closed == []
    assert_same_package(original, res.data)


@pytest.mark.parametrize(
    "sels,matches,gone",
    [
        (["column:Salary"], [], ["51234", "62345", "73456"]),
        (["Payroll!A5", "sheet:Secret Sheet"], [], ["MERGEDSECRET", "SHEETSECRET"]),
        (["Payroll!D2:D4"], [], ["C2*2", "102468"]),
        ([], ["SECRET"], ["MERGEDSECRET", "SHEETSECRET"]),
    ],
)
def test_roundtrip_libreoffice(lo_docs, alice, sels, matches, gone):
    """A workbook LibreOffice wrote: shared strings, formulas, merged cells."""
    original = lo_docs["xlsx"].read_bytes()
    out = protect(original, sels, alice, matches=matches)
    assert not leaks(out, gone)
    assert_same_package(original, unprotect(out, [alice]).data)


def test_shared_strings(lo_docs, alice):
    original = lo_docs["xlsx"].read_bytes()
    out = protect(original, ["Payroll!B2", "sheet:Secret Sheet"], alice)
    sst = members(out)["xl/sharedStrings.xml"]
    # "Sales" is still used by unprotected cells: it stays; SHEETSECRET is blanked
    assert b"Sales" in sst and b"SHEETSECRET" not in sst
    assert sst.count(b"<si>") == members(original)["xl/sharedStrings.xml"].count(b"<si>")


def test_shared_strings_rewritten_by_editor(lo_docs, alice):
    """An editor that rebuilds sharedStrings.xml: restored cells get their text inline."""
    original = lo_docs["xlsx"].read_bytes()
    out = protect(original, ["sheet:Secret Sheet"], alice)

    def rebuild(root):
        root.set("count", "99")

    out = edit(out, "xl/sharedStrings.xml", rebuild)
    res = unprotect(out, [alice])
    sheet = members(res.data)["xl/worksheets/sheet2.xml"]
    assert b"SHEETSECRET" in sheet and b'r="A1"' in sheet


def test_formula_cells_drop_calc_chain(gen_xlsx, alice):
    import openpyxl

    wb = openpyxl.load_workbook(gen_xlsx)
    buf = io.BytesIO()
    wb.save(buf)
    original = buf.getvalue()
    # give the workbook a calculation chain, as Excel writes one
    pkg = ox.Package(original)
    pkg.set(
        "xl/calcChain.xml",
        f'<?xml version="1.0"?><calcChain xmlns="{NS}"><c r="D2" i="1"/><c r="D3"/></calcChain>'.encode(),
    )
    ct = pkg.read("[Content_Types].xml").replace(
        b"</Types>",
        b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.calcChain+xml"/></Types>',
    )
    pkg.set("[Content_Types].xml", ct)
    rels = pkg.read("xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>",
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/calcChain" Target="calcChain.xml"/></Relationships>',
    )
    pkg.set("xl/_rels/workbook.xml.rels", rels)
    original = pkg.to_bytes()
    out = protect(original, ["Payroll!D2:D4"], alice)
    m = members(out)
    assert "xl/calcChain.xml" not in m and b"calcChain" not in m["[Content_Types].xml"]
    assert_same_package(original, unprotect(out, [alice]).data)


def test_parts_with_their_own_recipients(lo_docs, alice, bob):
    original = lo_docs["xlsx"].read_bytes()
    out = protect(original, ["column:Salary", f"sheet:Secret Sheet=>{bob.public.line()}"], alice, recipients=[])
    res = unprotect(out, [bob])
    assert res.opened == ["'Secret Sheet'!A1:XFD1048576"] and res.closed == ["Payroll!C2:C1048576"]
    m = members(res.data)
    assert b"SHEETSECRET" in m["xl/sharedStrings.xml"] and b"51234" not in m["xl/worksheets/sheet1.xml"]
    res2 = unprotect(res.data, [alice])
    assert_same_package(original, res2.data)
    with pytest.raises(NoMatchingKeyError):
        unprotect(out, [alice.__class__.generate("x", kem="x25519")])


def test_edit_placeholder_cell(gen_xlsx, alice):
    out = protect(gen_xlsx.read_bytes(), ["Payroll!C2:C4"], alice)

    def change(root):
        c = cell(root, "C3")
        next(c.iter(S + "t")).text = "123"

    with pytest.raises(IntegrityError, match="placeholder"):
        unprotect(edit(out, "xl/worksheets/sheet1.xml", change), [alice])


def test_moved_cells(gen_xlsx, alice):
    """Cutting the protected cells elsewhere (their addresses change) is refused."""
    out = protect(gen_xlsx.read_bytes(), ["Payroll!C2"], alice)

    def move(root):
        c = cell(root, "C2")
        c.set("r", "E2")

    with pytest.raises(IntegrityError):
        unprotect(edit(out, "xl/worksheets/sheet1.xml", move), [alice])


def test_renamed_sheet(gen_xlsx, alice):
    out = protect(gen_xlsx.read_bytes(), ["sheet:Secret Sheet"], alice)

    def rename(root):
        for sh in root.iter(S + "sheet"):
            if sh.get("name") == "Secret Sheet":
                sh.set("name", "Renamed")

    with pytest.raises(IntegrityError, match="renamed or deleted"):
        unprotect(edit(out, "xl/workbook.xml", rename), [alice])


def test_edits_elsewhere_survive(gen_xlsx, alice):
    out = protect(gen_xlsx.read_bytes(), ["Payroll!C2:C4"], alice)

    def change(root):
        next(cell(root, "A2").iter(S + "t")).text = "Alicia"

    res = unprotect(edit(out, "xl/worksheets/sheet1.xml", change), [alice])
    sheet = members(res.data)["xl/worksheets/sheet1.xml"]
    assert b"Alicia" in sheet and b"51234" in sheet


def test_errors(gen_xlsx, alice):
    original = gen_xlsx.read_bytes()
    with pytest.raises(UsageError, match="no sheet named"):
        protect(original, ["sheet:Nope"], alice)
    with pytest.raises(UsageError, match="no column"):
        protect(original, ["column:Nope"], alice)
    with pytest.raises(UsageError, match="matches no cell"):
        protect(original, ["Payroll!Z100"], alice)
    with pytest.raises(UsageError, match="does not apply to Excel"):
        protect(original, ["table:1"], alice)
    out = protect(original, ["Payroll!A2"], alice)
    with pytest.raises(UsageError, match="already protected"):
        protect(out, ["Payroll!A3"], alice)


def _envelope_edit(data: bytes, fn) -> bytes:
    import json

    from c11.indoc.parts import Envelope

    pkg = ox.Package(data)
    where, prot = ox.find_protection(pkg)
    env = json.loads(prot.envelope.to_json())
    fn(env)
    prot.envelope = Envelope.from_json(json.dumps(env).encode())
    pkg.set(where, prot.to_xml())
    return pkg.to_bytes()


def test_swapped_and_duplicated_parts(gen_xlsx, alice):
    out = protect(gen_xlsx.read_bytes(), ["Payroll!C2", "Payroll!C3"], alice)

    def swap(env):
        a, b = env["parts"][:2]
        a["ct"], b["ct"], a["nonce"], b["nonce"] = b["ct"], a["ct"], b["nonce"], a["nonce"]

    with pytest.raises(IntegrityError, match="does not authenticate"):
        unprotect(_envelope_edit(out, swap), [alice])

    def relabel(env):  # C3's part claims to be C2's: wrong placeholder set and AAD
        env["parts"][1]["loc"] = "Payroll!C4"

    with pytest.raises(IntegrityError):
        unprotect(_envelope_edit(out, relabel), [alice])

    import json

    from c11.indoc.parts import Envelope

    env = json.loads(_envelope_json(out))
    env["parts"].append(dict(env["parts"][0]))
    with pytest.raises(IntegrityError, match="twice"):
        Envelope.from_json(json.dumps(env).encode())


def _envelope_json(data: bytes) -> bytes:
    from c11.indoc.xlsx import HANDLER

    return HANDLER.read_envelope(data).to_json()


def test_cells_without_references(gen_xlsx, alice):
    """`r` is optional on rows and cells: positions are then counted."""
    import re

    pkg = ox.Package(gen_xlsx.read_bytes())
    sheet = pkg.read("xl/worksheets/sheet1.xml")
    sheet = re.sub(rb'(<c) r="[A-Z]+\d+"', rb"\1", sheet)
    sheet = re.sub(rb'(<row) r="\d+"', rb"\1", sheet)
    pkg.set("xl/worksheets/sheet1.xml", sheet)
    original = pkg.to_bytes()
    out = protect(original, ["Payroll!C2:C4"], alice)
    assert not leaks(out, ["51234", "62345", "73456"])
    assert_same_package(original, unprotect(out, [alice]).data)
