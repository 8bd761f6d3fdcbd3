"""Size bounds of the in-document readers, and the mapping of library errors to typed c11 errors.

Every decompression and every size a document declares is bounded here (docs/indoc.md §Limits), so
a small hostile file (a zip bomb, a deflated PNG text chunk, a PDF FlateDecode stream, YAML aliases)
fails fast with `TooLargeError` instead of using gigabytes. `typed_errors` turns the exceptions of
the parsing libraries (zipfile, zlib, lxml, pikepdf, Pillow, PyYAML, struct...) into `DocumentError`.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable
from typing import TypeVar

from c11.errors import C11Error, DocumentError, TooLargeError

#: Largest document read at all (the whole file is held in memory).
MAX_DOCUMENT = 1 << 30
#: Largest decompressed zip member of a .docx/.xlsx (declared size and actual size).
MAX_MEMBER = 128 << 20
#: All the members of one package that c11 reads, together.
MAX_INFLATED = 512 << 20
#: Members above this size must not inflate more than MAX_RATIO times their compressed size.
RATIO_FLOOR = 1 << 20
#: Deflate bomb ratio (Apache POI's ZipSecureFile refuses above 100:1 the same way).
MAX_RATIO = 100
#: Largest decompressed PDF stream, and all of a PDF's decoded streams together.
MAX_PDF_STREAM = 128 << 20
MAX_PDF_TOTAL = 512 << 20
#: Largest decompressed PNG text chunk (Pillow's own limit for text chunks is 1 MB too).
MAX_TEXT_CHUNK = 1 << 20
#: Largest image c11 decodes, in pixels (Pillow refuses above twice its 89 M default; this is lower).
MAX_PIXELS = 64_000_000
#: Deepest nesting of JSON/YAML c11 walks, and most YAML nodes (aliases expanded) it accepts.
MAX_DEPTH = 200
MAX_YAML_NODES = 1_000_000

T = TypeVar("T")


def inflate(data: bytes, limit: int, what: str, *, wbits: int = zlib.MAX_WBITS) -> bytes:
    """zlib-decompress `data`, refusing (TooLargeError) output over `limit` bytes before making it."""
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as e:
        raise DocumentError(f"{what} is damaged (compressed data: {e})") from None
    if len(out) > limit or d.unconsumed_tail:
        raise TooLargeError(f"{what} expands to more than {_size(limit)} (a decompression bomb?)")
    return out


def inflated_size(data: bytes, limit: int, what: str, *, wbits: int = zlib.MAX_WBITS, lenient: bool = False) -> int:
    """How many bytes `data` inflates to, counted in 1 MiB steps (never held); TooLargeError over `limit`.
    Damaged data is a DocumentError, or with `lenient` counts what inflated before the damage."""
    d = zlib.decompressobj(wbits)
    total, buf = 0, data
    try:
        while buf:
            chunk = d.decompress(buf, 1 << 20)
            total += len(chunk)
            if total > limit:
                raise TooLargeError(f"{what} expands to more than {_size(limit)} (a decompression bomb?)")
            buf = d.unconsumed_tail
            if not chunk and not buf:
                break
        total += len(d.flush())
    except zlib.error as e:
        if lenient:
            return total
        raise DocumentError(f"{what} is damaged (compressed data: {e})") from None
    if total > limit:
        raise TooLargeError(f"{what} expands to more than {_size(limit)} (a decompression bomb?)")
    return total


def check_member(name: str, declared: int, compressed: int, label: str) -> None:
    """Refuse a zip member whose declared size is over MAX_MEMBER or whose ratio is a bomb's."""
    if declared > MAX_MEMBER:
        raise TooLargeError(f"{label}: member {name} declares {_size(declared)} (the limit is {_size(MAX_MEMBER)})")
    if declared > RATIO_FLOOR and declared > MAX_RATIO * max(compressed, 1):
        raise TooLargeError(
            f"{label}: member {name} inflates {declared // max(compressed, 1)} times "
            f"(more than {MAX_RATIO}:1, a zip bomb?)"
        )


def _size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 else f"{n} bytes"


def _library_errors() -> tuple[type[BaseException], ...]:
    """Exception types of the parsing libraries that mean "this input is malformed"."""
    import csv
    import struct
    import zipfile

    found: list[type[BaseException]] = [
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        struct.error,
        EOFError,
        UnicodeError,
        RecursionError,
        OverflowError,
        csv.Error,
    ]
    try:
        from lxml import etree

        found.append(etree.LxmlError)
    except ImportError:  # pragma: no cover - lxml is a dependency
        pass
    try:
        import pikepdf

        found += [
            pikepdf.PdfError,
            getattr(pikepdf, "PikepdfError", pikepdf.PdfError),
            getattr(pikepdf, "QpdfRuntimeError", pikepdf.PdfError),
        ]
    except ImportError:  # pragma: no cover
        pass
    try:
        from PIL import Image, UnidentifiedImageError

        found += [UnidentifiedImageError, Image.DecompressionBombError]
    except ImportError:  # pragma: no cover
        pass
    try:
        import yaml

        found.append(yaml.YAMLError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(found)


@functools.cache
def library_errors() -> tuple[type[BaseException], ...]:
    return _library_errors()


def describe(e: BaseException) -> str:
    """One line naming what went wrong in a library, without a traceback."""
    if isinstance(e, RecursionError):
        return "nested too deeply"
    if isinstance(e, MemoryError):
        return "too large to read"
    first = (str(e).strip().splitlines() or [""])[0][:200]
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


def typed_errors(fn: Callable[..., T], what: str) -> Callable[..., T]:
    """`fn` with every library error turned into a one-line DocumentError (c11 errors pass through)."""

    @functools.wraps(fn)
    def wrapper(*args: object, **kw: object) -> T:
        try:
            return fn(*args, **kw)
        except C11Error:
            raise
        except MemoryError:
            raise TooLargeError(f"{kw.get('label') or what}: too large to read") from None
        except library_errors() as e:
            raise DocumentError(f"{kw.get('label') or what}: cannot read it ({describe(e)})") from None

    return wrapper
