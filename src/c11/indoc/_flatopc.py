"""Word's flat OPC packages (`Range.getOoxml()` / `insertOoxml()`): the `ooxml` entry of a protected part.

A part protected from inside Word (the add-in) holds the flat package Word gave for the range, not
original XML bytes. `body_content` turns it back into body XML for a .docx: the blocks of its main
part, with every relationship they use (pictures, hyperlinks) added to the document under a fresh
ID and its target member and content type added too, so nothing dangles (docs/indoc.md §5.1).
"""

from __future__ import annotations

import base64
import binascii
import posixpath
from dataclasses import dataclass, field

from lxml import etree

from c11.errors import FormatError
from c11.indoc import _limits
from c11.indoc import _ooxml as ox

NS_PKG = "http://schemas.microsoft.com/office/2006/xmlPackage"
NS_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
CT_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
REL_IMAGE = ox.NS_R + "/image"
REL_HYPERLINK = ox.NS_R + "/hyperlink"
#: relationship types a protected OOXML part may use (anything else is refused by the writer and the reader)
CARRIED = {REL_IMAGE: "image", REL_HYPERLINK: "hyperlink"}


@dataclass
class FlatPart:
    name: str  # without the leading "/"
    content_type: str
    xml: etree._Element | None = None
    data: bytes = b""


@dataclass
class Addition:
    """What splicing an OOXML part into a package adds: relationships, members, content types."""

    rels: list[tuple[str, str, str, str]] = field(default_factory=list)  # (id, type, target, mode)
    members: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # member -> (bytes, content type)


def read(data: bytes, label: str) -> dict[str, FlatPart]:
    """The parts of a flat package by name (bounded: each binary part by the zip member limit)."""
    root = ox.parse_xml(data, f"{label}: OOXML part")
    if root.tag != f"{{{NS_PKG}}}package":
        raise FormatError(f"{label}: an OOXML part is not a Word flat package (pkg:package)")
    out: dict[str, FlatPart] = {}
    for el in root.iterchildren(f"{{{NS_PKG}}}part"):
        name = (el.get(f"{{{NS_PKG}}}name") or "").lstrip("/")
        ct = el.get(f"{{{NS_PKG}}}contentType") or ""
        if not name or name in out:
            raise FormatError(f"{label}: an OOXML part has a part with no name or a name used twice")
        part = FlatPart(name, ct)
        xml = el.find(f"{{{NS_PKG}}}xmlData")
        binary = el.find(f"{{{NS_PKG}}}binaryData")
        if xml is not None:
            kids = [k for k in xml if isinstance(k.tag, str)]
            if len(kids) != 1:
                raise FormatError(f"{label}: OOXML part {name} has no single XML root")
            part.xml = kids[0]
        elif binary is not None:
            text = "".join((binary.text or "").split())
            if len(text) // 4 * 3 > _limits.MAX_MEMBER:
                raise FormatError(f"{label}: OOXML part {name} is larger than {_limits.MAX_MEMBER >> 20} MiB")
            try:
                part.data = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                raise FormatError(f"{label}: OOXML part {name} has malformed base64") from None
        out[name] = part
    return out


def _main(parts: dict[str, FlatPart], label: str) -> FlatPart:
    mains = [p for p in parts.values() if p.content_type == CT_MAIN and p.xml is not None]
    if len(mains) != 1:
        raise FormatError(f"{label}: an OOXML part has {len(mains)} main document parts (one expected)")
    return mains[0]


def _rels(parts: dict[str, FlatPart], source: str) -> dict[str, tuple[str, str, str]]:
    d, _, f = source.rpartition("/")
    rp = parts.get(f"{d}/_rels/{f}.rels")
    out: dict[str, tuple[str, str, str]] = {}
    if rp is None or rp.xml is None:
        return out
    for rel in rp.xml.iter(f"{{{ox.NS_PKG_REL}}}Relationship"):
        mode = rel.get("TargetMode", "Internal")
        target = rel.get("Target", "")
        resolved = target if mode == "External" else ox.resolve_target(d, target)
        out[rel.get("Id", "")] = (rel.get("Type", ""), resolved, mode)
    return out


def blocks(
    data: bytes, label: str
) -> tuple[list[etree._Element], dict[str, FlatPart], dict[str, tuple[str, str, str]]]:
    """The body blocks (not the section properties) of a flat package, its parts and main relationships."""
    parts = read(data, label)
    main = _main(parts, label)
    assert main.xml is not None
    body = main.xml.find(f"{{{NS_W}}}body")
    if body is None:
        raise FormatError(f"{label}: an OOXML part has no body")
    out = [b for b in body if isinstance(b.tag, str) and b.tag != f"{{{NS_W}}}sectPr"]
    return out, parts, _rels(parts, main.name)


def body_content(
    data: bytes,
    *,
    inline: bool,
    taken_ids: set[str],
    taken_members: set[str],
    main: str,
    prefix: str,
    label: str,
) -> tuple[bytes, Addition]:
    """Body XML for the blocks of a flat package (or, `inline`, the runs of its single paragraph),
    with relationship IDs rewritten to fresh ones (not in `taken_ids`), and what to add for them."""
    els, parts, rels = blocks(data, label)
    if inline:
        paras = [b for b in els if b.tag == f"{{{NS_W}}}p"]
        if len(paras) != 1 or len(els) != 1:
            raise FormatError(f"{label}: an OOXML part in a sentence must hold one paragraph")
        els = [k for k in paras[0] if isinstance(k.tag, str) and k.tag != f"{{{NS_W}}}pPr"]
    add = Addition()
    mapping: dict[str, str] = {}
    base = main.rpartition("/")[0]
    n = 0
    for el in els:
        for sub in el.iter(etree.Element):
            for k, v in list(sub.attrib.items()):
                if not str(k).startswith(f"{{{ox.NS_R}}}"):
                    continue
                if v not in mapping:
                    if v not in rels:
                        raise FormatError(f"{label}: an OOXML part refers to relationship {v!r} it does not carry")
                    typ, target, mode = rels[v]
                    if typ not in CARRIED or (typ == REL_HYPERLINK) != (mode == "External"):
                        raise FormatError(f"{label}: an OOXML part uses a relationship c11 does not carry ({typ})")
                    while f"rIdC11x{n}" in taken_ids:
                        n += 1
                    rid = f"rIdC11x{n}"
                    taken_ids.add(rid)
                    if mode == "External":
                        add.rels.append((rid, typ, target, mode))
                    else:
                        src = parts.get(target)
                        if src is None or src.xml is not None:
                            raise FormatError(f"{label}: an OOXML part lacks the picture {target}")
                        ext = posixpath.splitext(target)[1].lower()
                        k2 = 0
                        member = f"{base}/media/c11-{prefix}-{k2}{ext}"
                        while member in taken_members:
                            k2 += 1
                            member = f"{base}/media/c11-{prefix}-{k2}{ext}"
                        taken_members.add(member)
                        add.members[member] = (src.data, src.content_type or "application/octet-stream")
                        add.rels.append((rid, typ, member[len(base) + 1 :] if base else member, mode))
                    mapping[v] = rid
                sub.set(k, mapping[v])
    out = b"".join(etree.tostring(el, encoding="UTF-8", xml_declaration=False) for el in els)
    return out, add


def apply(pkg: ox.Package, main: str, add: Addition) -> None:
    """Add an OOXML part's relationships, members and content types to the package."""
    if add.rels:
        rn = pkg.rels_name(main)
        root = ox.parse_xml(pkg.read(rn), rn)
        for rid, typ, target, mode in add.rels:
            attrs = {"Id": rid, "Type": typ, "Target": target}
            if mode == "External":
                attrs["TargetMode"] = "External"
            etree.SubElement(root, f"{{{ox.NS_PKG_REL}}}Relationship", attrs)
        pkg.set(rn, ox.ser(root))
    if add.members:
        name = "[Content_Types].xml"
        ct = ox.parse_xml(pkg.read(name), name)
        defaults = {(d.get("Extension") or "").lower() for d in ct.findall(f"{{{ox.NS_CT}}}Default")}
        for member, (data, ctype) in add.members.items():
            pkg.set(member, data)
            ext = posixpath.splitext(member)[1].lower().lstrip(".")
            if ext not in defaults:
                etree.SubElement(ct, f"{{{ox.NS_CT}}}Override", PartName="/" + member, ContentType=ctype)
        pkg.set(name, ox.ser(ct))
