"""Every media/structured format through the SDK: protect, inspect, re-encrypt, unprotect."""

from __future__ import annotations

import pytest
from media_corpus import image_bytes, reportlab_pdf

from c11.errors import NoMatchingKeyError
from c11.indoc import HANDLERS, api, handler_for

DOCS = {
    ".json": (b'{"name": "x", "ssn": "123-45-6789"}\n', ["key:ssn"]),
    ".yaml": (b"name: x\nssn: 123-45-6789\n", ["path:/ssn"]),
    ".yml": (b"name: x\nssn: 123-45-6789\n", ["key:ssn"]),
    ".csv": (b"name,ssn\nx,123-45-6789\n", ["column:ssn"]),
    ".md": (b"# Title\n\nssn 123-45-6789\n", ["match:\\d{3}-\\d{2}-\\d{4}"]),
    ".png": (None, ["region:1:0,0,60,30"]),
    ".jpg": (None, ["region:1:0,0,60,30"]),
    ".jpeg": (None, ["region:1:0,0,60,30"]),
    ".pdf": (None, ["page:2", "region:1:60,80,400,110"]),
}


def source(ext: str) -> bytes:
    data = DOCS[ext][0]
    if data is not None:
        return data
    if ext == ".png":
        return image_bytes("png-rgba")
    if ext in (".jpg", ".jpeg"):
        return image_bytes("jpeg-exif")
    return reportlab_pdf()


@pytest.mark.parametrize("ext", sorted(DOCS))
def test_sdk_roundtrip(ext, tmp_path, alice, bob, carol):
    assert ext in HANDLERS
    assert handler_for("x" + ext).name
    data = source(ext)
    src = tmp_path / f"doc{ext}"
    src.write_bytes(data)
    out_path = api.default_output(src, "protect")
    api.protect_document(src, DOCS[ext][1], [bob.public], alice, note="for the team", output=out_path)
    info = api.inspect_document(out_path)
    assert info["note"] == "for the team" and info["signature_valid"]
    with pytest.raises(NoMatchingKeyError):
        api.unprotect_document(out_path, [carol])
    api.reencrypt_document(out_path, bob, add=[carol.public])
    res = api.unprotect_document(out_path, [carol], output=tmp_path / f"back{ext}")
    assert res.closed == [] and res.data == data
    api.reencrypt_document(out_path, alice, remove=[carol.fingerprint])
    with pytest.raises(NoMatchingKeyError):
        api.unprotect_document(out_path, [carol])
    assert api.unprotect_document(out_path, [bob]).data == data
