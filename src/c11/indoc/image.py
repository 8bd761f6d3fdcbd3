"""In-document protection of PNG and JPEG images: rectangular regions (docs/indoc-media.md).

Each region is filled with a solid colour (no pixelation: a mosaic keeps averages that can be
matched against guesses) and its original pixels (decoded, losslessly deflated) are sealed as
one part, so different regions can have different recipients. The exact original file is sealed as
one more part, `original`, for the people who may open every region: unprotecting gives back the
identical bytes when the image was not changed elsewhere meanwhile; otherwise (or for a reader who
may open only some regions) the opened regions are pasted back and the image re-encoded.

Where things live: PNG — the envelope in a private, ancillary, safe-to-copy chunk `cyPh` and the
visible note in an iTXt `Comment` chunk, both just before IEND. JPEG — the envelope in APP15
segments tagged `c11-parts` (split at 64 KiB), the visible note in a COM segment, both after the
other APPn segments.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from c11.errors import DocumentError, FormatError, IntegrityError, TooLargeError, UsageError
from c11.indoc import _limits
from c11.indoc import parts as P
from c11.indoc._handler import Handler, PartRecipients, SelectorArg, chosen_selectors
from c11.indoc._mediacommon import ORIGINAL, check_placeholders, intersection
from c11.indoc.selectors import Selector
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey

if TYPE_CHECKING:
    from PIL import Image as _PIL
    from PIL.Image import Image

Box = tuple[int, int, int, int]
#: a fill colour in some image mode: an index, a level, or a tuple of channels
Colour = float | tuple[int, ...]

PNG_SIG = b"\x89PNG\r\n\x1a\n"
ENV_CHUNK = b"cyPh"  # ancillary (c), private (y), reserved bit clear (P), safe to copy (h)
NOTE_KEYWORD = b"Comment"
APP_TAG = b"c11-parts\x00"
APP15 = 0xEF
NOTICE_PREFIX = "Parts of this image are protected with c11"
REGION_LINE = re.compile(r"c11 protected region (\d+): (\d+),(\d+),(\d+),(\d+)\Z")
# colour and metadata chunks kept from the original PNG (others may hold previews or frames)
PNG_KEEP = {b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"pHYs", b"tEXt", b"zTXt", b"iTXt"}


def notice(note: str) -> str:
    text = f"{NOTICE_PREFIX}: open it with c11 to see them."
    if note:
        text += f" Note from the author: {note}"
    return text


def _region_line(n: int, box: tuple[int, int, int, int]) -> str:
    return f"c11 protected region {n}: {box[0]},{box[1]},{box[2]},{box[3]}"


def _location(box: Box) -> str:
    return f"region:1:{box[0]},{box[1]},{box[2]},{box[3]}"


def _visible_text(note: str, boxes: Sequence[tuple[int, int, int, int]]) -> str:
    return "\n".join([notice(note)] + [_region_line(n, b) for n, b in enumerate(boxes, 1)])


def _parse_visible(text: str) -> tuple[str, list[tuple[int, tuple[int, int, int, int]]]]:
    lines = text.split("\n")
    regions: list[tuple[int, Box]] = []
    while len(lines) > 1 and (m := REGION_LINE.match(lines[-1])):
        x0, y0, x1, y1 = (int(m.group(i)) for i in range(2, 6))
        regions.insert(0, (int(m.group(1)), (x0, y0, x1, y1)))
        lines.pop()
    return "\n".join(lines), regions


# ---------------------------------------------------------------------------------------------
# PNG chunks


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(PNG_SIG):
        raise FormatError("not a PNG file")
    out, i = [], len(PNG_SIG)
    while i < len(data):
        if i + 8 > len(data):
            raise FormatError("PNG file is truncated")
        length, ctype = struct.unpack(">I4s", data[i : i + 8])
        body = data[i + 8 : i + 8 + length]
        if len(body) != length or i + 12 + length > len(data):
            raise FormatError("PNG file is truncated")
        out.append((ctype, body))
        i += 12 + length
        if ctype == b"IEND":
            break
    return out


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I4s", len(body), ctype) + body + struct.pack(">I", zlib.crc32(ctype + body) & 0xFFFFFFFF)


def _itxt(keyword: bytes, text: str) -> bytes:
    return keyword + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8")


def _read_itxt(body: bytes) -> tuple[bytes, str] | None:
    try:
        keyword, rest = body.split(b"\x00", 1)
        comp_flag = rest[0]
        _lang, rest = rest[2:].split(b"\x00", 1)
        _tkey, text = rest.split(b"\x00", 1)
        if comp_flag:
            if keyword != NOTE_KEYWORD:
                return None  # not ours: never inflated (a compressed text chunk may be a bomb)
            text = _limits.inflate(text, _limits.MAX_TEXT_CHUNK, "a compressed PNG text chunk")
        return keyword, text.decode("utf-8")
    except (ValueError, IndexError, UnicodeDecodeError, DocumentError, TooLargeError):
        return None


def _is_ours_png(ctype: bytes, body: bytes) -> bool:
    if ctype == ENV_CHUNK:
        return True
    if ctype == b"iTXt":
        r = _read_itxt(body)
        return bool(r and r[0] == NOTE_KEYWORD and r[1].startswith(NOTICE_PREFIX))
    return False


# ---------------------------------------------------------------------------------------------
# JPEG segments


def _jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """Marker segments before the first SOS as (marker, whole segment bytes), and the SOS offset."""
    if not data.startswith(b"\xff\xd8"):
        raise FormatError("not a JPEG file")
    segs: list[tuple[int, bytes]] = []
    i = 2
    while True:
        if i + 4 > len(data) or data[i] != 0xFF:
            raise FormatError("JPEG file is malformed (bad marker)")
        while i + 1 < len(data) and data[i + 1] == 0xFF:  # fill bytes
            i += 1
        if i + 4 > len(data):
            raise FormatError("JPEG file is truncated")
        marker = data[i + 1]
        if marker == 0xDA:  # SOS: entropy-coded data follows
            return segs, i
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            segs.append((marker, data[i : i + 2]))
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if length < 2 or i + 2 + length > len(data):
            raise FormatError("JPEG file is truncated")
        segs.append((marker, data[i : i + 2 + length]))
        i += 2 + length


def _is_ours_jpeg(marker: int, seg: bytes) -> bool:
    if marker == APP15 and seg[4 : 4 + len(APP_TAG)] == APP_TAG:
        return True
    return marker == 0xFE and seg[4:].decode("utf-8", "replace").startswith(NOTICE_PREFIX)


def _segment(marker: int, body: bytes) -> bytes:
    if len(body) > 65533:
        raise FormatError("JPEG segment too large")
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


# ---------------------------------------------------------------------------------------------


class ImageHandler:
    """PNG and JPEG: `region:1:x0,y0,x1,y1` in pixels (x1, y1 exclusive; origin top left)."""

    def __init__(self, kind: str):
        self.kind = kind  # "png" or "jpeg"
        self.name = kind

    # -- container helpers ------------------------------------------------------------------------
    def _split(self, data: bytes) -> tuple[bytes, P.Envelope | None, str | None]:
        """(file without c11 metadata, envelope, visible text)."""
        if self.kind == "png":
            chunks = _png_chunks(data)
            env_raw, text, rest = None, None, []
            for ctype, body in chunks:
                if ctype == ENV_CHUNK:
                    if env_raw is not None:
                        raise IntegrityError("this PNG file carries two c11 envelopes")
                    env_raw = body
                elif _is_ours_png(ctype, body):
                    itxt = _read_itxt(body)
                    text = itxt[1] if itxt is not None else None
                else:
                    rest.append(_chunk(ctype, body))
            clean = PNG_SIG + b"".join(rest)
        else:
            segs, sos = _jpeg_segments(data)
            pieces: dict[int, bytes] = {}
            total, text, rest = None, None, []
            for marker, seg in segs:
                if _is_ours_jpeg(marker, seg):
                    if marker == APP15:
                        body = seg[4 + len(APP_TAG) :]
                        idx, cnt = struct.unpack(">HH", body[:4])
                        if idx in pieces or (total is not None and cnt != total):
                            raise IntegrityError("the c11 segments of this JPEG file are inconsistent")
                        pieces[idx], total = body[4:], cnt
                    else:
                        try:
                            text = seg[4:].decode("utf-8")
                        except UnicodeDecodeError:
                            raise FormatError("the c11 note of this JPEG file is not UTF-8") from None
                else:
                    rest.append(seg)
            env_raw = None
            if pieces and total is not None:
                if sorted(pieces) != list(range(total)):
                    raise IntegrityError("some c11 segments of this JPEG file are missing")
                env_raw = b"".join(pieces[i] for i in range(total))
            clean = b"\xff\xd8" + b"".join(rest) + data[sos:]
        env = P.Envelope.from_json(env_raw) if env_raw is not None else None
        return clean, env, text

    def _join(self, clean: bytes, env: P.Envelope, text: str) -> bytes:
        raw = env.to_json()
        if self.kind == "png":
            chunks = _png_chunks(clean)
            out = [PNG_SIG]
            for ctype, body in chunks:
                if ctype == b"IEND":
                    out.append(_chunk(b"iTXt", _itxt(NOTE_KEYWORD, text)))
                    out.append(_chunk(ENV_CHUNK, raw))
                out.append(_chunk(ctype, body))
            return b"".join(out)
        segs, sos = _jpeg_segments(clean)
        at = 0
        while at < len(segs) and 0xE0 <= segs[at][0] <= 0xEF:
            at += 1
        step = 65533 - len(APP_TAG) - 4
        pieces = [raw[i : i + step] for i in range(0, len(raw), step)] or [b""]
        if len(pieces) > 0xFFFF:
            raise FormatError("the c11 envelope is too large for a JPEG file")
        ours = [_segment(0xFE, text.encode("utf-8")[:65533])]
        ours += [_segment(APP15, APP_TAG + struct.pack(">HH", i, len(pieces)) + p) for i, p in enumerate(pieces)]
        seg_bytes = [s for _, s in segs]
        return b"\xff\xd8" + b"".join(seg_bytes[:at] + ours + seg_bytes[at:]) + clean[sos:]

    # -- pixels ---------------------------------------------------------------------------------
    def _open(self, data: bytes) -> Image:
        from PIL import Image, UnidentifiedImageError

        try:
            im = Image.open(io.BytesIO(data))
            if im.size[0] * im.size[1] > _limits.MAX_PIXELS:
                raise TooLargeError(
                    f"this {self.kind.upper()} image has {im.size[0]}x{im.size[1]} pixels "
                    f"(the limit is {_limits.MAX_PIXELS:,} pixels)"
                )
            im.load()
        except Image.DecompressionBombError as e:
            raise TooLargeError(f"this {self.kind.upper()} image is too large: {e}") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as e:
            raise FormatError(f"cannot read this {self.kind.upper()} image: {e}") from None
        if getattr(im, "n_frames", 1) > 1:
            raise UsageError("animated images are not supported for in-document protection")
        return im

    def _encode(self, im: Image, template: bytes) -> bytes:
        """Encode pixels like `template` (the file they came from), keeping safe metadata only."""
        buf = io.BytesIO()
        if self.kind == "png":
            params = {}
            if "transparency" in im.info:
                params["transparency"] = im.info["transparency"]
            im.save(buf, "PNG", **params)
            new = _png_chunks(buf.getvalue())
            keep = [(t, b) for t, b in _png_chunks(template) if t in PNG_KEEP and not _is_ours_png(t, b)]
            out = [PNG_SIG]
            for ctype, body in new:
                if ctype in PNG_KEEP:
                    continue
                out.append(_chunk(ctype, body))
                if ctype == b"IHDR":
                    out.extend(_chunk(t, b) for t, b in keep)
            return b"".join(out)
        params = {"quality": "keep"} if im.format == "JPEG" and im.mode != "P" else {"quality": 95}
        if im.info.get("progressive") or im.info.get("progression"):
            params["progressive"] = True
        exif: _PIL.Exif | None = im.getexif()
        if exif is not None and len(exif):
            try:
                ifd = exif.get_ifd(0x8769)
                ifd.pop(0x927C, None)  # MakerNote: may hold a preview of the whole image
            except Exception:  # noqa: BLE001 - unreadable Exif IFD: drop Exif entirely
                exif = None
            if exif is not None:
                params["exif"] = exif.tobytes()  # IFD0 and sub-IFDs only: the thumbnail (IFD1) is dropped
        if im.info.get("icc_profile"):
            params["icc_profile"] = im.info["icc_profile"]
        if im.info.get("dpi"):
            params["dpi"] = im.info["dpi"]
        im.save(buf, "JPEG", **params)
        return buf.getvalue()

    def _boxes(self, sels: list[Selector], size: tuple[int, int]) -> list[tuple[Box, Selector]]:
        out: list[tuple[Box, Selector]] = []
        w, h = size
        for sel in sels:
            if sel.kind != "region":
                raise UsageError(f"images take region:1:x0,y0,x1,y1 selectors (pixels), not {sel.text!r}")
            if sel.page != 1 or sel.box is None:
                raise UsageError(f"{sel.text!r}: an image has one page (write region:1:x0,y0,x1,y1)")
            x0, y0, x1, y1 = (int(round(v)) for v in sel.box)
            box = (max(0, x0), max(0, y0), min(w, x1), min(h, y1))
            if box[2] <= box[0] or box[3] <= box[1]:
                raise UsageError(f"{sel.text!r} lies outside the {w}x{h} image")
            out.append((box, sel))
        return out

    def _redact(self, im: Image, box: Box) -> None:
        from PIL import ImageDraw

        dark, light = _colours(im)
        draw = ImageDraw.Draw(im)
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=dark)
        if box[2] - box[0] >= 40 and box[3] - box[1] >= 14:
            try:
                label = "c11" if box[2] - box[0] < 130 else "Protected with c11"
                draw.text((box[0] + 3, box[1] + 2), label, fill=light)
            except (ValueError, TypeError, OSError):
                pass

    # -- protocol ---------------------------------------------------------------------------------
    def protect(
        self,
        data: bytes,
        selectors: Sequence[SelectorArg],
        recipients: Sequence[PublicKey],
        sender: Identity,
        *,
        note: str = "",
        part_recipients: PartRecipients | None = None,
        matches: Sequence[str] = (),
        label: str = "document",
    ) -> bytes:
        sels = chosen_selectors(selectors, matches, part_recipients)
        clean, env, _ = self._split(data)
        if env is not None:
            raise UsageError("this image is already protected with c11; unprotect it first")
        im = self._open(data)
        boxes = self._boxes(sels, im.size)
        if len({b for b, _ in boxes}) != len(boxes):
            raise UsageError("the same region is chosen twice")
        crops = [_pack_pixels(im.crop(box)) for box, _ in boxes]
        for box, _ in boxes:
            self._redact(im, box)
        protected = self._encode(im, data)
        digest = hashlib.sha256(protected).hexdigest().encode()
        text = _visible_text(note, [b for b, _ in boxes])
        rsets = [sel.recipients for _, sel in boxes]
        parts = [
            P.Part(_location(box), crop, _region_line(n, box).encode(), rs)
            for n, ((box, _), crop, rs) in enumerate(zip(boxes, crops, rsets, strict=True), 1)
        ]
        parts.append(P.Part(ORIGINAL, data, digest, intersection(rsets, list(recipients))))
        env = P.seal(parts, list(recipients), sender, note=note)
        out = self._join(protected, env, text)
        self._open(out)
        return out

    def unprotect(
        self, data: bytes, identities: Sequence[Identity], *, label: str = "document"
    ) -> tuple[bytes, P.Opened]:
        clean, env, text = self._split(data)
        if env is None:
            raise FormatError(f"this {self.kind.upper()} image has no c11 protected parts")
        if text is None:
            raise IntegrityError("the c11 note of this image was removed")
        visible, regions = _parse_visible(text)
        if visible != notice(env.note):
            raise IntegrityError("the c11 note of this image was edited")
        current: dict[str, bytes] = {}
        for n, box in regions:
            loc = _location(box)
            if loc in current:
                raise IntegrityError(f"protected part {loc!r} appears twice (duplicated region)")
            current[loc] = _region_line(n, box).encode()
        digest = hashlib.sha256(clean).hexdigest().encode()
        orig = next((p for p in env.parts if p.location == ORIGINAL), None)
        unchanged = orig is not None and hashlib.sha256(digest).digest() == orig.placeholder_sha256
        if unchanged:
            current[ORIGINAL] = digest
        check_placeholders(env, current, skip=() if unchanged else (ORIGINAL,))
        opened = P.open_parts(env, list(identities), None)
        if unchanged and ORIGINAL in opened.plaintexts:
            return opened.plaintexts[ORIGINAL], opened
        im = self._open(clean)
        for _, box in regions:
            crop = opened.plaintexts.get(_location(box))
            if crop is not None:
                piece = _unpack_pixels(crop)
                if piece.mode != im.mode:
                    piece = piece.convert(im.mode)
                if piece.size != (box[2] - box[0], box[3] - box[1]):
                    raise IntegrityError(f"protected region {box} does not fit the image")
                im.paste(piece, box[:2])
        out = self._encode(im, clean)
        rest = P.remaining(env, opened)
        if rest is None:
            return out, opened
        left = [(n, b) for n, b in regions if _location(b) not in opened.plaintexts]
        text = "\n".join([notice(env.note)] + [_region_line(n, b) for n, b in left])
        return self._join(out, rest, text), opened

    def read_envelope(self, data: bytes, *, label: str = "document") -> P.Envelope | None:
        return self._split(data)[1]

    def write_envelope(self, data: bytes, envelope: P.Envelope, *, label: str = "document") -> bytes:
        clean, env, text = self._split(data)
        if env is None or text is None:
            raise FormatError(f"this {self.kind.upper()} image has no c11 protected parts")
        return self._join(clean, envelope, text)


def _pack_pixels(im: Image) -> bytes:
    """Lossless bytes of decoded pixels: mode and size, then the raw pixels deflated."""
    head = f"{im.mode} {im.size[0]} {im.size[1]}".encode()
    return b"c11px1\x00" + head + b"\x00" + zlib.compress(im.tobytes(), 6)


def _unpack_pixels(data: bytes) -> Image:
    from PIL import Image

    try:
        magic, head, body = data.split(b"\x00", 2)
        if magic != b"c11px1":
            raise ValueError
        mode, w, h = head.decode().split(" ")
        if int(w) * int(h) > _limits.MAX_PIXELS:
            raise ValueError("too many pixels")
        return Image.frombytes(mode, (int(w), int(h)), _limits.inflate(body, 8 * _limits.MAX_PIXELS, "a region"))
    except (ValueError, DocumentError):
        raise FormatError("a protected image region is malformed") from None


def _colours(im: Image) -> tuple[Colour, Colour]:
    """A dark and a light colour of the image's mode (palette entries for a palette image)."""
    mode = im.mode
    if mode == "P":
        pal = im.getpalette() or []
        trns = im.info.get("transparency")
        entries = [tuple(pal[i : i + 3]) for i in range(0, len(pal), 3)]
        opaque = [
            i
            for i in range(len(entries))
            if not (isinstance(trns, int) and i == trns)
            and not (isinstance(trns, bytes) and i < len(trns) and trns[i] < 255)
        ]
        if not opaque:
            return 0, 0
        dark = min(opaque, key=lambda i: sum(entries[i]))
        light = max(opaque, key=lambda i: sum(entries[i]))
        return dark, light
    table: dict[str, tuple[Colour, Colour]] = {
        "1": (0, 1),
        "L": (60, 230),
        "LA": ((60, 255), (230, 255)),
        "RGB": ((60, 60, 60), (230, 230, 230)),
        "RGBA": ((60, 60, 60, 255), (230, 230, 230, 255)),
        "CMYK": ((0, 0, 0, 200), (0, 0, 0, 10)),
        "YCbCr": ((60, 128, 128), (230, 128, 128)),
        "I;16": (15000, 60000),
        "I": (15000, 60000),
        "F": (0.2, 0.9),
        "La": ((60, 255), (230, 255)),
        "RGBa": ((60, 60, 60, 255), (230, 230, 230, 255)),
    }
    return table.get(mode, (0, 0))


PNG_HANDLER: Handler = ImageHandler("png")
JPEG_HANDLER: Handler = ImageHandler("jpeg")
