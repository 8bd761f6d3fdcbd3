"""The committed known-answer vectors (tests/vectors/, made by generate.py, specified in
docs/format.md): a second implementation should pass the same checks."""

import hashlib
import io
import json
from pathlib import Path

import pytest

from c11 import errors, protect
from c11.crypto import keyschedule as ks
from c11.format import stream
from c11.keys import PublicKey, keyfile
from c11.keys.identity import Identity

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
FILES = json.loads((VECTORS / "files.json").read_text())
DET = json.loads((VECTORS / "deterministic.json").read_text())


def identity(name):
    kf = keyfile.load(VECTORS / "keys" / name)
    return kf.unlock(FILES["passphrases"].get(name))


@pytest.mark.parametrize("case", FILES["cases"], ids=[c["file"] for c in FILES["cases"]])
def test_file_vector(case):
    blob = (VECTORS / case["file"]).read_bytes()
    ids = [identity(n) for n in case["identities"]]
    if case["expect"] == "ok":
        r = protect.decrypt_bytes(blob, ids)
        assert hashlib.sha256(r.plaintext).hexdigest() == case["plaintext_sha256"]
        assert r.info.signature_valid and r.info.sender == "alice@example.com"
        for k, v in case.get("metadata", {}).items():
            assert getattr(r.info, {"type": "media_type"}.get(k, k)) == v
    else:
        with pytest.raises(getattr(errors, case["expect"])):
            protect.decrypt_bytes(blob, ids)


def test_key_schedule_vector():
    s = DET["key_schedule"]
    fk, nonce = bytes.fromhex(s["file_key"]), bytes.fromhex(s["nonce"])
    assert ks.derive(fk, nonce, ks.HEADER).hex() == s["header_key"]
    assert ks.derive(fk, nonce, ks.PAYLOAD).hex() == s["payload_key"]
    assert ks.derive(fk, nonce, ks.METADATA).hex() == s["metadata_key"]
    assert ks.derive(fk, nonce, ks.BUNDLE_ENTRY, bytes(range(16))).hex() == s["bundle_entry_key(entry_id=00..0f)"]


@pytest.mark.parametrize("v", DET["payloads"], ids=lambda v: f"{len(v['plaintext']) // 2}B")
def test_payload_vector(v):
    out = io.BytesIO()
    stream.encrypt(bytes.fromhex(v["key"]), io.BytesIO(bytes.fromhex(v["plaintext"])), out, v["segment_size"])
    assert out.getvalue().hex() == v["payload"]
    back = io.BytesIO()
    stream.decrypt(bytes.fromhex(v["key"]), io.BytesIO(bytes.fromhex(v["payload"])), back, v["segment_size"])
    assert back.getvalue().hex() == v["plaintext"]


@pytest.mark.parametrize("v", DET["public_keys"], ids=lambda v: v["kem"])
def test_public_key_vector(v):
    ident = Identity("", v["kem"], bytes.fromhex(v["enc_seed"]), bytes.fromhex(v["sig_seed"]))
    assert ident.public.line() == v["public"]
    assert ident.fingerprint == v["fingerprint"] == PublicKey.parse(v["public"]).fingerprint
    assert ident.public.sig_fingerprint == v["signing_fingerprint"]
