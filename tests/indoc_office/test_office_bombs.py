"""Zip bombs in Word and Excel files through the real CLI (issue 12 item 6): a member that declares more
than 128 MiB, or inflates more than 100:1 above 1 MiB, is refused before it is inflated.

Bound asserted: the `c11` process peaks under 300 MB and finishes within 30 s (docs/indoc.md, Limits).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "indoc_media"), str(TESTS / "fuzz")]
import targets  # noqa: E402  (the fuzz seed corpus: small protected documents for a fixed key)
from bombkit import run_measured, zip_member_bomb  # noqa: E402

PEAK_MB = 300

#: name -> (seed, member made a bomb, its size, command, expected words)
CASES = {
    "document-480mb.docx": (
        "indoc_docx/protected.docx",
        "word/document.xml",
        480 << 20,
        "unprotect",
        "member word/document.xml declares 480 MiB (the limit is 128 MiB)",
    ),
    "envelope-480mb.docx": (
        "indoc_docx/protected.docx",
        "customXml/c11-protection.xml",
        480 << 20,
        "inspect",
        "declares 480 MiB",
    ),
    "sheet-100mb.xlsx": (
        "indoc_xlsx/protected.xlsx",
        "xl/worksheets/sheet1.xml",
        100 << 20,
        "unprotect",
        "(more than 100:1, a zip bomb?)",
    ),
}


@pytest.fixture(scope="module")
def keyfile_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from c11.keys import keyfile

    path = tmp_path_factory.mktemp("office-bombs") / "me.key"
    keyfile.write(path, targets.identity(), None)
    return path


@pytest.mark.parametrize("name", list(CASES))
def test_zip_bomb_member_is_refused_before_inflating(name: str, keyfile_path: Path) -> None:
    seed, member, size, cmd, words = CASES[name]
    path = keyfile_path.parent / name
    path.write_bytes(zip_member_bomb((targets.CORPUS / seed).read_bytes(), member, size))
    assert path.stat().st_size < 2 << 20
    args = (
        ["inspect", str(path)]
        if cmd == "inspect"
        else [cmd, "-i", str(keyfile_path), "-o", str(path.with_name("out-" + name)), "--force", str(path)]
    )
    r = run_measured(args)
    assert r["rc"] == 1 and "Traceback" not in r["stderr"], r
    lines = r["stderr"].strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("c11: error: ") and words in lines[0], r["stderr"]
    assert r["peak_mb"] < PEAK_MB and r["seconds"] < 30, r
