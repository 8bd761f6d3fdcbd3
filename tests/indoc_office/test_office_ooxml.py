"""The OOXML plumbing: byte spans of elements match lxml's tree; packages keep untouched members."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from lxml import etree

from c11.errors import FormatError, UsageError
from c11.indoc import _ooxml as ox

TRICKY = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!-- a comment with <fake> tags -->
<a:root xmlns:a="urn:a" xmlns="urn:d" x='1>2' y="it's &gt; 'q'">
  <?pi <not-a-tag/> ?>
  <b k = "v"/>text<![CDATA[ <c>not</c> ]]><c><d/><d a="/>"></d></c>
  <a:e xmlns:z="urn:z"><z:f>1</z:f></a:e>
</a:root>"""


def test_spans_match_the_tree():
    doc = ox.XmlDoc(TRICKY, "t.xml")
    for el in doc.elements:
        frag = doc.bytes_of(el)
        assert frag.startswith(b"<") and frag.endswith(b">")
        ns = " ".join(f'xmlns:{p}="{u}"' if p else f'xmlns="{u}"' for p, u in el.getroottree().getroot().nsmap.items())
        # re-parse the fragment inside the root's namespaces: same tag, same number of elements
        wrapped = f"<w {ns} xmlns:z='urn:z'>".encode() + frag + b"</w>"
        sub = etree.fromstring(wrapped)[0]
        assert sub.tag == el.tag
        assert len(list(sub.iter(etree.Element))) == len(list(el.iter(etree.Element)))


def test_random_documents():
    rnd = random.Random(5)
    for _ in range(30):
        root = etree.Element("{urn:x}r", nsmap={"x": "urn:x"})
        nodes = [root]
        for _i in range(rnd.randrange(1, 60)):
            parent = rnd.choice(nodes)
            el = etree.SubElement(parent, rnd.choice(["{urn:x}a", "b", "{urn:x}c"]))
            if rnd.random() < 0.5:
                el.set("v", rnd.choice(["a>b", "q'\"", "/>", "x"]))
            if rnd.random() < 0.5:
                el.text = rnd.choice(["t", "<&>", ""])
            nodes.append(el)
        data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        doc = ox.XmlDoc(data, "r.xml")
        for el in doc.elements:
            sub = etree.fromstring(b"<w xmlns:x='urn:x'>" + doc.bytes_of(el) + b"</w>")[0]
            assert sub.tag == el.tag and (sub.text or "") == (el.text or "")


def test_splice_and_overlap():
    assert ox.splice(b"0123456789", [(2, 4, b"ab"), (6, 6, b"X")]) == b"01ab45X6789"
    with pytest.raises(FormatError):
        ox.splice(b"0123456789", [(2, 5, b""), (4, 6, b"")])


def test_doctype_refused():
    with pytest.raises(FormatError, match="DOCTYPE"):
        ox.parse_xml(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>')


def test_package_copies_untouched_members():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("a.xml", b"<a>" + b"x" * 5000 + b"</a>")
        z.writestr("b.bin", bytes(range(256)) * 10, compress_type=zipfile.ZIP_STORED)
    pkg = ox.Package(buf.getvalue())
    pkg.set("a.xml", b"<a/>")
    pkg.set("new.xml", b"<n/>")
    out = zipfile.ZipFile(io.BytesIO(pkg.to_bytes()))
    assert out.testzip() is None
    assert out.namelist() == ["[Content_Types].xml", "a.xml", "b.bin", "new.xml"]
    assert out.read("a.xml") == b"<a/>" and out.read("b.bin") == bytes(range(256)) * 10
    src = zipfile.ZipFile(buf)
    assert out.getinfo("b.bin").compress_type == zipfile.ZIP_STORED
    assert out.getinfo("b.bin").CRC == src.getinfo("b.bin").CRC


def test_not_a_package():
    with pytest.raises(UsageError, match="not a valid Office document"):
        ox.Package(b"PK\x03\x04garbage")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("x.txt", b"x")
    with pytest.raises(UsageError, match="Content_Types"):
        ox.Package(buf.getvalue())


def test_plaintext_container():
    items = [("xml", b"<w:p/>"), ("member:word/media/a.png", b"\x89PNG"), ("si:3", b"")]
    assert ox.unpack(ox.pack(items)) == items
    with pytest.raises(FormatError):
        ox.unpack(b"\x00\x00\x00\x05[1,2]x")
