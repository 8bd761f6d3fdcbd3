"""Parts protected from inside Word (docs/indoc.md §5.1): the `ooxml` entry, checked against the
committed vectors in tests/vectors/indoc-ooxml/ (a document shaped as Word saves what the add-in made).

Unprotecting restores text, tables, the picture and the hyperlink with nothing dangling; partial
opens keep format version 3; an entry kind c11 does not know, or a relationship it does not carry,
is refused with nothing written."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import docx
import pytest
from lxml import etree
from officekit import needs_lo, pdf_text, soffice_convert

from c11.errors import FormatError
from c11.indoc import _flatopc, api
from c11.indoc import _ooxml as ox
from c11.indoc import parts as P
from c11.keys import keyfile

VEC = Path(__file__).resolve().parents[1] / "vectors" / "indoc-ooxml"
KEYS = VEC.parent / "keys"
EXPECTED = json.loads((VEC / "expected.json").read_text())
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


@pytest.fixture(scope="module")
def ids():
    return {
        "alice": keyfile.load(KEYS / "alice.key").unlock(None),
        "bob": keyfile.load(KEYS / "bob.key").unlock(None),
        "carol": keyfile.load(VEC / "carol.key").unlock(None),
    }


def _content(data: bytes) -> tuple[list[str], list[list[str]]]:
    d = docx.Document(io.BytesIO(data))
    return [p.text for p in d.paragraphs], [[c.text for r in t.rows for c in r.cells] for t in d.tables]


def _check_package(data: bytes) -> dict[str, bytes]:
    """Every relationship of the main part resolves, every member has a content type, and no c11 trace is left."""
    z = zipfile.ZipFile(io.BytesIO(data))
    names = set(z.namelist())
    ct = etree.fromstring(z.read("[Content_Types].xml"))
    defaults = {d.get("Extension").lower() for d in ct.findall(f"{{{ox.NS_CT}}}Default")}
    overrides = {o.get("PartName").lstrip("/") for o in ct.findall(f"{{{ox.NS_CT}}}Override")}
    assert overrides <= names, overrides - names  # no content type for a missing member
    for n in names:
        assert n in overrides or n.rsplit(".", 1)[-1].lower() in defaults, n
    rels = etree.fromstring(z.read("word/_rels/document.xml.rels"))
    ids = set()
    for r in rels:
        ids.add(r.get("Id"))
        if r.get("TargetMode") != "External":
            assert ox.resolve_target("word", r.get("Target")) in names, r.get("Target")
    used = set(re.findall(rb'r:(?:id|embed|link)="([^"]+)"', z.read("word/document.xml")))
    assert {u.decode() for u in used} <= ids
    source = set(zipfile.ZipFile(VEC / "source.docx").namelist())
    assert {n for n in names if n.startswith("customXml/")} == {n for n in source if n.startswith("customXml/")}
    assert b"c11" not in z.read("word/document.xml")
    return {n: z.read(n) for n in names}


def test_vector_envelope_is_version_3():
    env = api.handler_for("x.docx").read_envelope((VEC / "protected.docx").read_bytes())
    assert env is not None and env.ooxml
    assert json.loads(env.to_json())["format"] == "c11-parts/v3"
    # an older reader knows only v1/v2 and refuses the envelope instead of dropping the parts' content
    raw = json.loads(env.to_json())
    raw["format"] = "c11-parts/v4"
    with pytest.raises(FormatError, match="unsupported protected-parts format"):
        P.Envelope.from_json(json.dumps(raw).encode())


def test_unprotect_restores_text_tables_picture_and_link(ids):
    res = api.unprotect_document(VEC / "protected.docx", [ids["alice"]])
    assert not res.closed and len(res.opened) == EXPECTED["readers"]["alice"]
    assert _content(res.data) == _content((VEC / "source.docx").read_bytes())
    m = _check_package(res.data)
    pics = [v for n, v in m.items() if n.startswith("word/media/")]
    assert [hashlib.sha256(p).hexdigest() for p in pics] == [EXPECTED["picture_sha256"]]
    rels = m["word/_rels/document.xml.rels"].decode()
    assert f'Target="{EXPECTED["hyperlink"]}" TargetMode="External"' in rels
    doc = m["word/document.xml"]
    assert b"<w:hyperlink" in doc and b"<a:blip" in doc


def test_partial_opens_keep_version_3_then_the_rest_opens(ids, tmp_path):
    protected = (VEC / "protected.docx").read_bytes()
    for secret in EXPECTED["secrets"]:
        assert secret.encode() not in protected
    first = api.unprotect_document(protected, [ids["bob"]], format=".docx")
    assert len(first.opened) == EXPECTED["readers"]["bob"] and len(first.closed) == 1
    left = api.handler_for("x.docx").read_envelope(first.data)
    assert left is not None and left.ooxml and len(left.parts) == 1
    assert b"LINK-SECRET" not in first.data and b"secret-review" not in first.data
    second = api.unprotect_document(first.data, [ids["carol"]], format=".docx")
    assert not second.closed
    assert _content(second.data) == _content((VEC / "source.docx").read_bytes())
    _check_package(second.data)


def test_recipient_change_keeps_version_3(ids, tmp_path):
    path = tmp_path / "doc.docx"
    path.write_bytes((VEC / "protected.docx").read_bytes())
    out = tmp_path / "re.docx"
    api.reencrypt_document(path, ids["alice"], add=[ids["carol"].public], output=out)
    env = api.handler_for("x.docx").read_envelope(out.read_bytes())
    assert env is not None and env.ooxml
    res = api.unprotect_document(out, [ids["carol"]])
    assert not res.closed  # carol now reads the Salaries section and the photo too


def _with_part(ids, entries: list[tuple[str, bytes]]) -> bytes:
    """The vector document with its first part's plaintext replaced (sealed again by alice)."""
    data = (VEC / "protected.docx").read_bytes()
    h = api.handler_for("x.docx")
    env = h.read_envelope(data)
    assert env is not None
    opened = P.open_parts(env, [ids["alice"]])
    parts = [
        P.Part(p.location, ox.pack(entries) if i == 0 else opened.plaintexts[p.location], ox.PLACEHOLDER.encode(), [])
        for i, p in enumerate(env.parts)
    ]
    new = P.seal(parts, [], ids["alice"], note=env.note, doc_id=env.doc_id, ooxml=True)
    return h.write_envelope(data, new)


def test_unknown_entry_kind_is_refused(ids, tmp_path):
    data = _with_part(ids, [("future-kind", b"<x/>")])
    out = tmp_path / "out.docx"
    with pytest.raises(FormatError, match="update c11"):
        api.unprotect_document(data, [ids["alice"]], format=".docx", output=out)
    assert not out.exists()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda x: x.replace(b"/relationships/image", b"/relationships/chart"), "does not carry"),
        # a picture fetched from the web when the document opens (a tracking pixel) is not carried
        (
            lambda x: re.sub(
                rb'(relationships/image" Target=")[^"]+"', rb'\1https://track.example/p.png" TargetMode="External"', x
            ),
            "does not carry",
        ),
        (lambda x: x.replace(b'r:embed="rId1"', b'r:embed="rId77"'), "does not carry"),
        (lambda x: x.replace(b"<pkg:binaryData>", b"<pkg:binaryData>!!", 1), "base64"),
        (lambda x: x.replace(b"pkg:package", b"pkg:pakket"), "flat package"),
    ],
)
def test_bad_flat_packages_are_refused(ids, tmp_path, edit, message):
    flat = _flatopc_with_picture()
    assert edit(flat) != flat
    data = _with_part(ids, [("ooxml", edit(flat))])
    out = tmp_path / "out.docx"
    with pytest.raises(FormatError, match=message):
        api.unprotect_document(data, [ids["alice"]], format=".docx", output=out)
    assert not out.exists()


def _flatopc_with_picture() -> bytes:
    """The second part of the vector (the photo), as the add-in sealed it."""
    keys = keyfile.load(KEYS / "alice.key").unlock(None)
    env = api.handler_for("x.docx").read_envelope((VEC / "protected.docx").read_bytes())
    assert env is not None
    plain = P.open_parts(env, [keys]).plaintexts["word/document.xml#2"]
    return dict(ox.unpack(plain))["ooxml"]


def test_part_1_vector_is_the_first_parts_plaintext(ids):
    env = api.handler_for("x.docx").read_envelope((VEC / "protected.docx").read_bytes())
    assert env is not None
    plain = P.open_parts(env, [ids["alice"]]).plaintexts["word/document.xml#1"]
    assert ox.unpack(plain) == [("ooxml", (VEC / "part-1.xml").read_bytes())]
    blocks, _, _ = _flatopc.blocks((VEC / "part-1.xml").read_bytes(), "part-1.xml")
    assert [b.tag.rsplit("}", 1)[1] for b in blocks] == ["p", "tbl"]


@needs_lo
def test_libreoffice_renders_placeholders_and_note(tmp_path):
    src = tmp_path / "protected.docx"
    src.write_bytes((VEC / "protected.docx").read_bytes())
    soffice_convert([src], "pdf", tmp_path / "pdf", tmp_path / "profile")
    text = " ".join(pdf_text(tmp_path / "pdf" / "protected.pdf").split())
    assert text.count("Protected with c11: open it with c11 to read this part") == 3
    assert EXPECTED["note"] in text and "This paragraph stays readable." in text
    for secret in EXPECTED["secrets"]:
        assert secret not in text
