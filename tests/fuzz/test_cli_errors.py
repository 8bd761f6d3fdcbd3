"""Malformed inputs through the real CLI (issue 12 item 13): each is one `c11: error:` line on stderr and
exit status 1 or 2 — no traceback, not "unexpected ..." (status 70), not "aborted" (status 130).

The table covers what used to escape untyped: zip errors (bad CRC, unsupported zip version), pikepdf,
Pillow, YAML and JSON recursion, struct errors, EOF inside a file, times no calendar holds.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import targets

SRC = Path(__file__).resolve().parents[2] / "src"


def _seed(name: str) -> bytes:
    return (targets.CORPUS / name).read_bytes()


def _flip_in_member(zip_bytes: bytes, member: str) -> bytes:
    """Flip one byte in the compressed data of `member` (its CRC no longer matches)."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        info = zf.getinfo(member)
    off = info.header_offset
    start = (
        off
        + 30
        + int.from_bytes(zip_bytes[off + 26 : off + 28], "little")
        + int.from_bytes(zip_bytes[off + 28 : off + 30], "little")
    )
    pos = start + info.compress_size // 2
    return zip_bytes[:pos] + bytes([zip_bytes[pos] ^ 0x55]) + zip_bytes[pos + 1 :]


def _far_future_file() -> bytes:
    from c11 import files

    out = io.BytesIO()
    files.encrypt(
        io.BytesIO(b"hi"),
        out,
        [targets.identity().public],
        targets.sender(),
        options=files.HeaderOptions(created=(1 << 64) - 1),
    )
    return out.getvalue()


def _jpeg_bad_note() -> bytes:
    data = _seed("indoc_jpeg/protected.jpeg")
    i = data.index(b"Parts of this image")
    i += len("Parts of this image are protected with c11")  # inside the note, after the part c11 recognises
    return data[:i] + b"\xa1" + data[i + 1 :]


#: name, file name, bytes builder, command (FILE and KEY are replaced), expected words
CASES = [
    (
        "truncated c11",
        "cut.c11",
        lambda: _seed("file/file.c11")[:40],
        ["decrypt", "-i", "KEY", "-o", "-", "FILE"],
        "truncated",
    ),
    ("far-future time", "future.c11", _far_future_file, ["inspect", "FILE"], None),
    (
        "bundle bad CRC",
        "bad.c11.zip",
        lambda: _flip_in_member(_seed("bundle/proj.c11.zip"), "manifest.c11"),
        ["decrypt", "-i", "KEY", "-o", "OUT", "FILE"],
        "damaged bundle",
    ),
    (
        "armor bad base64",
        "m.asc",
        lambda: _seed("armor/message.asc").replace(b"\n", b"\n*", 2)[::-1].replace(b"*\n", b"\n", 1)[::-1],
        ["decrypt", "-i", "KEY", "-o", "-", "FILE"],
        "armored message",
    ),
    (
        "docx truncated",
        "cut.docx",
        lambda: _seed("indoc_docx/protected.docx")[:5000],
        ["inspect", "FILE"],
        "not a valid Office document",
    ),
    (
        "docx bad CRC",
        "crc.docx",
        lambda: _flip_in_member(_seed("indoc_docx/protected.docx"), "word/document.xml"),
        ["unprotect", "-i", "KEY", "-o", "OUT.docx", "FILE"],
        "word/document.xml is damaged",
    ),
    (
        "xlsx zip version",
        "v.xlsx",
        lambda: _seed("indoc_xlsx/finding-86ab244d6d6c"),
        ["inspect", "FILE"],
        "not a valid Office document",
    ),
    ("pdf garbage", "g.pdf", lambda: b"%PDF-1.7\n" + os.urandom(3000), ["inspect", "FILE"], "PDF"),
    (
        "pdf bad stream",
        "s.pdf",
        lambda: _seed("indoc_pdf/protected.pdf").replace(b"stream\n", b"stream\nxx", 3),
        ["unprotect", "-i", "KEY", "-o", "OUT.pdf", "FILE"],
        None,
    ),
    (
        "png truncated",
        "cut.png",
        lambda: _seed("indoc_png/protected.png")[:300],
        ["unprotect", "-i", "KEY", "-o", "OUT.png", "FILE"],
        "PNG",
    ),
    ("jpeg note not UTF-8", "n.jpeg", _jpeg_bad_note, ["unprotect", "-i", "KEY", "-o", "OUT.jpeg", "FILE"], "UTF-8"),
    ("yaml deep", "d.yaml", lambda: b"a: " + b"[" * 5000 + b"]" * 5000, ["inspect", "FILE"], "nested"),
    ("json deep", "d.json", lambda: b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", ["inspect", "FILE"], "nested"),
    ("csv bad", "b.csv", lambda: b'a,b\n"x,1\n' + b"\x00" * 10, ["inspect", "FILE"], None),
    ("key file nested", "k.key", lambda: b"[" * 100_000, ["pubkey", "FILE"], "key file"),
    ("key file not JSON", "k2.key", lambda: b"\xff\xfe garbage", ["pubkey", "FILE"], "key file"),
    (
        "recipients garbage",
        "r.txt",
        lambda: b"c11:x25519:AAAA\n",
        ["encrypt", "-R", "FILE", "-o", "OUT.c11", "KEY"],
        "line 1",
    ),
    (
        "recipients nested JSON",
        "r.json",
        lambda: b"{" + b"[" * 100_000,
        ["encrypt", "-R", "FILE", "-o", "OUT.c11", "KEY"],
        "not a recipients file",
    ),
    ("empty stdin", "-", lambda: b"", ["decrypt", "-i", "KEY", "-o", "-"], None),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from c11.keys import keyfile

    tmp = tmp_path_factory.mktemp("cli-errors")
    keyfile.write(tmp / "me.key", targets.identity(), None)
    return tmp


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_malformed_input_is_one_typed_line(case, workdir: Path):
    name, fname, build, args, words = case
    data = build()
    path = workdir / fname
    if fname != "-":
        path.write_bytes(data)
    argv = [
        str(path)
        if a == "FILE"
        else str(workdir / "me.key")
        if a == "KEY"
        else str(workdir / ("out-" + fname + a[3:]))
        if a.startswith("OUT")
        else a
        for a in args
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("C11_")}
    env.update(PYTHONPATH=str(SRC), C11_CONFIG_DIR=str(workdir / "cfg"), HOME=str(workdir))
    p = subprocess.run(
        [sys.executable, "-m", "c11.cli.main", *argv],
        input=data if fname == "-" else b"",
        capture_output=True,
        env=env,
        timeout=120,
    )
    err = p.stderr.decode(errors="replace")
    assert "Traceback" not in err and "unexpected" not in err and "aborted" not in err, err
    if name == "far-future time":  # readable: the time is shown as it is, not a crash
        assert p.returncode == 0 and "out of range" in p.stdout.decode(), (p.stdout, err)
        return
    lines = err.strip().splitlines()
    assert p.returncode in (1, 2), (p.returncode, err)
    assert len(lines) == 1 and lines[0].startswith("c11: error: "), err
    if words:
        assert words in lines[0], err


def test_bundle_manifest_times_are_bounded():
    from c11.errors import BundleError
    from c11.format import bundle

    entry = bundle.Entry("a.txt", "file", "0" * 32, 1, 0o644, 10**20)
    with pytest.raises(BundleError, match="time"):
        bundle._check_paths([entry])
