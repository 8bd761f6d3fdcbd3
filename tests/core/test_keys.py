"""Keys: public key lines, fingerprints, key files with and without a passphrase, X-Wing seeds."""

import hashlib
import json
import os
import stat

import pytest

from c11.crypto.kem import HYBRID, kem_type
from c11.errors import KeyFileError, RecipientError, WrongPassphraseError
from c11.keys import PublicKey, keyfile, parse_recipients


def test_public_line_round_trip_and_checksum(alice, bob):
    for ident in (alice, bob):
        line = ident.public.line()
        assert line.startswith(f"c11:{ident.kem}:")
        assert "\n" not in line
        assert PublicKey.parse(line) == ident.public
        assert PublicKey.parse("  " + line + "\n") == ident.public
        # a typo anywhere in the key part is caught by the checksum
        i = len(line) // 2
        typo = line[:i] + ("A" if line[i] != "A" else "B") + line[i + 1 :]
        with pytest.raises(RecipientError):
            PublicKey.parse(typo)
    with pytest.raises(RecipientError, match="incompletely|checksum|length|base64"):
        PublicKey.parse(alice.public.line()[:-10])
    with pytest.raises(RecipientError, match="unknown key type"):
        PublicKey.parse("c11:rsa:AAAA")
    with pytest.raises(RecipientError, match="not a c11 public key"):
        PublicKey.parse("age1qqqq")


def test_encryption_only_public_key(alice):
    p = PublicKey(alice.kem, alice.public.enc)
    assert PublicKey.parse(p.line()) == p
    assert p.fingerprint == alice.fingerprint


def test_recipients_file(alice, bob):
    text = f"# team\n{alice.public.line()}\n\n  {bob.public.line()}  \n"
    assert parse_recipients(text) == [alice.public, bob.public]
    with pytest.raises(RecipientError, match="line 2"):
        parse_recipients(f"{alice.public.line()}\nbogus\n")


def test_xwing_seed_expansion_matches_draft_vector():
    # draft-connolly-cfrg-xwing-kem-08, Appendix C, first vector: seed -> public key.
    seed = bytes.fromhex("7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26")
    pk = kem_type(HYBRID).public_bytes(seed)
    assert len(pk) == 1216
    assert pk[:36].hex() == "e2236b35a8c24b39b10aa1323a96a919a2ced88400633a7b07131713fc14b2b5b19cfc3d"
    # SHA-256 of the draft's whole 1,216-byte public key for that seed
    assert hashlib.sha256(pk).hexdigest() == "2e816deebcd76c5c80d0cd2d174478871658e8e2ff42bc9d4a6e486372e856bb"


def test_key_file_unprotected(tmp_path, alice):
    path = keyfile.write(tmp_path / alice.file_stem, alice, None)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert path.name.startswith("c11_key_") and len(path.stem) == len("c11_key_") + 16
    kf = keyfile.load(path)
    assert not kf.encrypted and kf.label == "alice@example.com"
    ident = kf.unlock()
    assert ident.public == alice.public and ident.enc_seed == alice.enc_seed


def test_key_file_with_passphrase(tmp_path, bob):
    path = keyfile.write(tmp_path / "bob.key", bob, "correct horse")
    raw = path.read_bytes()
    assert bob.enc_seed.hex().encode() not in raw
    kf = keyfile.load(path)
    assert kf.encrypted and kf.public == bob.public  # public part readable without passphrase
    assert kf.unlock("correct horse").sig_seed == bob.sig_seed
    with pytest.raises(WrongPassphraseError):
        kf.unlock("wrong")
    with pytest.raises(WrongPassphraseError):
        kf.unlock(None)


def test_key_file_refuses_overwrite(tmp_path, alice):
    keyfile.write(tmp_path / "k.key", alice, None)
    from c11.errors import OutputExistsError

    with pytest.raises(OutputExistsError):
        keyfile.write(tmp_path / "k.key", alice, None)


def test_key_file_tampering(tmp_path, alice, bob):
    path = keyfile.write(tmp_path / "a.key", alice, "pw")
    doc = json.loads(path.read_text())
    doc["public"] = bob.public.line()  # swap the public key: the AEAD binds it
    with pytest.raises(KeyFileError, match="fingerprint"):
        keyfile.KeyFile(doc, "a.key")  # the fingerprint no longer matches the public line
    doc["fingerprint"] = bob.fingerprint
    path.write_text(json.dumps(doc))
    with pytest.raises(WrongPassphraseError):
        keyfile.load(path).unlock("pw")
    doc["secret"] = {
        "protection": "none",
        "seeds": __import__("base64").b64encode(alice.enc_seed + alice.sig_seed).decode(),
    }
    path.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="does not match"):
        keyfile.load(path).unlock()


@pytest.mark.parametrize(
    "content", [b"", b"not json", b"[]", b'{"format": "other"}', b'{"format": "c11-key/v1"}', bytes(range(64))]
)
def test_malformed_key_files(tmp_path, content):
    p = tmp_path / "bad.key"
    p.write_bytes(content)
    with pytest.raises(KeyFileError):
        keyfile.load(p).unlock()


def test_identity_repr_hides_secrets(alice):
    assert alice.enc_seed.hex() not in repr(alice)
    assert alice.fingerprint in repr(alice)


def test_fingerprint_is_hash_of_type_and_key(alice):
    expect = hashlib.sha256(b"c11/v1 key id\x00" + alice.kem.encode() + b"\x00" + alice.public.enc).digest()[:16]
    assert alice.fingerprint == expect.hex()
