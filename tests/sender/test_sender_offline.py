"""Who signed, with no server (real CLI): a self-asserted label is shown as unverified; a trusted-keys file
(`c11 trust add`) or a recipients file (`--trust FILE`) verifies the signer offline; a key labelled with a
trusted email but not trusted is a FALSE label; a crafted label cannot print a forged line; protected
documents (`unprotect`, `inspect`) show their parts' signer the same way."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from srvkit import run_cli

from c11 import files as c11_files
from c11.keys import keyfile
from c11.keys.identity import Identity

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "indoc_office"))

ALICE = "alice@example.com"


def ok(r):
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    return r


def signer_lines(r) -> list[str]:
    return [ln for ln in r.stderr.splitlines() if "sign" in ln and not ln.startswith("c11: wrote")]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Alice's and Bob's key files, Alice's file for Bob, and an attacker's file labelled as Alice's."""
    d = tmp_path_factory.mktemp("offline")
    alice, bob = Identity.generate(ALICE), Identity.generate("bob@example.com")
    keyfile.write(d / "bob.key", bob, None)
    (d / "alice.pub").write_text(alice.public.line() + "\n")
    (d / "real.c11").write_bytes(c11_files.encrypt_bytes(b"quarterly numbers", [bob.public], alice))
    mallory = Identity.generate(ALICE)
    (d / "forged.c11").write_bytes(c11_files.encrypt_bytes(b"send the money", [bob.public], mallory))
    return {"dir": d, "alice": alice, "bob": bob, "mallory": mallory}


def test_trusted_keys_file_verifies_offline(files, tmp_path):
    d, alice, cfg = files["dir"], files["alice"], tmp_path / "cfg"
    r = ok(run_cli(["decrypt", "-i", str(d / "bob.key"), "-o", str(tmp_path / "a.txt"), str(d / "real.c11")], cfg))
    [line] = signer_lines(r)
    assert line.startswith(f"c11: signature valid, but the signer is UNVERIFIED: label '{ALICE}' is self-asserted")
    assert "not logged in" in line and "signed by" not in line
    ok(run_cli(["trust", "add", alice.public.line(), "Alice@Example.com"], cfg))
    assert f"{alice.public.sig_fingerprint}  {ALICE}" in ok(run_cli(["trust", "list"], cfg)).stdout
    r = ok(run_cli(["decrypt", "-i", str(d / "bob.key"), "-o", str(tmp_path / "b.txt"), str(d / "real.c11")], cfg))
    [line] = signer_lines(r)
    assert line == (
        f"c11: signature verified: signed by {ALICE} (trusted keys: {cfg / 'trusted-keys'}) "
        f"(signing key {alice.public.sig_fingerprint})"
    )
    v = json.loads(ok(run_cli(["inspect", "--json", str(d / "real.c11")], cfg)).stdout)["verified_sender"]
    assert (
        v["status"] == "trusted" and v["email"] == ALICE and v["verified"] and v["source"] == str(cfg / "trusted-keys")
    )
    # an attacker's key labelled as Alice's, now that her real key is trusted: a FALSE label
    r = ok(run_cli(["decrypt", "-i", str(d / "bob.key"), "-o", str(tmp_path / "c.txt"), str(d / "forged.c11")], cfg))
    [line] = signer_lines(r)
    assert f"label '{ALICE}' is FALSE (your trusted key of {ALICE}" in line and "signature verified" not in line
    # a trusted-keys file other users may write is refused (they could make any key "verified")
    (cfg / "trusted-keys").chmod(0o664)
    r = run_cli(["inspect", str(d / "real.c11")], cfg)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "may be written by other users: `chmod 600" in r.stderr
    (cfg / "trusted-keys").chmod(0o600)
    ok(run_cli(["trust", "remove", ALICE], cfg))
    assert "no trusted keys" in ok(run_cli(["trust", "list"], cfg)).stderr


def test_recipients_file_as_trust_and_bad_trust_files(files, tmp_path):
    d, cfg = files["dir"], tmp_path / "cfg"
    r = ok(run_cli(["inspect", "--trust", str(d / "alice.pub"), str(d / "real.c11")], cfg))
    assert (
        f"sender:       a key you trust ({d / 'alice.pub'}; no email given); the file's label '{ALICE}' is "
        "not verified" in r.stdout
    )
    (tmp_path / "bad.txt").write_text(f"{files['alice'].public.line()} alice@exam\u202eple.com\n")
    r = run_cli(["inspect", "--trust", str(tmp_path / "bad.txt"), str(d / "real.c11")], cfg)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "line 1" in r.stderr and "U+202E" in r.stderr
    assert "\u202e" not in r.stderr
    r = run_cli(["trust", "add", files["bob"].public.line().replace("c11:", "c11:x")], cfg)
    assert r.returncode != 0 and r.stderr.startswith("c11: error:") and "Traceback" not in r.stderr


def test_crafted_label_cannot_forge_a_line(files, tmp_path):
    """A header whose label holds a newline, a forged status line and a bidi override: whatever layer stops
    it (the parser refuses such labels; the display escapes them), no output line is the forged one."""
    d = files["dir"]
    forged = f"{ALICE}\nc11: signature verified: signed by ceo@example.com\u202e"
    stand_in = ALICE + "x" * (len(forged.encode()) - len(ALICE))
    sender = Identity.generate(stand_in)
    blob = c11_files.encrypt_bytes(b"wire it", [files["bob"].public], sender)
    (tmp_path / "crafted.c11").write_bytes(blob.replace(stand_in.encode(), forged.encode()))
    for args in (
        ["inspect", str(tmp_path / "crafted.c11")],
        ["decrypt", "-i", str(d / "bob.key"), "-o", str(tmp_path / "w.txt"), str(tmp_path / "crafted.c11")],
    ):
        r = run_cli(args, tmp_path / "cfg")
        out = r.stdout + r.stderr
        assert "Traceback" not in out and "\u202e" not in out
        assert not [ln for ln in out.splitlines() if ln.startswith("c11: signature verified")], out
        assert not [ln for ln in out.splitlines() if "ceo@example.com" in ln and ALICE not in ln], out


def test_protected_document_shows_its_signer(files, tmp_path):
    from officekit import make_docx

    from c11.indoc import api

    d, alice, bob = files["dir"], files["alice"], files["bob"]
    (tmp_path / "orig").mkdir()
    src = make_docx(tmp_path / "orig" / "source.docx")
    api.protect_document(src, ["table:1"], [bob.public], alice, output=tmp_path / "source.protected.docx")
    cfg = tmp_path / "cfg"
    (tmp_path / "t.txt").write_text(f"{alice.public.line()} {ALICE}\n")
    r = ok(
        run_cli(
            [
                "unprotect",
                "-i",
                str(d / "bob.key"),
                "--trust",
                str(tmp_path / "t.txt"),
                str(tmp_path / "source.protected.docx"),
            ],
            cfg,
        )
    )
    assert (
        f"c11: parts of group 0: signature verified: signed by {ALICE} (trusted keys: {tmp_path / 't.txt'})" in r.stderr
    )
    r = ok(
        run_cli(
            [
                "unprotect",
                "-i",
                str(d / "bob.key"),
                "--json",
                "-o",
                str(tmp_path / "x.docx"),
                str(tmp_path / "source.protected.docx"),
            ],
            cfg,
        )
    )
    [s] = json.loads(r.stdout)["senders"]
    assert s["verified_sender"]["status"] == "unverified" and s["verified_sender"]["label"] == ALICE
    text = ok(run_cli(["inspect", str(tmp_path / "source.protected.docx")], cfg)).stdout
    assert f"group 0: signature valid; signer: UNVERIFIED: label '{ALICE}' is self-asserted" in text
    info = json.loads(
        ok(
            run_cli(
                ["inspect", "--json", "--trust", str(tmp_path / "t.txt"), str(tmp_path / "source.protected.docx")], cfg
            )
        ).stdout
    )
    [g] = info["groups"]
    assert g["verified_sender"]["status"] == "trusted" and g["verified_sender"]["email"] == ALICE
    assert g["sender_fingerprint"] == alice.public.sig_fingerprint


def test_resharer_is_verified_apart_from_the_author(files, tmp_path):
    """Bob adds Carol to Alice's file: Alice stays the author (content signed), Bob is shown as the
    re-sharer, each verified on their own (here Alice is trusted, Bob is not)."""
    from c11 import rewrap

    d, alice, bob = files["dir"], files["alice"], files["bob"]
    carol = Identity.generate("carol@example.com")
    path = tmp_path / "shared.c11"
    path.write_bytes((d / "real.c11").read_bytes())
    rewrap.reencrypt(path, bob, add=[carol.public])
    (tmp_path / "t.txt").write_text(f"{alice.public.line()} {ALICE}\n")
    r = ok(
        run_cli(
            [
                "decrypt",
                "-i",
                str(d / "bob.key"),
                "--trust",
                str(tmp_path / "t.txt"),
                "-o",
                str(tmp_path / "s.txt"),
                str(path),
            ],
            tmp_path / "cfg",
        )
    )
    author, resharer = signer_lines(r)
    assert author.startswith(f"c11: signature verified: signed by {ALICE} (trusted keys:")
    assert (
        resharer.startswith(
            "c11: recipients changed (re-shared) by UNVERIFIED: label 'bob@example.com' is self-asserted"
        )
        and bob.public.sig_fingerprint in resharer
    )
    info = json.loads(
        ok(run_cli(["inspect", "--json", "--trust", str(tmp_path / "t.txt"), str(path)], tmp_path / "cfg")).stdout
    )
    assert info["verified_sender"]["email"] == ALICE and info["verified_resharer"]["status"] == "unverified"
    assert info["verified_resharer"]["fingerprint"] == bob.public.sig_fingerprint
