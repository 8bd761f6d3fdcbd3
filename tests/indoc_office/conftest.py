"""Fixtures of the Word/Excel in-document protection tests.

The corpus mixes documents made with python-docx / openpyxl and documents written by LibreOffice
itself (flat ODF text converted to .docx/.xlsx by `soffice --headless`), so the handlers meet
markup they did not generate: tables, headers and footers, footnotes, comments, tracked changes,
pictures, merged cells, shared strings and formulas. LibreOffice runs are batched in
session-scoped fixtures (one soffice start per batch) to keep the suite fast.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from officekit import SOFFICE, make_docx, make_xlsx, soffice_convert, write_fods, write_fodt

from c11.keys.identity import Identity

# ---------------------------------------------------------------- keys


@pytest.fixture(scope="session")
def alice() -> Identity:
    return Identity.generate("alice@example.com", kem="x25519")


@pytest.fixture(scope="session")
def bob() -> Identity:
    return Identity.generate("bob@example.com", kem="x25519")


@pytest.fixture(scope="session")
def carol() -> Identity:
    return Identity.generate("carol@example.com", kem="x25519")


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("indoc_office")


@pytest.fixture(scope="session")
def lo_profile(workdir) -> Path:
    p = workdir / "lo-profile"
    p.mkdir(exist_ok=True)
    return p


@pytest.fixture(scope="session")
def gen_docx(workdir) -> Path:
    return make_docx(workdir / "gen.docx")


@pytest.fixture(scope="session")
def gen_xlsx(workdir) -> Path:
    return make_xlsx(workdir / "gen.xlsx")


@pytest.fixture(scope="session")
def lo_docs(workdir, lo_profile) -> dict[str, Path]:
    """.docx and .xlsx written by LibreOffice from flat ODF sources (one soffice run each)."""
    if SOFFICE is None:
        if os.environ.get("CI") == "true":
            pytest.fail("LibreOffice (soffice) is not installed: deps/apt.txt lists it")
        pytest.skip("LibreOffice is not installed")
    src = workdir / "lo-src"
    src.mkdir(exist_ok=True)
    fodt = write_fodt(src / "minutes.fodt")
    fods = write_fods(src / "payroll.fods")
    out = workdir / "lo"
    soffice_convert([fodt], "docx:MS Word 2007 XML", out, lo_profile)
    soffice_convert([fods], "xlsx:Calc MS Excel 2007 XML", out, lo_profile)
    docs = {"docx": out / "minutes.docx", "xlsx": out / "payroll.xlsx"}
    for p in docs.values():
        assert p.exists(), p
    return docs
