"""Decompression bombs and nesting bombs through the real CLI (issue 12 item 6): each small hostile file
fails (or is read without inflating the bomb) quickly, with a one-line typed error, in bounded memory.

Bound asserted: the `c11` process peaks under 300 MB (a 1 GiB bomb inflated once would exceed it) and
finishes within 30 s; its address space is capped at 3 GiB so a regression fails instead of swapping.
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import pytest
from bombkit import GIB, pdf_stream_bomb, png_itxt_bomb, png_ztxt_bomb, run_measured

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
import targets  # noqa: E402  (the fuzz seed corpus: small protected documents for a fixed key)

PEAK_MB = 300


@pytest.fixture(scope="module")
def keyfile_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from c11.keys import keyfile

    path = tmp_path_factory.mktemp("bombs") / "me.key"
    keyfile.write(path, targets.identity(), None)
    return path


def _seed(name: str) -> bytes:
    return (targets.CORPUS / name).read_bytes()


def _yaml_laughs() -> bytes:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return ("\n".join(lines) + '\nssn: "123"\n').encode()


def _bundle_bomb() -> bytes:
    """A bundle whose entry is deflated (bundles only hold stored entries)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("c11-bundle", b"c11-bundle/v1\n")
        zf.writestr("manifest.c11", _seed("file/file.c11"))
        info = zipfile.ZipInfo("e/" + "0" * 32)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as w:
            for _ in range(16):
                w.write(bytes(1 << 20))
    return out.getvalue()


#: name -> (builder, {command: expected words in the error, or None: reads fine without inflating})
CASES = {
    "itxt.png": (
        lambda: png_itxt_bomb(_seed("indoc_png/protected.png")),
        {"inspect": None, "unprotect": "Decompressed data too large"},
    ),
    "ztxt.png": (
        lambda: png_ztxt_bomb(_seed("indoc_png/protected.png")),
        {"inspect": None, "unprotect": "Decompressed data too large"},
    ),
    "stream.pdf": (lambda: pdf_stream_bomb(GIB), {"inspect": "decompression bomb", "unprotect": "decompression bomb"}),
    "deep.json": (
        lambda: b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        {"inspect": "nested too deeply", "unprotect": "nested too deeply"},
    ),
    "deep.yaml": (
        lambda: b"x: " + b"[" * 50_000 + b"]" * 50_000 + b"\n",
        {"inspect": "nested more than 200 levels", "unprotect": "nested more than 200 levels"},
    ),
    "laughs.yaml": (_yaml_laughs, {"inspect": "no part of it is protected", "unprotect": "no c11 protected parts"}),
    "bomb.c11.zip": (_bundle_bomb, {"inspect": "is compressed, encrypted", "decrypt": "is compressed, encrypted"}),
}


def _args(cmd: str, path: Path, key: Path) -> list[str]:
    out = path.with_name("out-" + path.name)
    if cmd == "inspect":
        return ["inspect", str(path)]
    if cmd == "decrypt":
        return ["decrypt", "-i", str(key), "-o", str(path.with_name("out-dir")), str(path)]
    return [cmd, "-i", str(key), "-o", str(out), "--force", str(path)]


@pytest.mark.parametrize("name", list(CASES))
def test_bomb_fails_fast_in_bounded_memory(name: str, keyfile_path: Path) -> None:
    build, expected = CASES[name]
    path = keyfile_path.parent / name
    path.write_bytes(build())
    assert path.stat().st_size < 5 << 20  # small files...
    for cmd, words in expected.items():
        r = run_measured(_args(cmd, path, keyfile_path))
        assert "Traceback" not in r["stderr"], r["stderr"]
        assert r["peak_mb"] < PEAK_MB, (cmd, r)  # ...that never expand in memory
        assert r["seconds"] < 30, (cmd, r)
        if words is None:
            assert r["rc"] == 0, (cmd, r["stderr"])
        else:
            assert r["rc"] == 1, (cmd, r)
            lines = r["stderr"].strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("c11: error: ") and words in lines[0], (cmd, r["stderr"])


def test_yaml_aliases_are_protected_without_expanding(keyfile_path: Path) -> None:
    """Billion laughs: the alias graph is walked once per node, so protecting it stays small and fast."""
    path = keyfile_path.parent / "laughs-protect.yaml"
    path.write_bytes(_yaml_laughs())
    pub = keyfile_path.parent / "me.pub"
    pub.write_text(targets.identity().public.line() + "\n")
    r = run_measured(
        [
            "protect",
            "-i",
            str(keyfile_path),
            "-R",
            str(pub),
            "--part",
            "path:/ssn",
            "--json",
            "-o",
            str(path.with_name("laughs.protected.yaml")),
            str(path),
        ]
    )
    assert r["rc"] == 0 and r["peak_mb"] < PEAK_MB and r["seconds"] < 30, r
    assert json.loads(r["stdout"])
