"""PNG and JPEG handler: regions painted over, exact restore, metadata, tamper detection."""

from __future__ import annotations

import io
import json

import pytest
from media_corpus import IMAGE_KINDS, image_bytes
from PIL import Image

from c11.errors import FormatError, IntegrityError, NoMatchingKeyError, UsageError
from c11.indoc import image as I
from c11.indoc.image import JPEG_HANDLER, PNG_HANDLER

REGION = "region:1:5,5,80,30"  # the "SECRET 42" text
DISC = "region:1:88,38,152,97"  # the red disc


def handler(kind):
    return PNG_HANDLER if kind.startswith("png") else JPEG_HANDLER


def pixels(data: bytes, box):
    im = Image.open(io.BytesIO(data))
    return [im.getpixel((x, y)) for y in range(box[1], box[3]) for x in range(box[0], box[2])]


@pytest.mark.parametrize("kind", IMAGE_KINDS)
def test_protect_and_restore_exactly(kind, alice, bob):
    data = image_bytes(kind)
    h = handler(kind)
    out = h.protect(data, [REGION, DISC], [bob.public], alice, note="Ask Ann")
    im = Image.open(io.BytesIO(out))
    im.load()
    orig = Image.open(io.BytesIO(data))
    assert im.size == orig.size and im.format == orig.format
    # the region is one solid colour (JPEG: nearly solid), nothing of the original left
    box = (6, 22, 79, 29)  # below the small "c11" label
    vals = pixels(out, box)
    if kind.startswith("png"):
        assert len(set(vals)) == 1
    else:
        flat = [v if isinstance(v, int) else v[0] for v in vals]
        assert max(flat) - min(flat) < 40
    assert pixels(data, box) != vals
    # the note is readable metadata
    text = im.info.get("Comment") if kind.startswith("png") else im.info.get("comment", b"").decode()
    assert "Ask Ann" in text and "c11 protected region 1: 5,5,80,30" in text
    back, opened = h.unprotect(out, [bob])
    assert back == data
    assert opened.closed == []
    assert h.unprotect(out, [alice])[0] == data


def test_outside_regions_untouched_png(alice, bob):
    data = image_bytes("png-rgba")
    out = PNG_HANDLER.protect(data, [REGION], [bob.public], alice)
    assert pixels(out, (0, 40, 160, 100)) == pixels(data, (0, 40, 160, 100))


def test_jpeg_metadata_that_could_show_the_picture_is_dropped(alice, bob):
    data = image_bytes("jpeg-exif")
    orig = Image.open(io.BytesIO(data))
    assert orig.getexif().get_ifd(0x0) is not None
    out = JPEG_HANDLER.protect(data, [REGION], [bob.public], alice)
    segs, _ = I._jpeg_segments(out)
    exif = [s for m, s in segs if m == 0xE1 and s[4:10] == b"Exif\x00\x00"]
    assert exif, "Exif kept"
    assert b"\xff\xd8" not in exif[0][10:], "the Exif thumbnail must be gone"
    assert Image.open(io.BytesIO(out)).getexif()[0x010F] == "CameraMaker"
    assert Image.open(io.BytesIO(out)).info.get("progressive") == orig.info.get("progressive")
    assert JPEG_HANDLER.unprotect(out, [bob])[0] == data


def test_progressive_stays_progressive(alice, bob):
    data = image_bytes("jpeg-progressive")
    out = JPEG_HANDLER.protect(data, [REGION], [bob.public], alice)
    assert Image.open(io.BytesIO(out)).info.get("progressive")


def test_large_envelope_split_across_app15_segments(alice, bob):
    big = Image.effect_noise((700, 500), 90).convert("RGB")
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=95)
    data = buf.getvalue()
    out = JPEG_HANDLER.protect(data, ["region:1:0,0,600,450"], [bob.public], alice)
    segs, _ = I._jpeg_segments(out)
    ours = [s for m, s in segs if m == I.APP15]
    assert len(ours) > 2 and all(len(s) <= 65537 for s in ours)
    Image.open(io.BytesIO(out)).load()
    assert JPEG_HANDLER.unprotect(out, [bob])[0] == data


def test_png_chunk_is_private_ancillary_safe_to_copy(alice, bob):
    out = PNG_HANDLER.protect(image_bytes("png-gray"), [REGION], [bob.public], alice)
    names = [t for t, _ in I._png_chunks(out)]
    assert I.ENV_CHUNK in names and names[-1] == b"IEND"
    t = I.ENV_CHUNK
    assert t[0] & 0x20 and t[1] & 0x20 and not t[2] & 0x20 and t[3] & 0x20


def test_different_recipients_per_region(alice, bob, carol):
    data = image_bytes("png-rgba")
    out = PNG_HANDLER.protect(data, [REGION, DISC], [bob.public], alice, part_recipients={DISC: [carol.public]})
    b_view, opened = PNG_HANDLER.unprotect(out, [bob])
    assert sorted(opened.closed) == ["original", "region:1:88,38,152,97"]
    assert pixels(b_view, (5, 5, 80, 30)) == pixels(data, (5, 5, 80, 30))
    assert pixels(b_view, (90, 40, 150, 95)) != pixels(data, (90, 40, 150, 95))
    c_view, opened = PNG_HANDLER.unprotect(b_view, [carol])
    assert pixels(c_view, (0, 0, 160, 100)) == pixels(data, (0, 0, 160, 100))
    assert PNG_HANDLER.read_envelope(c_view) is not None  # the exact original, for alice only
    assert PNG_HANDLER.unprotect(out, [alice])[0] == data
    with pytest.raises(NoMatchingKeyError):
        PNG_HANDLER.unprotect(out, [pytest.importorskip("c11.keys").Identity.generate("x", kem="x25519")])


def _rewrite_png(data: bytes, fn) -> bytes:
    out = [I.PNG_SIG]
    for t, b in I._png_chunks(data):
        t, b = fn(t, b)
        if t is not None:
            out.append(I._chunk(t, b))
    return b"".join(out)


def test_tampering_refused(alice, bob):
    data = image_bytes("png-rgba")
    out = PNG_HANDLER.protect(data, [REGION, DISC], [bob.public], alice, note="note")

    def edit_text(old, new):
        def fn(t, b):
            if t == b"iTXt" and old.encode() in b:
                return t, b.replace(old.encode(), new.encode())
            return t, b

        return fn

    def edit_env(change):
        def fn(t, b):
            if t == I.ENV_CHUNK:
                env = json.loads(b)
                change(env)
                return t, json.dumps(env).encode()
            return t, b

        return fn

    def swap(env):
        p = env["parts"]
        p[0]["ct"], p[1]["ct"] = p[1]["ct"], p[0]["ct"]
        p[0]["nonce"], p[1]["nonce"] = p[1]["nonce"], p[0]["nonce"]

    def move(env):
        env["parts"][0]["loc"] = "region:1:6,5,81,30"

    cases = [
        edit_text("Note from the author: note", "Note from the author: other"),  # note edited
        edit_text("region 1: 5,5,80,30", "region 1: 6,5,81,30"),  # placeholder moved
        edit_text("region 1: 5,5,80,30\nc11 protected region 2", "region 2: 5,5,80,30\nc11 protected region 1"),
        edit_env(swap),
        edit_env(move),
        edit_env(lambda env: env["parts"].append(dict(env["parts"][0]))),  # duplicated
        edit_env(lambda env: env.__setitem__("note", "other")),
    ]
    for fn in cases:
        with pytest.raises(IntegrityError) as e:
            PNG_HANDLER.unprotect(_rewrite_png(out, fn), [bob])
        assert "\n" not in str(e.value)


def test_bad_input(alice, bob):
    data = image_bytes("png-gray")
    with pytest.raises(UsageError):
        PNG_HANDLER.protect(data, ["region:1:500,500,600,600"], [bob.public], alice)
    with pytest.raises(UsageError):
        PNG_HANDLER.protect(data, ["page:1"], [bob.public], alice)
    with pytest.raises(FormatError):
        PNG_HANDLER.protect(b"not an image", [REGION], [bob.public], alice)
    with pytest.raises(FormatError):
        JPEG_HANDLER.unprotect(image_bytes("jpeg-gray"), [bob])


def test_jpeg_tampering_refused(alice, bob):
    data = image_bytes("jpeg-progressive")
    out = JPEG_HANDLER.protect(data, [REGION, DISC], [bob.public], alice, note="note")
    segs, sos = I._jpeg_segments(out)

    def rebuild(fn):
        return b"\xff\xd8" + b"".join(fn(m, s) for m, s in segs) + out[sos:]

    def com(old, new):
        def fn(m, s):
            if m == 0xFE and old.encode() in s:
                body = s[4:].replace(old.encode(), new.encode())
                return I._segment(0xFE, body)
            return s

        return fn

    def drop_second_app15(m, s):
        return b"" if m == I.APP15 and s[4 + len(I.APP_TAG) : 4 + len(I.APP_TAG) + 2] == b"\x00\x01" else s

    cases = [
        com("region 1: 5,5,80,30", "region 1: 5,6,80,31"),
        com("Note from the author: note", "Note from the author: edited"),
        com("region 1: 5,5,80,30\nc11 protected region 2", "region 2: 5,5,80,30\nc11 protected region 1"),
    ]
    for fn in cases:
        with pytest.raises(IntegrityError):
            JPEG_HANDLER.unprotect(rebuild(fn), [bob])
    if sum(1 for m, s in segs if m == I.APP15) > 1:
        with pytest.raises(IntegrityError):
            JPEG_HANDLER.unprotect(rebuild(drop_second_app15), [bob])
    # pixels edited elsewhere: still opens, regions pasted back, edit kept
    im = Image.open(io.BytesIO(out))
    im.load()
    edited_pixels = im.copy()
    edited_pixels.putpixel((150, 5), (0, 255, 0))
    buf = io.BytesIO()
    edited_pixels.save(buf, "JPEG", quality=95)
    env_segs = [s for m, s in segs if I._is_ours_jpeg(m, s)]
    e_segs, e_sos = I._jpeg_segments(buf.getvalue())
    edited = b"\xff\xd8" + b"".join(s for _, s in e_segs) + b"".join(env_segs) + buf.getvalue()[e_sos:]
    back, opened = JPEG_HANDLER.unprotect(edited, [bob])
    assert back != data and opened.closed == []
    assert JPEG_HANDLER.read_envelope(back) is None


def test_png_keeps_safe_metadata(alice, bob):
    data = image_bytes("png-text-dpi")
    out = PNG_HANDLER.protect(data, [REGION], [bob.public], alice)
    im = Image.open(io.BytesIO(out))
    assert im.info.get("Author") == "someone"
    assert tuple(round(v) for v in im.info["dpi"]) == (300, 300)
