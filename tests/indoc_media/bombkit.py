"""Decompression bombs made on the fly, and running the CLI on them with its peak memory measured.

Each builder repeats one compressed block (`_deflated`), so making a 1 GiB bomb never holds 1 GiB. `run_measured`
runs `c11 ARGS` as the only child of a small Python process that reports the child's peak RSS
(getrusage(RUSAGE_CHILDREN) there, so other tests' children do not count) and caps its address space,
so a regression fails the test instead of swapping the machine.
"""

from __future__ import annotations

import functools
import io
import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
GIB = 1 << 30

_WRAPPER = r"""
import json, resource, subprocess, sys, time
limit = int(sys.argv[1])
def cap():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
t = time.monotonic()
p = subprocess.run(sys.argv[2:], capture_output=True, text=True, preexec_fn=cap, timeout=120)
print(json.dumps({"rc": p.returncode, "stderr": p.stderr, "stdout": p.stdout, "seconds": time.monotonic() - t,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def _deflated(size: int, prefix: bytes = b"", fill: bytes = b"\0") -> tuple[bytes, int, int]:
    """Raw deflate of `prefix` + `size` bytes of `fill` (size in whole MiB), its CRC-32 and Adler-32.

    A full flush resets deflate's history, so every 1 MiB block after it compresses to the same bytes:
    one block is compressed and repeated (~1000:1), which makes a 1 GiB bomb in about a second."""
    block = fill * (1 << 20)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(prefix) + co.flush(zlib.Z_FULL_FLUSH)
    one = co.compress(block) + co.flush(zlib.Z_FULL_FLUSH)
    tail = co.flush()
    n = size >> 20
    crc, adler = zlib.crc32(prefix), zlib.adler32(prefix)
    for _ in range(n):
        crc, adler = zlib.crc32(block, crc), zlib.adler32(block, adler)
    return head + one * n + tail, crc, adler


@functools.cache
def zeros_deflated(size: int, prefix: bytes = b"") -> bytes:
    """A zlib stream (as PNG and PDF use) of `prefix` then `size` zero bytes."""
    raw, _, adler = _deflated(size, prefix)
    return b"\x78\xda" + raw + struct.pack(">I", adler)


def png_itxt_bomb(base_png: bytes, size: int = GIB, keyword: bytes = b"Comment") -> bytes:
    """A PNG with a compressed iTXt chunk (flag 1) that inflates to `size` bytes."""
    body = keyword + b"\x00\x01\x00" + b"\x00" + b"\x00" + zeros_deflated(size)
    chunk = struct.pack(">I4s", len(body), b"iTXt") + body + struct.pack(">I", zlib.crc32(b"iTXt" + body) & 0xFFFFFFFF)
    iend = base_png.rindex(b"IEND") - 4
    return base_png[:iend] + chunk + base_png[iend:]


def png_ztxt_bomb(base_png: bytes, size: int = GIB) -> bytes:
    """A PNG with a zTXt chunk that inflates to `size` bytes (Pillow's reader)."""
    body = b"Comment\x00\x00" + zeros_deflated(size)
    chunk = struct.pack(">I4s", len(body), b"zTXt") + body + struct.pack(">I", zlib.crc32(b"zTXt" + body) & 0xFFFFFFFF)
    iend = base_png.rindex(b"IEND") - 4
    return base_png[:iend] + chunk + base_png[iend:]


def pdf_stream_bomb(size: int = GIB) -> bytes:
    """A one-page PDF whose content stream is FlateDecode of `size` bytes."""
    data = zeros_deflated(size)
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % i + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref))
    return out.getvalue()


def zip_member_bomb(base: bytes, member: str, size: int) -> bytes:
    """`base` (a .docx/.xlsx) with `member` replaced by an XML start tag and `size` spaces (~1000:1)."""
    members: list[tuple[str, bytes, int, int]] = []
    with zipfile.ZipFile(io.BytesIO(base)) as src:
        for info in src.infolist():
            if info.filename != member:
                data = src.read(info)
                co = zlib.compressobj(6, zlib.DEFLATED, -15)
                members.append((info.filename, co.compress(data) + co.flush(), zlib.crc32(data), len(data)))
    raw, crc, _ = _deflated(size, b"<?xml version='1.0'?><a>", b" ")
    members.append((member, raw, crc, size + len(b"<?xml version='1.0'?><a>")))
    out, central = io.BytesIO(), []
    for name, data, crc, usize in members:
        fname, offset = name.encode(), out.tell()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), usize, len(fname), 0))
        out.write(fname + data)
        central.append(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(data),
                usize,
                len(fname),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + fname
        )
    start = out.tell()
    out.write(b"".join(central))
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(central), len(central), out.tell() - start, start, 0))
    return out.getvalue()


def run_measured(args: list[str], env: dict[str, str] | None = None, limit: int = 3 * GIB) -> dict:
    """Run `c11 ARGS`; its exit status, output, seconds and peak RSS (MB)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("C11_")}
    full.update(PYTHONPATH=f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **(env or {}))
    p = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(limit), sys.executable, "-m", "c11.cli.main", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=180,
    )
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)
