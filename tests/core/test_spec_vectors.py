"""Spec-fix vectors of issue 12 items 15-21 (tests/vectors/spec/, made by its generate.py, specified in
docs/format.md): each clarified rule has a case a second implementation can run."""

import hashlib
import json
from pathlib import Path

import pytest

from c11 import errors, files
from c11.keys import PublicKey, keyfile
from c11.log.entries import canonical_json, email_hash

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
SPEC = json.loads((VECTORS / "spec" / "spec.json").read_text())
FILES = json.loads((VECTORS / "files.json").read_text())


def identity(name):
    return keyfile.load(VECTORS / "keys" / name).unlock(FILES["passphrases"].get(name))


def _open(case, tmp_path):
    path = VECTORS / "spec" / case["file"]
    ids = [identity(n) for n in case.get("identities", [])]
    kind = case["kind"]
    if kind in ("file", "armor"):
        r = files.decrypt_bytes(path.read_bytes(), ids)
        assert hashlib.sha256(r.plaintext).hexdigest() == case["plaintext_sha256"]
    elif kind == "bundle":
        files.decrypt_path(path, tmp_path / "out", ids)
        got = {
            str(p.relative_to(tmp_path / "out")): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (tmp_path / "out").rglob("*")
            if p.is_file()
        }
        assert got == case["tree"]
    elif kind == "keyfile":
        ident = keyfile.load(path).unlock(case.get("passphrase"))
        assert ident.fingerprint == case["fingerprint"]
    elif kind == "publickey":
        assert PublicKey.parse(path.read_text()).fingerprint == case["fingerprint"]
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize("case", SPEC["cases"], ids=[f"{c['item']}-{c['file'][6:]}" for c in SPEC["cases"]])
def test_spec_vector(case, tmp_path):
    if case["expect"] == "ok":
        _open(case, tmp_path)
    else:
        with pytest.raises(getattr(errors, case["expect"])):
            _open(case, tmp_path)
        assert not (tmp_path / "out").exists()


def test_every_item_has_a_vector():
    assert {c["item"] for c in SPEC["cases"]} >= {"15", "16", "17", "18", "19", "20", "21"}


@pytest.mark.parametrize("v", SPEC["email_hash"], ids=lambda v: v["email"].strip())
def test_email_hash_vector(v):
    assert email_hash(v["email"]) == v["email_hash"]


@pytest.mark.parametrize("v", SPEC["canonical_json"], ids=lambda v: v["encoding"][:20])
def test_canonical_json_vector(v):
    assert canonical_json(v["object"]) == v["encoding"]
