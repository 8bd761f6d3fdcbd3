"""OOXML package plumbing shared by the .docx and .xlsx handlers.

* `Package` reads a zip package and writes it back with some members replaced, added or removed;
  every member it was not asked to change is copied as its original compressed bytes (same CRC,
  same content), so untouched parts stay byte-identical.
* `XmlDoc` parses an XML member twice: with lxml (for meaning) and with a small tag scanner that
  records the byte offsets of every element, so a handler can cut an element out of the original
  bytes and later splice those exact bytes back (`splice`). Nothing is re-serialized.
* The protection itself lives in a custom XML part (`customXml/c11-protection.xml`, related from
  the main document part, with an itemProps part) holding the envelope JSON and a small "stash"
  of the structural members c11 itself changed ([Content_Types].xml, .rels files, ...), so that
  unprotecting restores them byte for byte (docs/indoc.md §4).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import struct
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence

from lxml import etree

from c11.errors import FormatError, IntegrityError, TooLargeError, UsageError
from c11.indoc import _limits
from c11.indoc._mediacommon import intersection
from c11.indoc.parts import Envelope, Opened, Part, remaining
from c11.keys.publickey import PublicKey

NS_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS_DS = "http://schemas.openxmlformats.org/officeDocument/2006/customXml"
REL_OFFICE_DOCUMENT = NS_R + "/officeDocument"
REL_CUSTOM_XML = NS_R + "/customXml"
REL_CUSTOM_XML_PROPS = NS_R + "/customXmlProps"
CT_CUSTOM_XML_PROPS = "application/vnd.openxmlformats-officedocument.customXmlProperties+xml"

NS_C11 = "urn:c11:indoc:1"
ENVELOPE_PART = "customXml/c11-protection.xml"
ENVELOPE_PROPS = "customXml/c11-protectionProps.xml"
ENVELOPE_RELS = "customXml/_rels/c11-protection.xml.rels"
ENVELOPE_REL_ID = "rIdC11Protection"

PLACEHOLDER = "Protected with c11: open it with c11 to read this part"
SHORT_PLACEHOLDER = "Protected with c11"
BANNER = "Parts of this document are protected with c11: open it with c11 to read them."

MAX_MEMBER = _limits.MAX_MEMBER  # zip members that inflate beyond this are refused (zip bombs)

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=False, load_dtd=False
)


# ---------------------------------------------------------------- zip package


def _dos_time(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    y, mo, d, h, mi, sec = date_time
    return (h << 11) | (mi << 5) | (sec // 2), ((max(y, 1980) - 1980) << 9) | (mo << 5) | d


class Package:
    """An OOXML zip package; `to_bytes` copies untouched members' compressed bytes verbatim."""

    def __init__(self, data: bytes, label: str = "document") -> None:
        self.data = data
        self.label = label
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            infos = zf.infolist()
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, struct.error):
            raise UsageError(f"{label}: not a valid Office document (not a zip package)") from None
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if info.filename in self.infos:
                raise FormatError(f"{label}: the package has two members named {info.filename!r}")
            if info.flag_bits & 0x1:
                raise UsageError(f"{label}: the document is password-encrypted; remove the password first")
            self.infos[info.filename] = info
        self._zf = zf
        self._changed: dict[str, bytes | None] = {}
        self._inflated: dict[str, int] = {}  # declared size of every member read so far
        if "[Content_Types].xml" not in self.infos:
            raise UsageError(f"{label}: not an Office Open XML document (no [Content_Types].xml)")

    # reading
    def names(self) -> list[str]:
        out = [n for n in self.infos if self._changed.get(n, b"") is not None]
        out += [n for n, v in self._changed.items() if n not in self.infos and v is not None]
        return out

    def has(self, name: str) -> bool:
        if name in self._changed:
            return self._changed[name] is not None
        return name in self.infos

    def read(self, name: str) -> bytes:
        if name in self._changed:
            v = self._changed[name]
            if v is None:
                raise FormatError(f"{self.label}: the package has no member {name}")
            return v
        if name not in self.infos:
            raise FormatError(f"{self.label}: the package has no member {name} (a relationship names it)")
        return self._read_member(self.infos[name])

    def original(self, name: str) -> bytes | None:
        """A member as it was in the input (None if it was not there)."""
        if name not in self.infos:
            return None
        return self._read_member(self.infos[name])

    def _read_member(self, info: zipfile.ZipInfo) -> bytes:
        """A member's bytes, bounded (declared size and ratio, `_limits.check_member`) before inflating."""
        name = info.filename
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FormatError(f"{self.label}: member {name} uses a compression Office documents do not use")
        _limits.check_member(name, info.file_size, info.compress_size, self.label)
        if name not in self._inflated:
            self._inflated[name] = info.file_size
            if sum(self._inflated.values()) > _limits.MAX_INFLATED:
                raise TooLargeError(
                    f"{self.label}: its members expand to more than "
                    f"{_limits.MAX_INFLATED >> 20} MiB together (a zip bomb?)"
                )
        try:
            data = self._zf.read(info)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, EOFError, ValueError, OSError):
            raise FormatError(f"{self.label}: member {name} is damaged") from None
        if len(data) != info.file_size:
            raise FormatError(f"{self.label}: member {name} is damaged (size differs from the declared one)")
        return data

    # writing
    def set(self, name: str, data: bytes) -> None:
        self._changed[name] = data

    def delete(self, name: str) -> None:
        self._changed[name] = None

    def changed(self) -> list[str]:
        return list(self._changed)

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        central: list[bytes] = []
        order = list(self.infos) + [n for n in self._changed if n not in self.infos]
        for name in order:
            if name in self._changed:
                content = self._changed[name]
                if content is None:
                    continue
                co = zlib.compressobj(6, zlib.DEFLATED, -15)
                raw = co.compress(content) + co.flush()
                crc, usize, method = zlib.crc32(content), len(content), zipfile.ZIP_DEFLATED
                flags = 0x0800 if not name.isascii() else 0
                # A changed member keeps its original time stamp and attributes, so a restored
                # package differs from the original at most in how the deflate stream was coded.
                old = self.infos.get(name)
                dtime, ddate = _dos_time(old.date_time) if old else (0, (1 << 5) | 1)  # 1980-01-01
                extra_attr = old.external_attr if old else 0
            else:
                info = self.infos[name]
                raw = self._raw(info)
                crc, usize, method = info.CRC, info.file_size, info.compress_type
                dtime, ddate = _dos_time(info.date_time)
                flags = info.flag_bits & 0x0806
                extra_attr = info.external_attr
            if len(raw) >= 0xFFFFFFFF or usize >= 0xFFFFFFFF or out.tell() >= 0xFFFFFFFF:
                raise FormatError(f"{self.label}: documents over 4 GiB are not supported")
            fname = name.encode("utf-8")
            offset = out.tell()
            out.write(
                struct.pack(
                    "<4s5H3L2H", b"PK\x03\x04", 20, flags, method, dtime, ddate, crc, len(raw), usize, len(fname), 0
                )
            )
            out.write(fname)
            out.write(raw)
            central.append(
                struct.pack(
                    "<4s6H3L5H2L",
                    b"PK\x01\x02",
                    20,
                    20,
                    flags,
                    method,
                    dtime,
                    ddate,
                    crc,
                    len(raw),
                    usize,
                    len(fname),
                    0,
                    0,
                    0,
                    0,
                    extra_attr,
                    offset,
                )
                + fname
            )
        start = out.tell()
        for c in central:
            out.write(c)
        size = out.tell() - start
        if len(central) >= 0xFFFF:
            raise FormatError(f"{self.label}: too many members")
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), size, start, 0))
        return out.getvalue()

    def _raw(self, info: zipfile.ZipInfo) -> bytes:
        off = info.header_offset
        head = self.data[off : off + 30]
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            raise FormatError(f"{self.label}: damaged zip member {info.filename}")
        nlen, elen = struct.unpack("<2H", head[26:30])
        start = off + 30 + nlen + elen
        raw = self.data[start : start + info.compress_size]
        if len(raw) != info.compress_size:
            raise FormatError(f"{self.label}: truncated zip member {info.filename}")
        return raw

    # relationships and content types
    def rels_name(self, part: str) -> str:
        d, _, f = part.rpartition("/")
        return f"{d}/_rels/{f}.rels" if d else f"_rels/{f}.rels"

    def relationships(self, part: str) -> list[tuple[str, str, str, str]]:
        """(id, type, resolved target member, target mode) of a part's relationships ("" = package)."""
        rn = self.rels_name(part) if part else "_rels/.rels"
        if not self.has(rn):
            return []
        root = parse_xml(self.read(rn), rn)
        base = part.rpartition("/")[0] if part else ""
        out = []
        for rel in root.iter(f"{{{NS_PKG_REL}}}Relationship"):
            mode = rel.get("TargetMode", "Internal")
            target = rel.get("Target", "")
            resolved = target if mode == "External" else resolve_target(base, target)
            out.append((rel.get("Id", ""), rel.get("Type", ""), resolved, mode))
        return out

    def main_part(self) -> str:
        for _, typ, target, _ in self.relationships(""):
            if typ.endswith("/officeDocument"):
                return target
        raise UsageError(f"{self.label}: not an Office Open XML document (no main part)")


def resolve_target(base: str, target: str) -> str:
    if target.startswith("/"):
        path = target[1:]
    else:
        path = f"{base}/{target}" if base else target
    parts: list[str] = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            continue
        parts.append(seg)
    return "/".join(parts)


# ---------------------------------------------------------------- XML with byte offsets


def parse_xml(data: bytes, name: str = "XML part") -> etree._Element:
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:4096]:
        raise FormatError(f"{name}: XML with a DOCTYPE is not allowed in Office documents")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        raise FormatError(f"{name}: malformed XML ({e.msg})") from None


_TOKEN = re.compile(
    rb"<(?:!--.*?--|\?.*?\?|!\[CDATA\[.*?\]\]|(/)?([^\s/>!?]+)"
    rb"(?:\s+[^\s=>/]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*(/)?)>",
    re.S,
)


class XmlDoc:
    """An XML member with the byte span of every element (document order = lxml iteration order)."""

    def __init__(self, data: bytes, name: str) -> None:
        self.data = data
        self.name = name
        self.root = parse_xml(data, name)
        starts: list[int] = []
        oends: list[int] = []
        ends: list[int] = []
        stack: list[int] = []
        push, pop = stack.append, stack.pop
        sa, oa, ea = starts.append, oends.append, ends.append
        for m in _TOKEN.finditer(data):
            close, tag, selfc = m.groups()
            if tag is None:
                continue
            if close:
                ends[pop()] = m.end()
            else:
                push(len(starts))
                sa(m.start())
                oa(m.end())
                ea(0)
                if selfc:
                    ends[pop()] = m.end()
        self.starts, self.oends, self.ends = starts, oends, ends
        self._index: dict[etree._Element, int] | None = None
        self._elements: list[etree._Element] | None = None

    @property
    def elements(self) -> list[etree._Element]:
        if self._elements is None:
            self._elements = list(self.root.iter(etree.Element))
            if len(self._elements) != len(self.starts) or stack_mismatch(self.ends):
                raise FormatError(f"{self.name}: XML c11 cannot map (unusual markup)")
        return self._elements

    def index(self, el: etree._Element) -> int:
        if self._index is None:
            self._index = {e: i for i, e in enumerate(self.elements)}
        return self._index[el]

    def span(self, el: etree._Element) -> tuple[int, int]:
        i = self.index(el)
        return self.starts[i], self.ends[i]

    def inner(self, el: etree._Element) -> tuple[int, int]:
        """Bytes between the start and end tags (empty span for a self-closed element)."""
        i = self.index(el)
        end = self.ends[i]
        if self.oends[i] == end:
            return end, end
        return self.oends[i], self.data.rindex(b"</", 0, end)

    def bytes_of(self, el: etree._Element) -> bytes:
        s, e = self.span(el)
        return self.data[s:e]

    def prefix(self, ns: str, default: str) -> tuple[str, bytes]:
        """The prefix the root uses for `ns` ("w:" etc.), or a local xmlns declaration to add."""
        if default == "" and self.root.nsmap.get(None) == ns:
            return "", b""
        for p, uri in self.root.nsmap.items():
            if uri == ns and p:
                return p + ":", b""
        if default == "":
            return "", f' xmlns="{ns}"'.encode()
        return default + ":", f' xmlns:{default}="{ns}"'.encode()


def stack_mismatch(ends: list[int]) -> bool:
    return bool(ends) and min(ends) == 0


def splice(data: bytes, edits: Iterable[tuple[int, int, bytes]]) -> bytes:
    """Replace byte spans (start, end, new) that do not overlap."""
    out = []
    pos = 0
    for s, e, new in sorted(edits, key=lambda t: (t[0], t[1])):
        if s < pos:
            raise FormatError("internal error: overlapping protected spans")
        out.append(data[pos:s])
        out.append(new)
        pos = e
    out.append(data[pos:])
    return b"".join(out)


def esc(text: str) -> bytes:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").encode("utf-8")


# ---------------------------------------------------------------- part plaintexts


def pack(items: list[tuple[str, bytes]]) -> bytes:
    """A part's plaintext: named byte strings (original XML, shared strings, media members)."""
    head = json.dumps([[k, len(v)] for k, v in items], separators=(",", ":")).encode()
    return struct.pack(">L", len(head)) + head + b"".join(v for _, v in items)


def unpack(data: bytes) -> list[tuple[str, bytes]]:
    try:
        (n,) = struct.unpack(">L", data[:4])
        head = json.loads(data[4 : 4 + n])
        pos = 4 + n
        out = []
        for k, ln in head:
            out.append((str(k), data[pos : pos + ln]))
            pos += ln
        if pos != len(data):
            raise ValueError
        return out
    except (ValueError, struct.error, TypeError):
        raise FormatError("a protected part's content is malformed") from None


# ---------------------------------------------------------------- envelope part and stash


class Protection:
    """What c11 keeps in the package: the envelope, and originals of members it changed."""

    def __init__(
        self,
        envelope: Envelope,
        handler: str,
        stash: dict[str, bytes | None] | None = None,
        written: dict[str, str] | None = None,
    ) -> None:
        self.envelope = envelope
        self.handler = handler
        self.stash = stash or {}  # member -> original bytes (None: was absent)
        self.written = written or {}  # member -> sha256 hex of the bytes c11 wrote

    def to_xml(self) -> bytes:
        meta = {
            "handler": self.handler,
            "stash": {k: (None if v is None else base64.b64encode(v).decode()) for k, v in self.stash.items()},
            "written": self.written,
        }
        root = etree.Element(f"{{{NS_C11}}}protection", nsmap={"c11": NS_C11})
        etree.SubElement(root, f"{{{NS_C11}}}envelope").text = self.envelope.to_json().decode()
        etree.SubElement(root, f"{{{NS_C11}}}package").text = json.dumps(meta, separators=(",", ":"), sort_keys=True)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    @classmethod
    def from_xml(cls, data: bytes, label: str) -> Protection:
        root = parse_xml(data, label)
        env_el = root.find(f"{{{NS_C11}}}envelope")
        pkg_el = root.find(f"{{{NS_C11}}}package")
        if env_el is None or pkg_el is None:
            raise FormatError(f"{label}: malformed c11 protection part")
        env = Envelope.from_json((env_el.text or "").encode())
        try:
            meta = json.loads(pkg_el.text or "{}")
            stash = {k: (None if v is None else base64.b64decode(v)) for k, v in meta.get("stash", {}).items()}
            return cls(env, str(meta.get("handler", "")), stash, dict(meta.get("written", {})))
        except (ValueError, TypeError, AttributeError):
            raise FormatError(f"{label}: malformed c11 protection part") from None


def find_protection(pkg: Package) -> tuple[str, Protection] | None:
    """The c11 protection part of a package, wherever an editor may have renamed it."""
    candidates = [n for n in pkg.names() if n.startswith("customXml/") and n.endswith(".xml") and "/_rels/" not in n]
    candidates.sort(key=lambda n: n != ENVELOPE_PART)
    for name in candidates:
        data = pkg.read(name)
        if NS_C11.encode() not in data[:4096]:
            continue
        root = parse_xml(data, name)
        if root.tag == f"{{{NS_C11}}}protection":
            return name, Protection.from_xml(data, pkg.label)
    return None


def _stash_once(pkg: Package, prot: Protection, name: str) -> None:
    if name not in prot.stash:
        prot.stash[name] = pkg.original(name)


def add_content_override(pkg: Package, prot: Protection, part: str, ctype: str) -> None:
    _stash_once(pkg, prot, "[Content_Types].xml")
    root = parse_xml(pkg.read("[Content_Types].xml"), "[Content_Types].xml")
    for o in root.findall(f"{{{NS_CT}}}Override"):
        if o.get("PartName") == "/" + part:
            root.remove(o)
    etree.SubElement(root, f"{{{NS_CT}}}Override", PartName="/" + part, ContentType=ctype)
    pkg.set("[Content_Types].xml", _ser(root))


def remove_content_override(pkg: Package, prot: Protection, part: str) -> None:
    name = "[Content_Types].xml"
    root = parse_xml(pkg.read(name), name)
    found = [o for o in root.findall(f"{{{NS_CT}}}Override") if o.get("PartName") == "/" + part]
    if found:
        _stash_once(pkg, prot, name)
        for o in found:
            root.remove(o)
        pkg.set(name, _ser(root))


def add_relationship(pkg: Package, prot: Protection, source: str, rid: str, typ: str, target: str) -> None:
    rn = pkg.rels_name(source) if source else "_rels/.rels"
    _stash_once(pkg, prot, rn)
    if pkg.has(rn):
        root = parse_xml(pkg.read(rn), rn)
    else:
        root = etree.Element(f"{{{NS_PKG_REL}}}Relationships", nsmap={None: NS_PKG_REL})  # type: ignore[dict-item]  # lxml-stubs: key None
    etree.SubElement(root, f"{{{NS_PKG_REL}}}Relationship", Id=rid, Type=typ, Target=target)
    pkg.set(rn, _ser(root))


def remove_relationships(
    pkg: Package, prot: Protection, source: str, pred: Callable[[etree._Element], bool]
) -> list[str]:
    rn = pkg.rels_name(source)
    if not pkg.has(rn):
        return []
    root = parse_xml(pkg.read(rn), rn)
    gone = [r for r in root.iter(f"{{{NS_PKG_REL}}}Relationship") if pred(r)]
    if gone:
        _stash_once(pkg, prot, rn)
        for r in gone:
            root.remove(r)
        pkg.set(rn, _ser(root))
    return [r.get("Id", "") for r in gone]


def _ser(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


ser = _ser


def relative_target(source: str, target: str) -> str:
    depth = source.count("/")
    return "../" * depth + target


def write_protection(pkg: Package, prot: Protection, main: str) -> None:
    """Add the protection part (and its itemProps), relate it from the main part, then record
    hashes of every member c11 wrote, so unprotect knows whether an editor has rewritten them."""
    add_content_override(pkg, prot, ENVELOPE_PART, "application/xml")
    add_content_override(pkg, prot, ENVELOPE_PROPS, CT_CUSTOM_XML_PROPS)
    add_relationship(pkg, prot, main, ENVELOPE_REL_ID, REL_CUSTOM_XML, relative_target(main, ENVELOPE_PART))
    props = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        f'<ds:datastoreItem ds:itemID="{{{str(uuid.UUID(bytes=prot.envelope.doc_id)).upper()}}}" '
        f'xmlns:ds="{NS_DS}"><ds:schemaRefs><ds:schemaRef ds:uri="{NS_C11}"/></ds:schemaRefs>'
        "</ds:datastoreItem>"
    ).encode()
    for name in (ENVELOPE_PROPS, ENVELOPE_RELS):
        prot.stash.setdefault(name, pkg.original(name))
    pkg.set(ENVELOPE_PROPS, props)
    pkg.set(ENVELOPE_RELS, _ser(_rels_root([("rId1", REL_CUSTOM_XML_PROPS, "c11-protectionProps.xml")])))
    prot.written.update({n: hashlib.sha256(pkg.read(n)).hexdigest() for n in prot.stash if pkg.has(n)})
    pkg.set(ENVELOPE_PART, prot.to_xml())


def _rels_root(rels: list[tuple[str, str, str]]) -> etree._Element:
    root = etree.Element(f"{{{NS_PKG_REL}}}Relationships", nsmap={None: NS_PKG_REL})  # type: ignore[dict-item]  # lxml-stubs: key None
    for rid, typ, target in rels:
        etree.SubElement(root, f"{{{NS_PKG_REL}}}Relationship", Id=rid, Type=typ, Target=target)
    return root


def restore_structure(pkg: Package, prot: Protection, where: str, main: str) -> None:
    """Undo c11's structural changes: exact originals for members no editor rewrote; otherwise
    remove c11's own entries from the rewritten versions."""
    pkg.delete(where)
    for name, original in prot.stash.items():
        current = pkg.read(name) if pkg.has(name) else None
        untouched = current is not None and hashlib.sha256(current).hexdigest() == prot.written.get(name)
        if untouched or original is None or (current is None and name not in prot.written):
            if original is None:
                if pkg.has(name):
                    pkg.delete(name)
            else:
                pkg.set(name, original)
            continue
        # rewritten by an editor: take our entries out of its version
        if name == "[Content_Types].xml" and current is not None:
            root = parse_xml(current, name)
            for o in list(root.findall(f"{{{NS_CT}}}Override")):
                if o.get("PartName") in ("/" + ENVELOPE_PART, "/" + ENVELOPE_PROPS, "/" + where):
                    root.remove(o)
            pkg.set(name, _ser(root))
        elif name.endswith(".rels") and current is not None:
            root = parse_xml(current, name)
            for r in list(root.iter(f"{{{NS_PKG_REL}}}Relationship")):
                if (
                    r.get("Type") == REL_CUSTOM_XML
                    and resolve_target(main.rpartition("/")[0], r.get("Target", "")) == where
                ):
                    root.remove(r)
            pkg.set(name, _ser(root))
    # an editor may have renamed the props part; drop its item's rels
    gone = {where}
    rn = pkg.rels_name(where)
    if pkg.has(rn) and where != ENVELOPE_PART:
        for _, typ, target, _ in pkg.relationships(where):
            if typ == REL_CUSTOM_XML_PROPS and pkg.has(target):
                pkg.delete(target)
                gone.add(target)
        pkg.delete(rn)
    _drop_references(pkg, main, gone)


def _drop_references(pkg: Package, main: str, gone: set[str]) -> None:
    """Take relationships and content types naming deleted members out (a protection part Word
    wrote for the add-in has no stash to restore them from). Nothing changes when none is left."""
    rn = pkg.rels_name(main)
    if pkg.has(rn):
        root = parse_xml(pkg.read(rn), rn)
        base = main.rpartition("/")[0]
        drop = [
            r
            for r in root.iter(f"{{{NS_PKG_REL}}}Relationship")
            if r.get("TargetMode", "Internal") != "External"
            and resolve_target(base, r.get("Target", "")) in gone
            and not pkg.has(resolve_target(base, r.get("Target", "")))
        ]
        if drop:
            for r in drop:
                root.remove(r)
            pkg.set(rn, _ser(root))
    name = "[Content_Types].xml"
    if pkg.has(name):
        root = parse_xml(pkg.read(name), name)
        drop = [
            o
            for o in root.findall(f"{{{NS_CT}}}Override")
            if (o.get("PartName") or "").lstrip("/") in gone and not pkg.has((o.get("PartName") or "").lstrip("/"))
        ]
        if drop:
            for o in drop:
                root.remove(o)
            pkg.set(name, _ser(root))


def check_not_protected(pkg: Package) -> None:
    if find_protection(pkg) is not None:
        raise UsageError(f"{pkg.label} is already protected with c11: unprotect it first")


def envelope_left(env: Envelope, opened: Opened) -> Envelope:
    """The envelope of the parts still closed (an Office document keeps it while any part is)."""
    rest = remaining(env, opened)
    if rest is None:
        raise FormatError("internal error: parts stayed closed but no envelope is left for them")
    return rest


def require_protection(pkg: Package) -> tuple[str, Protection]:
    found = find_protection(pkg)
    if found is None:
        raise IntegrityError(f"{pkg.label} has no c11 protection (not protected, or an editor removed it when saving)")
    return found


# a 1x1 light-grey PNG that replaces protected images' bytes
PLACEHOLDER_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGPo6OgAAAMEAYFL09IQAAAAAElFTkSuQmCC"
)


# ---------------------------------------------------------------- the preview thumbnail

THUMB_PREFIX = "thumbnail:"


def take_thumbnail(pkg: Package, parts: list[Part], default: list[PublicKey]) -> None:
    """A saved preview picture shows the first page as it was, protected parts included: it
    becomes a part of its own (for the readers of every part) and a grey picture replaces it."""
    for _, typ, target, mode in pkg.relationships(""):
        if typ.endswith("/metadata/thumbnail") and mode != "External" and pkg.has(target):
            original = pkg.read(target)
            if original == PLACEHOLDER_PNG:
                return
            readers = _common_readers([p.recipients for p in parts], default)
            pkg.set(target, PLACEHOLDER_PNG)
            parts.append(Part(THUMB_PREFIX + target, original, PLACEHOLDER_PNG, readers))
            return


def _common_readers(sets: list[Sequence[PublicKey] | None], default: list[PublicKey]) -> list[PublicKey] | None:
    """None (the document's recipients) when every part uses them; else the keys every part has."""
    if all(s is None for s in sets):
        return None
    return intersection(sets, default)


def thumbnail_placeholders(pkg: Package, envelope: Envelope) -> dict[str, bytes]:
    """The preview pictures c11 replaced, by location (their placeholders)."""
    out = {}
    for p in envelope.parts:
        if p.location.startswith(THUMB_PREFIX):
            name = p.location[len(THUMB_PREFIX) :]
            if pkg.has(name):
                out[p.location] = pkg.read(name)
    return out


def restore_thumbnail(pkg: Package, location: str, plaintext: bytes) -> bool:
    if not location.startswith(THUMB_PREFIX):
        return False
    name = location[len(THUMB_PREFIX) :]
    if pkg.has(name):
        pkg.set(name, plaintext)
    return True
