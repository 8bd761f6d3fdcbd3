"""`c11 protect`, `c11 unprotect`, and `c11 inspect` / `c11 reencrypt` on protected documents:
results, and errors as one line on stderr with a non-zero exit and no partial output."""

from __future__ import annotations

import json
import shutil

import pytest
from officekit import members, run_cli

from c11.keys import keyfile


@pytest.fixture(scope="module")
def env(tmp_path_factory, gen_docx, gen_xlsx, alice, bob):
    d = tmp_path_factory.mktemp("cli")
    keyfile.write(d / "alice.key", alice, None)
    keyfile.write(d / "bob.key", bob, None)
    (d / "bob.txt").write_text(bob.public.line() + "\n")
    shutil.copy(gen_docx, d / "report.docx")
    shutil.copy(gen_xlsx, d / "pay.xlsx")
    return d


def ok(r):
    assert r.returncode == 0, r.stderr
    return r


def fails(r, code=None, needle=""):
    assert r.returncode != 0
    if code is not None:
        assert r.returncode == code, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(("c11: error:", "Error:")), r.stderr
    assert "Traceback" not in r.stderr
    assert needle in r.stderr, r.stderr
    return r


def test_protect_unprotect_docx(env, alice, bob):
    r = ok(
        run_cli(
            "protect",
            "report.docx",
            "-i",
            "alice.key",
            "--part",
            "table:1",
            "--part",
            'heading:"Salary"=>@bob.txt',
            "--match",
            r"\d{3}-\d\d-\d{4}",
            "--note",
            "ask HR",
            "--json",
            cwd=env,
        )
    )
    info = json.loads(r.stdout)
    assert info["output"] == "report.protected.docx" and info["note"] == "ask HR"
    assert len(info["parts"]) == 4 and len(info["groups"]) == 2  # 3 + the preview thumbnail
    assert (env / "report.protected.docx").exists()
    # inspect (text and JSON)
    r = ok(run_cli("inspect", "report.protected.docx", cwd=env))
    assert "c11-protected docx document" in r.stdout and "ask HR" in r.stdout and bob.fingerprint in r.stdout
    info = json.loads(ok(run_cli("inspect", "--json", "report.protected.docx", cwd=env)).stdout)
    assert info["kind"] == "document" and len(info["parts"]) == 4
    # bob opens only his part
    r = ok(run_cli("unprotect", "report.protected.docx", "-i", "bob.key", "-o", "bob.docx", "--json", cwd=env))
    res = json.loads(r.stdout)
    assert len(res["opened"]) == 1 and len(res["closed"]) == 3
    # alice opens everything; default output name strips ".protected"
    fails(run_cli("unprotect", "report.protected.docx", "-i", "alice.key", cwd=env), needle="already exists")
    ok(run_cli("unprotect", "report.protected.docx", "-i", "alice.key", "-o", "back.docx", cwd=env))
    assert members((env / "back.docx").read_bytes()) == members((env / "report.docx").read_bytes())


def test_protect_xlsx_and_reencrypt(env, bob):
    ok(run_cli("protect", "pay.xlsx", "-i", "alice.key", "-p", "column:Salary", "-p", "Payroll!A6", cwd=env))
    assert (env / "pay.protected.xlsx").exists()
    fails(
        run_cli("unprotect", "pay.protected.xlsx", "-i", "bob.key", "-o", "x.xlsx", cwd=env), needle="none of your keys"
    )
    assert not (env / "x.xlsx").exists()
    r = ok(run_cli("reencrypt", "-i", "alice.key", "-R", "bob.txt", "pay.protected.xlsx", cwd=env))
    assert "updated" in r.stderr
    ok(run_cli("unprotect", "pay.protected.xlsx", "-i", "bob.key", "-o", "x.xlsx", cwd=env))
    assert members((env / "x.xlsx").read_bytes()) == members((env / "pay.xlsx").read_bytes())
    r = ok(
        run_cli(
            "reencrypt", "-i", "alice.key", "--remove", bob.fingerprint[:10], "--json", "pay.protected.xlsx", cwd=env
        )
    )
    assert bob.fingerprint not in r.stdout
    fails(run_cli("reencrypt", "-i", "alice.key", "--rotate", "pay.protected.xlsx", cwd=env), needle="--rotate")


@pytest.mark.parametrize(
    "args,needle",
    [
        (["protect", "report.docx", "-i", "alice.key"], "nothing to protect"),
        (["protect", "report.docx", "-i", "alice.key", "-p", "bogus:1", "-o", "e1.docx"], "unknown selector"),
        (["protect", "report.docx", "-i", "alice.key", "-p", "table:99", "-o", "e2.docx"], "matches nothing"),
        (["protect", "report.docx", "-i", "alice.key", "-p", "sheet:X", "-o", "e3.docx"], "does not apply"),
        (
            ["protect", "report.docx", "-i", "alice.key", "-p", "table:1=>c11:x25519:AAAA", "-o", "e4.docx"],
            "public key",
        ),
        (["protect", "missing.docx", "-i", "alice.key", "-p", "body"], "no such file"),
        (["protect", "alice.key", "-i", "alice.key", "-p", "body"], "does not support"),
        (["protect", "report.docx", "-i", "nokey.key", "-p", "body", "-o", "e5.docx"], "nokey.key"),
        (["protect", "report.docx", "-i", "alice.key", "-p", "body", "-o", "report.docx"], "overwrite the input"),
        (["protect", "report.docx", "-i", "alice.key", "-p", "Sheet1!A1", "-o", "e6.docx"], "does not apply"),
        (["unprotect", "report.docx", "-i", "alice.key", "-o", "e7.docx"], "no c11 protection"),
        (["unprotect", "pay.xlsx", "-i", "alice.key", "-o", "e8.xlsx"], "no c11 protection"),
        (["inspect", "pay.xlsx"], "no part of it is protected"),
    ],
)
def test_cli_errors(env, args, needle):
    before = set(p.name for p in env.iterdir())
    fails(run_cli(*args, cwd=env), needle=needle)
    after = set(p.name for p in env.iterdir())
    assert after == before, after - before  # no partial output, no temporary files


def test_refuses_to_overwrite(env):
    (env / "exists.docx").write_bytes(b"keep me")
    fails(
        run_cli("protect", "report.docx", "-i", "alice.key", "-p", "body", "-o", "exists.docx", cwd=env),
        needle="already exists",
    )
    assert (env / "exists.docx").read_bytes() == b"keep me"
    ok(run_cli("protect", "report.docx", "-i", "alice.key", "-p", "body", "-o", "exists.docx", "--force", cwd=env))
    assert (env / "exists.docx").read_bytes() != b"keep me"


def test_tampered_document_error(env):
    from c11.indoc import _ooxml as ox

    ok(run_cli("protect", "report.docx", "-i", "alice.key", "-p", "paragraph:2", "-o", "t.docx", cwd=env))
    pkg = ox.Package((env / "t.docx").read_bytes())
    xml = pkg.read("word/document.xml").replace(b"open it with c11 to read this part", b"nothing here")
    pkg.set("word/document.xml", xml)
    (env / "t2.docx").write_bytes(pkg.to_bytes())
    fails(run_cli("unprotect", "t2.docx", "-i", "alice.key", "-o", "t3.docx", cwd=env), needle="was edited")
    assert not (env / "t3.docx").exists()


def test_help_lists_commands():
    r = ok(run_cli("--help"))
    assert "protect" in r.stdout and "unprotect" in r.stdout
    r = ok(run_cli("protect", "--help"))
    assert "=>" in r.stdout and "heading" in r.stdout
