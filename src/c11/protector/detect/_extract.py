"""Text of a document for the detectors: Word and Excel through the in-document code's bounded OOXML reader
(c11.indoc), PDF through pypdf, and text formats (json, csv, md, yaml, txt...) decoded as UTF-8."""

from __future__ import annotations

import io
import re
from pathlib import PurePosixPath

#: extensions read as text without sniffing
TEXT_EXTENSIONS = frozenset(
    ".txt .md .markdown .csv .tsv .json .jsonl .ndjson .yaml .yml .xml .html .htm .log .ini .cfg .conf .env .toml"
    " .properties .sql .py .js .ts .sh .ps1 .rb .go .java .cs .php .tf .pem .key .eml .rtf".split()
)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_S = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_WORD_PARTS = re.compile(r"word/(?:document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml")
_SHEET = re.compile(r"xl/worksheets/sheet\d+\.xml")


class ExtractError(Exception):
    """The content could not be read as its type says (damaged, encrypted, too large)."""


def kind_of(name: str, data: bytes) -> str:
    """ "docx", "xlsx", "pdf", "text" or "binary", by extension, then by content."""
    ext = PurePosixPath(name.lower()).suffix
    if ext in (".docx", ".docm") or (data[:2] == b"PK" and ext in (".dotx",)):
        return "docx"
    if ext in (".xlsx", ".xlsm"):
        return "xlsx"
    if ext == ".pdf" or data[:5] == b"%PDF-":
        return "pdf"
    if ext in TEXT_EXTENSIONS:
        return "text"
    head = data[:8192]
    if b"\x00" in head:
        return "binary"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 4:  # not just a character cut at the sniffed window's end
            return "binary"
    return "text"


def extract_text(name: str, data: bytes, *, max_chars: int, max_pages: int = 500) -> tuple[str, str]:
    """(kind, text) of `data`: at most `max_chars` characters (`ExtractError` if it cannot be read)."""
    kind = kind_of(name, data)
    if kind == "text":
        text = data[: max_chars * 4].decode("utf-8", errors="replace")
    elif kind == "docx":
        text = _docx(name, data)
    elif kind == "xlsx":
        text = _xlsx(name, data)
    elif kind == "pdf":
        text = _pdf(data, max_pages)
    else:
        return kind, ""
    return kind, text[:max_chars]


def _package(name: str, data: bytes) -> object:
    from c11.errors import C11Error
    from c11.indoc import _ooxml

    try:
        return _ooxml.Package(data, name)
    except C11Error as e:
        raise ExtractError(str(e)) from None


def _docx(name: str, data: bytes) -> str:
    from c11.errors import C11Error
    from c11.indoc import _ooxml

    pkg = _package(name, data)
    assert isinstance(pkg, _ooxml.Package)
    out: list[str] = []
    try:
        for part in sorted(n for n in pkg.names() if _WORD_PARTS.fullmatch(n)):
            root = _ooxml.parse_xml(pkg.read(part), part)
            for p in root.iter(f"{_W}p"):
                out.append("".join(t.text or "" for t in p.iter(f"{_W}t")))
    except C11Error as e:
        raise ExtractError(str(e)) from None
    return "\n".join(out)


def _xlsx(name: str, data: bytes) -> str:
    from c11.errors import C11Error
    from c11.indoc import _ooxml

    pkg = _package(name, data)
    assert isinstance(pkg, _ooxml.Package)
    out: list[str] = []
    try:
        shared: list[str] = []
        if pkg.has("xl/sharedStrings.xml"):
            root = _ooxml.parse_xml(pkg.read("xl/sharedStrings.xml"), "sharedStrings")
            shared = ["".join(t.text or "" for t in si.iter(f"{_S}t")) for si in root.iter(f"{_S}si")]
        for part in sorted(n for n in pkg.names() if _SHEET.fullmatch(n)):
            root = _ooxml.parse_xml(pkg.read(part), part)
            for row in root.iter(f"{_S}row"):
                cells = []
                for c in row.iter(f"{_S}c"):
                    t = c.get("t")
                    v = c.find(f"{_S}v")
                    if t == "s" and v is not None and (v.text or "").isdigit() and int(v.text or 0) < len(shared):
                        cells.append(shared[int(v.text or 0)])
                    elif t == "inlineStr":
                        cells.append("".join(x.text or "" for x in c.iter(f"{_S}t")))
                    elif v is not None:
                        cells.append(v.text or "")
                out.append("\t".join(cells))
    except C11Error as e:
        raise ExtractError(str(e)) from None
    return "\n".join(out)


def _pdf(data: bytes, max_pages: int) -> str:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError as e:
        raise ModuleNotFoundError("pypdf is needed to read PDF text", name="pypdf") from e
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractError("the PDF is password-encrypted")
        return "\n".join(page.extract_text() or "" for page in list(reader.pages)[:max_pages])
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise ExtractError(f"damaged PDF ({type(e).__name__})") from None
