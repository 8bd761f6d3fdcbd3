"""Make the OOXML-part vectors (docs/indoc.md §5.1): a .docx protected the way the Word add-in does it.

Word gives the add-in a range as a flat OPC package (`Range.getOoxml()`), not the original bytes;
the add-in seals that package as the part's `ooxml` entry, puts a locked content control in the
range's place, and stores the envelope with `customXmlParts.add` (Word names it customXml/itemN.xml).
When Word saves, it drops the pictures and hyperlink relationships nothing uses any more. This
script does the same steps on a python-docx document, so the Python reader is checked against a
document shaped like Word's. Run from the repository root:

    .venv/bin/python tests/vectors/indoc-ooxml/generate.py

It writes source.docx (the original), protected.docx, part-1.xml (the first part's flat package,
for readers of the spec) and expected.json; the keys are tests/vectors/keys/{alice,bob}.key and
carol.key here.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import struct
import sys
import uuid
import zlib
from pathlib import Path

from lxml import etree

from c11.indoc import _ooxml as ox
from c11.indoc import parts as P
from c11.keys import keyfile
from c11.keys.identity import Identity

HERE = Path(__file__).resolve().parent
KEYS = HERE.parent / "keys"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
PKG = "http://schemas.microsoft.com/office/2006/xmlPackage"
R = ox.NS_R
CT_RELS = "application/vnd.openxmlformats-package.relationships+xml"
CT_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
NOTE = "For HR only. Ask Alice for access."


def w(t: str) -> str:
    return f"{{{W}}}{t}"


def png(seed: int, size: int = 16) -> bytes:
    raw = b"".join(b"\x00" + bytes((seed * 31 + x * 7 + y * 13) % 256 for x in range(size * 3)) for y in range(size))

    def chunk(t: bytes, d: bytes) -> bytes:
        return struct.pack(">L", len(d)) + t + d + struct.pack(">L", zlib.crc32(t + d))

    ihdr = struct.pack(">LLBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def source_docx() -> bytes:
    import docx
    from docx.oxml.ns import qn
    from docx.shared import Inches

    d = docx.Document()
    d.core_properties.title = "Pay review"
    d.core_properties.created = d.core_properties.modified = __import__("datetime").datetime(2026, 1, 1)
    d.add_paragraph("Pay review 2026", style="Title")
    d.add_paragraph("This paragraph stays readable.")
    d.add_heading("Salaries", 1)
    d.add_paragraph("Alice earns SALARY-SECRET-1 a year.")
    t = d.add_table(rows=3, cols=2)
    t.style = "Table Grid"
    for i, (a, b) in enumerate([("Name", "Pay"), ("Alice", "TABLE-SECRET-1"), ("Bob", "TABLE-SECRET-2")]):
        t.cell(i, 0).text, t.cell(i, 1).text = a, b
    d.add_heading("Badge photo", 1)
    d.add_picture(io.BytesIO(png(7)), width=Inches(0.5))
    d.add_heading("Links", 1)
    p = d.add_paragraph("See the LINK-SECRET ")
    rid = d.part.relate_to("https://hr.example.com/secret-review", ox.NS_R + "/hyperlink", is_external=True)
    link = p._p.makeelement(qn("w:hyperlink"), {qn("r:id"): rid})
    run = p._p.makeelement(qn("w:r"), {})
    text = p._p.makeelement(qn("w:t"), {})
    text.text = "review page"
    run.append(text)
    link.append(run)
    p._p.append(link)
    d.add_paragraph("The end, public.")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def flat_package(doc: ox.XmlDoc, pkg: ox.Package, main: str, blocks: list[etree._Element]) -> bytes:
    """What Word's Range.getOoxml() gives for these blocks: a flat package with the used
    relationships renumbered, the pictures as base64 and the styles part."""
    rels = {rid: (typ, target, mode) for rid, typ, target, mode in pkg.relationships(main)}
    root = etree.Element(f"{{{PKG}}}package", nsmap={"pkg": PKG})

    def part(name: str, ctype: str) -> etree._Element:
        return etree.SubElement(root, f"{{{PKG}}}part", {f"{{{PKG}}}name": name, f"{{{PKG}}}contentType": ctype})

    top = part("/_rels/.rels", CT_RELS)
    top_rels = etree.SubElement(etree.SubElement(top, f"{{{PKG}}}xmlData"), f"{{{ox.NS_PKG_REL}}}Relationships")
    etree.SubElement(top_rels, f"{{{ox.NS_PKG_REL}}}Relationship", Id="rId1", Type=ox.REL_OFFICE_DOCUMENT)
    top_rels[0].set("Target", "word/document.xml")
    document = etree.Element(w("document"), nsmap=doc.root.nsmap)
    body = etree.SubElement(document, w("body"))
    used: dict[str, str] = {}
    for b in blocks:
        c = copy.deepcopy(b)
        for el in c.iter(etree.Element):
            for k, v in list(el.attrib.items()):
                if str(k).startswith(f"{{{R}}}"):
                    used.setdefault(v, f"rId{len(used) + 1}")
                    el.set(k, used[v])
        body.append(c)
    etree.SubElement(body, w("sectPr"))
    main_el = part("/word/document.xml", CT_MAIN)
    etree.SubElement(main_el, f"{{{PKG}}}xmlData").append(document)
    drels = part("/word/_rels/document.xml.rels", CT_RELS)
    rels_el = etree.SubElement(etree.SubElement(drels, f"{{{PKG}}}xmlData"), f"{{{ox.NS_PKG_REL}}}Relationships")
    media = []
    for old, new in used.items():
        typ, target, mode = rels[old]
        if mode == "External":
            etree.SubElement(
                rels_el, f"{{{ox.NS_PKG_REL}}}Relationship", Id=new, Type=typ, Target=target, TargetMode="External"
            )
        else:
            name = f"media/image{len(media) + 1}{Path(target).suffix}"
            etree.SubElement(rels_el, f"{{{ox.NS_PKG_REL}}}Relationship", Id=new, Type=typ, Target=name)
            media.append((name, pkg.read(target)))
    for name, data in media:
        bp = part(f"/word/{name}", "image/png")
        bp.set(f"{{{PKG}}}compression", "store")
        etree.SubElement(bp, f"{{{PKG}}}binaryData").text = base64.b64encode(data).decode()
    styles = part("/word/styles.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml")
    sroot = ox.parse_xml(pkg.read("word/styles.xml"))
    want = {el.get(w("val")) for el in body.iter(w("pStyle"), w("rStyle"), w("tblStyle"))}
    for st in list(sroot.iterchildren(w("style"))):  # the styles the range uses, as Word gives them
        if st.get(w("styleId")) not in want:
            sroot.remove(st)
    for el in list(sroot.iterchildren(w("latentStyles"))):
        sroot.remove(el)
    etree.SubElement(styles, f"{{{PKG}}}xmlData").append(sroot)
    return b'<?xml version="1.0" standalone="yes"?>\n<?mso-application progid="Word.Document"?>\n' + etree.tostring(
        root, encoding="UTF-8"
    )


def sdt(tag: str, text: str, sid: int) -> bytes:
    """A content control as Word writes it for the add-in (title, tag, both locks set)."""
    return (
        f'<w:sdt xmlns:w="{W}"><w:sdtPr><w:alias w:val="Protected with c11"/><w:tag w:val="{tag}"/>'
        f'<w:id w:val="{sid}"/><w:lock w:val="sdtContentLocked"/></w:sdtPr><w:sdtContent><w:p><w:r><w:rPr><w:i/>'
        f'<w:color w:val="7F7F7F"/></w:rPr><w:t xml:space="preserve">{text}</w:t></w:r></w:p></w:sdtContent></w:sdt>'
    ).encode()


def protect(src: bytes, alice: Identity, bob: Identity, carol: Identity) -> tuple[bytes, list[bytes]]:
    pkg = ox.Package(src, "source.docx")
    main = pkg.main_part()
    doc = ox.XmlDoc(pkg.read(main), main)
    body = doc.root.find(w("body"))
    assert body is not None
    blocks = [b for b in body if b.tag != w("sectPr")]
    texts = ["".join(t.text or "" for t in b.iter(w("t"))) for b in blocks]
    heads = {t: i for i, t in enumerate(texts)}
    chosen = [  # (blocks, recipients): the Salaries section, the photo, the link paragraph
        (blocks[heads["Salaries"] + 1 : heads["Badge photo"]], [bob]),
        (blocks[heads["Badge photo"] + 1 : heads["Links"]], [bob]),
        (blocks[heads["Links"] + 1 : heads["Links"] + 2], [carol]),
    ]
    doc_id = uuid.UUID("0c110c11-0000-4000-8000-00000000a11d").bytes
    tag = f"c11:{doc_id.hex()[:16]}:"
    edits = []
    parts = []
    flats = []
    gone_rids: set[str] = set()
    for n, (bl, rec) in enumerate(chosen, 1):
        loc = f"{main}#{n}"
        flat = flat_package(doc, pkg, main, bl)
        flats.append(flat)
        for b in bl:
            for el in b.iter(etree.Element):
                gone_rids.update(v for k, v in el.attrib.items() if str(k).startswith(f"{{{R}}}"))
        edits.append((doc.span(bl[0])[0], doc.span(bl[-1])[1], sdt(tag + loc, ox.PLACEHOLDER, 1000 + n)))
        parts.append(P.Part(loc, ox.pack([("ooxml", flat)]), ox.PLACEHOLDER.encode(), [r.public for r in rec]))
    banner = ox.BANNER
    note_cc = (
        f'<w:sdt xmlns:w="{W}"><w:sdtPr><w:alias w:val="Protected with c11"/><w:tag w:val="c11-note"/>'
        f'<w:id w:val="999"/><w:lock w:val="sdtContentLocked"/></w:sdtPr><w:sdtContent>'
        f'<w:p><w:r><w:t xml:space="preserve">{banner}</w:t></w:r></w:p>'
        f'<w:p><w:r><w:t xml:space="preserve">Note from the author: {NOTE}</w:t></w:r></w:p></w:sdtContent></w:sdt>'
    ).encode()
    at = doc.oends[doc.index(body)]
    edits.append((at, at, note_cc))
    pkg.set(main, ox.splice(doc.data, edits))
    # Word, when saving, drops what nothing uses any more: the picture and the hyperlink's relationship
    rn = pkg.rels_name(main)
    rroot = ox.parse_xml(pkg.read(rn), rn)
    for r in list(rroot):
        if r.get("Id") in gone_rids:
            if r.get("TargetMode") != "External":
                pkg.delete(ox.resolve_target("word", r.get("Target", "")))
            rroot.remove(r)
    # the custom XML part, as Word stores what customXmlParts.add() was given
    env = P.seal(parts, [], alice, note=NOTE, doc_id=doc_id, ooxml=True)
    prot = ox.Protection(env, "docx")
    item_id = str(uuid.UUID(bytes=doc_id)).upper()
    n = 1
    while pkg.has(f"customXml/item{n}.xml"):  # Word takes the first free name (python-docx's template has item1)
        n += 1
    pkg.set(f"customXml/item{n}.xml", prot.to_xml())
    pkg.set(
        f"customXml/itemProps{n}.xml",
        (
            '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
            f'<ds:datastoreItem ds:itemID="{{{item_id}}}" xmlns:ds="{ox.NS_DS}"><ds:schemaRefs>'
            f'<ds:schemaRef ds:uri="urn:c11:indoc:1"/></ds:schemaRefs></ds:datastoreItem>'
        ).encode(),
    )
    pkg.set(
        f"customXml/_rels/item{n}.xml.rels",
        (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{ox.NS_PKG_REL}"><Relationship Id="rId1" Type="{ox.REL_CUSTOM_XML_PROPS}" '
            f'Target="itemProps{n}.xml"/></Relationships>'
        ).encode(),
    )
    etree.SubElement(
        rroot,
        f"{{{ox.NS_PKG_REL}}}Relationship",
        Id="rId900",
        Type=ox.REL_CUSTOM_XML,
        Target=f"../customXml/item{n}.xml",
    )
    pkg.set(rn, ox.ser(rroot))
    ct = ox.parse_xml(pkg.read("[Content_Types].xml"))
    etree.SubElement(
        ct, f"{{{ox.NS_CT}}}Override", PartName=f"/customXml/itemProps{n}.xml", ContentType=ox.CT_CUSTOM_XML_PROPS
    )
    pkg.set("[Content_Types].xml", ox.ser(ct))
    return pkg.to_bytes(), flats


def main() -> int:
    carol_path = HERE / "carol.key"
    if not carol_path.exists():
        keyfile.write(carol_path, Identity.generate("carol"), None)
    alice = keyfile.load(KEYS / "alice.key").unlock(None)
    bob = keyfile.load(KEYS / "bob.key").unlock(None)
    carol = keyfile.load(carol_path).unlock(None)
    src = source_docx()
    protected, flats = protect(src, alice, bob, carol)
    (HERE / "source.docx").write_bytes(src)
    (HERE / "protected.docx").write_bytes(protected)
    (HERE / "part-1.xml").write_bytes(flats[0])
    expected = {
        "source_sha256": hashlib.sha256(src).hexdigest(),
        "secrets": ["SALARY-SECRET-1", "TABLE-SECRET-1", "TABLE-SECRET-2", "LINK-SECRET", "secret-review"],
        "picture_sha256": hashlib.sha256(png(7)).hexdigest(),
        "hyperlink": "https://hr.example.com/secret-review",
        "note": NOTE,
        "readers": {"alice": 3, "bob": 2, "carol": 1},
    }
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
