"""Word (.docx) in-document protection: selectors, exact restore, leaks, tampering, recipients."""

from __future__ import annotations

import copy
import io
import json
import zipfile

import pytest
from lxml import etree
from officekit import leaks, members, png

from c11.errors import IntegrityError, NoMatchingKeyError, UsageError
from c11.indoc import _ooxml as ox
from c11.indoc import api
from c11.indoc.docx import HANDLER, W

WT = f"{{{W}}}"


def protect(data, sels, alice, **kw):
    return api.protect_document(data, sels, kw.pop("recipients", []), alice, format=".docx", **kw)


def unprotect(data, ids):
    return api.unprotect_document(data, ids, format=".docx")


def assert_same_package(a: bytes, b: bytes):
    za, zb = zipfile.ZipFile(io.BytesIO(a)), zipfile.ZipFile(io.BytesIO(b))
    assert za.namelist() == zb.namelist()
    for n in za.namelist():
        assert za.read(n) == zb.read(n), n


def doc_xml(data: bytes, member="word/document.xml") -> bytes:
    return members(data)[member]


def edit(data: bytes, member: str, fn) -> bytes:
    pkg = ox.Package(data)
    root = ox.parse_xml(pkg.read(member))
    fn(root)
    pkg.set(member, etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True))
    return pkg.to_bytes()


def c11_sdts(root):
    out = []
    for sdt in root.iter(WT + "sdt"):
        tag = sdt.find(f"{WT}sdtPr/{WT}tag")
        if tag is not None and tag.get(WT + "val", "").startswith("c11:"):
            out.append(sdt)
    return out


@pytest.mark.parametrize(
    "sels,matches,gone,kept",
    [
        (
            ["body"],
            [],
            ["SALARYSECRET", "TABLESECRET", "INLINESECRET", "123-45-6789", "Appendix line"],
            ["HEADERSECRET"],
        ),
        (["paragraph:3-4"], [], ["123-45-6789", "Salary<"], ["Intro paragraph", "SALARYSECRET"]),
        (
            ['heading:"Salary"'],
            [],
            ["SALARYSECRET", "SALARYSECRET2", "TABLESECRET"],
            ["Salary<", "Other<", "Appendix line"],
        ),
        (["table:2"], [], ["TABLE2SECRET"], ["TABLESECRET", "Second table"]),
        (["table:1-2"], [], ["TABLE2SECRET", "TABLESECRET"], ["Second table"]),
        (["image:1"], [], [], ["INLINESECRET"]),
        (
            [],
            ["INLINESECRET", r"\d{3}-\d\d-\d{4}"],
            ["INLINESECRET", "123-45-6789"],
            ["Public words and ", "bold ", " text", "phone 555-0100"],
        ),
        (["paragraph:2", "match:HEADERSECRET"], [], ["HEADERSECRET", "Intro paragraph"], ["Footer public"]),
    ],
)
def test_roundtrip(gen_docx, alice, sels, matches, gone, kept):
    original = gen_docx.read_bytes()
    out = protect(original, sels, alice, matches=matches, note="Ask HR")
    assert not leaks(out, gone)
    body = b"".join(v for k, v in members(out).items() if k.startswith("word/"))
    for k in kept:
        assert k.encode() in body, k
    assert b"Protected with c11" in doc_xml(out)
    assert b"Ask HR" in doc_xml(out)
    res = unprotect(out, [alice])
    assert res.closed == [] and len(res.opened) >= 1
    assert_same_package(original, res.data)


def test_image_bytes_removed(gen_docx, alice):
    original = gen_docx.read_bytes()
    out = protect(original, ["image:1"], alice)
    assert not leaks(out, [png(1)[40:80]])
    assert members(out)["word/media/image1.png"] == ox.PLACEHOLDER_PNG
    assert_same_package(original, unprotect(out, [alice]).data)


def test_docprops_and_every_story(gen_docx, alice):
    original = gen_docx.read_bytes()
    out = protect(original, [], alice, matches=["Quarterly", "HEADERSECRET", "SECRET"])
    assert not leaks(out, ["Quarterly", "SECRET"])
    locs = [p["location"] for p in api.inspect_document(out, format=".docx")["parts"]]
    assert "docProps/core.xml#title[1]" in locs
    assert any(loc.startswith("word/header") for loc in locs)
    assert_same_package(original, unprotect(out, [alice]).data)


def test_inspect(gen_docx, alice, bob):
    out = protect(
        gen_docx.read_bytes(), ["table:1", f"table:2=>{bob.public.line()}"], alice, recipients=[], note="for HR"
    )
    info = api.inspect_document(out, format=".docx")
    assert info["note"] == "for HR" and info["format"] == "docx" and info["signature_valid"]
    assert [p["location"] for p in info["parts"]] == [
        "word/document.xml#1",
        "word/document.xml#2",
        "thumbnail:docProps/thumbnail.jpeg",
    ]
    fps = [sorted(r["fingerprint"] for r in g["recipients"]) for g in info["groups"]]
    assert sorted(fps) == sorted([[alice.fingerprint], sorted([alice.fingerprint, bob.fingerprint])])


def test_parts_with_their_own_recipients(gen_docx, alice, bob, carol):
    original = gen_docx.read_bytes()
    out = protect(
        original, ['heading:"Salary"', f"table:2=>{bob.public.line()}"], alice, recipients=[carol.public], note="n"
    )
    # bob may open only table 2
    res = unprotect(out, [bob])
    assert res.opened == ["word/document.xml#2"]
    assert res.closed == ["word/document.xml#1", "thumbnail:docProps/thumbnail.jpeg"]
    assert b"TABLE2SECRET" in doc_xml(res.data) and b"SALARYSECRET" not in doc_xml(res.data)
    assert [p["location"] for p in api.inspect_document(res.data, format=".docx")["parts"]] == res.closed
    # carol opens the rest of bob's result; the preview picture is only for readers of every
    # part (here the sender), who then gets the original back
    res2 = unprotect(res.data, [carol])
    assert res2.closed == ["thumbnail:docProps/thumbnail.jpeg"]
    assert b"SALARYSECRET" in doc_xml(res2.data)
    assert_same_package(original, unprotect(res2.data, [alice]).data)
    # a stranger opens nothing
    with pytest.raises(NoMatchingKeyError):
        unprotect(out, [carol.__class__.generate("x", kem="x25519")])


def test_reencrypt_adds_recipient(gen_docx, alice, bob, tmp_path):
    p = tmp_path / "r.docx"
    p.write_bytes(protect(gen_docx.read_bytes(), ["table:1"], alice))
    with pytest.raises(NoMatchingKeyError):
        api.unprotect_document(p, [bob])
    api.reencrypt_document(p, alice, add=[bob.public])
    assert api.unprotect_document(p, [bob]).closed == []
    api.reencrypt_document(p, alice, remove=[bob.fingerprint[:12]])
    with pytest.raises(NoMatchingKeyError):
        api.unprotect_document(p, [bob])


# ---------------------------------------------------------------- tampering


@pytest.fixture(scope="module")
def two_parts(gen_docx, alice):
    return protect(gen_docx.read_bytes(), ["paragraph:2", "paragraph:5"], alice)


def test_swap_parts(two_parts, alice):
    def swap(root):
        a, b = c11_sdts(root)
        pa, pb = a.getparent(), b.getparent()
        ia, ib = pa.index(a), pb.index(b)
        pb.insert(ib, copy.deepcopy(a))
        pa.insert(ia, copy.deepcopy(b))
        pa.remove(a)
        pb.remove(b)

    with pytest.raises(IntegrityError, match="moved or swapped"):
        unprotect(edit(two_parts, "word/document.xml", swap), [alice])


def test_swap_tags(two_parts, alice):
    def swap(root):
        a, b = c11_sdts(root)
        ta, tb = (x.find(f"{WT}sdtPr/{WT}tag") for x in (a, b))
        va, vb = ta.get(WT + "val"), tb.get(WT + "val")
        ta.set(WT + "val", vb)
        tb.set(WT + "val", va)

    with pytest.raises(IntegrityError, match="moved or swapped"):
        unprotect(edit(two_parts, "word/document.xml", swap), [alice])


def test_duplicate_part(two_parts, alice):
    def dup(root):
        a = c11_sdts(root)[0]
        a.addnext(copy.deepcopy(a))

    with pytest.raises(IntegrityError, match="twice"):
        unprotect(edit(two_parts, "word/document.xml", dup), [alice])


def test_delete_part(two_parts, alice):
    def delete(root):
        a = c11_sdts(root)[1]
        a.getparent().remove(a)

    with pytest.raises(IntegrityError, match="missing"):
        unprotect(edit(two_parts, "word/document.xml", delete), [alice])


def test_edit_placeholder(two_parts, alice):
    def change(root):
        t = next(c11_sdts(root)[0].iter(WT + "t"))
        t.text = "nothing to see here"

    with pytest.raises(IntegrityError, match="placeholder .* was edited"):
        unprotect(edit(two_parts, "word/document.xml", change), [alice])


def test_move_part_to_header(two_parts, alice):
    moved = {}

    def take(root):
        a = c11_sdts(root)[0]
        moved["el"] = copy.deepcopy(a)
        a.getparent().remove(a)

    data = edit(two_parts, "word/document.xml", take)
    header = next(n for n in members(data) if n.startswith("word/header"))
    data = edit(data, header, lambda root: root.append(moved["el"]))
    with pytest.raises(IntegrityError, match="moved"):
        unprotect(data, [alice])


def _envelope_edit(data: bytes, fn) -> bytes:
    pkg = ox.Package(data)
    where, prot = ox.find_protection(pkg)
    env = json.loads(prot.envelope.to_json())
    fn(env)
    from c11.indoc.parts import Envelope

    prot.envelope = Envelope.from_json(json.dumps(env).encode())
    pkg.set(where, prot.to_xml())
    return pkg.to_bytes()


def test_swap_ciphertexts(two_parts, alice):
    def swap(env):
        a, b = env["parts"][:2]
        a["ct"], b["ct"], a["nonce"], b["nonce"] = b["ct"], a["ct"], b["nonce"], a["nonce"]

    with pytest.raises(IntegrityError, match="does not authenticate"):
        unprotect(_envelope_edit(two_parts, swap), [alice])


def test_edited_note(two_parts, alice):
    def note(env):
        env["note"] = "changed"

    with pytest.raises(IntegrityError, match="does not authenticate"):
        unprotect(_envelope_edit(two_parts, note), [alice])


def test_part_from_another_document(gen_docx, two_parts, alice):
    other = protect(gen_docx.read_bytes(), ["paragraph:2", "paragraph:5"], alice)
    other_env = json.loads(HANDLER.read_envelope(other).to_json())

    def transplant(env):
        env["parts"][0] = other_env["parts"][0]

    with pytest.raises(IntegrityError, match="does not authenticate"):
        unprotect(_envelope_edit(two_parts, transplant), [alice])

    # the other document's whole envelope does not fit either
    def whole(env):
        env.clear()
        env.update(other_env)

    out = _envelope_edit(two_parts, whole)
    with pytest.raises(IntegrityError):
        unprotect(out, [alice])


def test_edits_elsewhere_survive(two_parts, gen_docx, alice):
    def add(root):
        body = root.find(WT + "body")
        p = etree.SubElement(body, WT + "p")
        r = etree.SubElement(p, WT + "r")
        etree.SubElement(r, WT + "t").text = "Added by a reader"
        body.remove(p)
        body.insert(1, p)

    res = unprotect(edit(two_parts, "word/document.xml", add), [alice])
    xml = doc_xml(res.data)
    assert b"Added by a reader" in xml and b"123-45-6789" in xml and b"c11:" not in xml


# ---------------------------------------------------------------- errors


def test_errors(gen_docx, alice, tmp_path):
    original = gen_docx.read_bytes()
    with pytest.raises(UsageError, match="not a valid Office document"):
        protect(b"hello", ["body"], alice)
    with pytest.raises(UsageError, match="matches nothing"):
        protect(original, ["table:9"], alice)
    with pytest.raises(UsageError, match="does not apply to Word"):
        protect(original, ["sheet:Payroll"], alice)
    with pytest.raises(UsageError, match="no heading"):
        protect(original, ['heading:"Nope"'], alice)
    with pytest.raises(UsageError, match="no text matches"):
        protect(original, [], alice, matches=["ZZZNOPE"])
    out = protect(original, ["table:1"], alice)
    with pytest.raises(UsageError, match="already protected"):
        protect(out, ["table:2"], alice)
    with pytest.raises(IntegrityError, match="no c11 protection"):
        unprotect(original, [alice])
    with pytest.raises(UsageError, match="does not support"):
        api.protect_document(original, ["body"], [], alice, format=".odt")


@pytest.mark.parametrize("seed", range(12))
def test_random_runs_and_matches(tmp_path, alice, seed):
    """Secrets split across runs with different formatting, several per paragraph, in tables:
    none survives, the readable text around them does, and the document comes back exactly."""
    import random

    import docx

    rnd = random.Random(seed)
    d = docx.Document()
    secrets = []
    for i in range(rnd.randrange(3, 9)):
        target = d.add_table(rows=1, cols=1).cell(0, 0).paragraphs[0] if rnd.random() < 0.3 else d.add_paragraph()
        words = []
        for j in range(rnd.randrange(1, 5)):
            words.append(f"plain{i}x{j} ")
            if rnd.random() < 0.6:
                secret = f"SECRET{seed}K{i}K{j}"
                secrets.append(secret)
                words.append(secret + " ")
        text = "".join(words)
        pos = 0
        while pos < len(text):  # cut the text into runs at random places
            n = rnd.randrange(1, 12)
            r = target.add_run(text[pos : pos + n])
            r.bold, r.italic = rnd.random() < 0.3, rnd.random() < 0.3
            pos += n
    p = tmp_path / "r.docx"
    d.save(p)
    original = p.read_bytes()
    if not secrets:
        return
    out = protect(original, [], alice, matches=[rf"SECRET{seed}K\d+K\d+"])
    assert not leaks(out, secrets)
    xml = doc_xml(out).decode()
    text = "".join(t.text or "" for t in etree.fromstring(xml.encode()).iter(WT + "t"))
    assert "plain0x0" in text
    assert_same_package(original, unprotect(out, [alice]).data)


@pytest.mark.parametrize(
    "sels,gone,kept",
    [
        (['heading:"Salary"'], ["SALARYSECRET", "TABLESECRET", "COMMENTSECRET"], ["Appendix", "FOOTSECRET"]),
        (["paragraph:3"], ["123-45-6789", "FOOTSECRET"], ["SALARYSECRET", "COMMENTSECRET"]),
        (["paragraph:2"], ["INSERTEDSECRET", "DELETEDSECRET"], ["123-45-6789"]),
        (
            ["body"],
            ["SALARYSECRET", "FOOTSECRET", "COMMENTSECRET", "DELETEDSECRET", "INSERTEDSECRET"],
            ["HEADERSECRET"],
        ),
    ],
)
def test_libreoffice_document(lo_docs, alice, sels, gone, kept):
    """A document LibreOffice wrote: footnotes and comments referenced from a protected span are
    protected with it; tracked insertions and deletions are covered."""
    original = lo_docs["docx"].read_bytes()
    out = protect(original, sels, alice)
    assert not leaks(out, gone)
    everything = b"".join(members(out).values())
    for k in kept:
        assert k.encode() in everything, k
    assert_same_package(original, unprotect(out, [alice]).data)


def test_thumbnail(gen_docx, alice, bob, carol):
    """The saved preview picture shows page 1 as it was: it is protected for the readers of every
    part (here only the sender and carol, who can read both), and restored."""
    original = gen_docx.read_bytes()
    thumb = members(original)["docProps/thumbnail.jpeg"]
    out = protect(
        original, ["table:1", f"table:2=>{bob.public.line()},{carol.public.line()}"], alice, recipients=[carol.public]
    )
    assert members(out)["docProps/thumbnail.jpeg"] == ox.PLACEHOLDER_PNG
    res = unprotect(out, [bob])
    assert "thumbnail:docProps/thumbnail.jpeg" in res.closed
    res = unprotect(out, [carol])
    assert res.closed == [] and members(res.data)["docProps/thumbnail.jpeg"] == thumb
    assert_same_package(original, res.data)
