"""Re-encryption (F5): add and remove recipients without touching the payload; rotate the key."""

import io
import os

import pytest

from c11 import files
from c11.errors import C11Error, NoMatchingKeyError, UsageError
from c11.format.header import read_header


def write(tmp_path, data, recipients, sender):
    p = tmp_path / "f.c11"
    p.write_bytes(files.encrypt_bytes(data, [r.public for r in recipients], sender))
    return p


def test_add_and_remove_keeps_payload(tmp_path, alice, bob, carol):
    data = os.urandom(200_000)
    p = write(tmp_path, data, [bob], alice)
    before = p.read_bytes()
    _, raw = read_header(io.BytesIO(before))
    files.reencrypt(p, alice, add=[carol.public])
    after = p.read_bytes()
    _, raw2 = read_header(io.BytesIO(after))
    assert after[len(raw2) :] == before[len(raw) :]  # payload untouched
    assert files.decrypt_bytes(after, [carol]).plaintext == data
    files.reencrypt(p, alice, remove=[bob.fingerprint])
    with pytest.raises(NoMatchingKeyError):
        files.decrypt_bytes(p.read_bytes(), [bob])
    assert files.decrypt_bytes(p.read_bytes(), [carol]).plaintext == data


def test_rotate_changes_everything(tmp_path, alice, bob):
    data = os.urandom(100_000)
    p = write(tmp_path, data, [bob], alice)
    before = p.read_bytes()
    info = files.reencrypt(p, alice, rotate=True)
    after = p.read_bytes()
    assert after[-1000:] != before[-1000:]
    assert len(info.recipients) == 2
    assert files.decrypt_bytes(after, [bob]).plaintext == data
    assert files.inspect(io.BytesIO(after)).doc_id == files.inspect(io.BytesIO(before)).doc_id


def test_reencrypt_needs_a_recipient_key(tmp_path, alice, bob, carol):
    p = write(tmp_path, b"x", [bob], alice)
    before = p.read_bytes()
    with pytest.raises(NoMatchingKeyError):
        files.reencrypt(p, carol, add=[carol.public])
    assert p.read_bytes() == before


def test_remove_unknown_or_all(tmp_path, alice, bob):
    p = write(tmp_path, b"x", [bob], alice)
    with pytest.raises(UsageError, match="no recipient"):
        files.reencrypt(p, alice, remove=["deadbeefdeadbeef"])
    with pytest.raises(UsageError, match="no recipients"):
        files.reencrypt(p, alice, remove=[bob.fingerprint, alice.fingerprint], remove_self=True)


def test_removing_yourself_needs_confirmation(tmp_path, alice, bob):
    p = write(tmp_path, b"x", [bob], alice)
    before = p.read_bytes()
    with pytest.raises(UsageError, match="your own key"):
        files.reencrypt(p, bob, remove=[bob.fingerprint])
    assert p.read_bytes() == before
    files.reencrypt(p, bob, remove=[bob.fingerprint], remove_self=True)
    with pytest.raises(NoMatchingKeyError):
        files.decrypt_bytes(p.read_bytes(), [bob])


def test_reshared_file_keeps_the_author_and_names_the_resharer(tmp_path, alice, bob, carol):
    p = write(tmp_path, b"x", [bob], alice)
    files.reencrypt(p, bob, add=[carol.public])
    info = files.inspect(p)
    assert info.sender == info.author == "alice@example.com" and info.signature_valid and info.content_signed
    assert info.resharer == "bob@example.com" and info.resharer_fingerprint == bob.public.sig_fingerprint
    assert info.author_fingerprint == alice.public.sig_fingerprint and not info.rotated
    got = files.decrypt_bytes(p.read_bytes(), [carol])
    assert got.plaintext == b"x" and got.info.content_signed and got.info.resharer == "bob@example.com"


def test_rotation_is_signed_by_the_rotator(tmp_path, alice, bob):
    p = write(tmp_path, b"rotate me" * 1000, [bob], alice)
    files.reencrypt(p, bob, rotate=True)
    got = files.decrypt_bytes(p.read_bytes(), [alice])
    assert got.plaintext == b"rotate me" * 1000
    assert got.info.rotated and got.info.author == got.info.sender == "bob@example.com" and got.info.content_signed
    assert got.info.resharer is None


def test_armored_reencrypt(tmp_path, alice, bob, carol):
    p = tmp_path / "m.c11"
    p.write_text(files.encrypt_message("hi", [bob.public], alice))
    files.reencrypt(p, alice, add=[carol.public])
    assert p.read_text().startswith("-----BEGIN C11 MESSAGE-----")
    assert files.decrypt_message(p.read_text(), [carol])[0] == "hi"


def test_failed_rotation_leaves_original(tmp_path, alice, bob):
    p = write(tmp_path, os.urandom(70_000), [bob], alice)
    data = bytearray(p.read_bytes())
    data[-5] ^= 1  # corrupt the payload: rotation must fail and leave the file as it was
    p.write_bytes(bytes(data))
    with pytest.raises(C11Error):
        files.reencrypt(p, alice, rotate=True)
    assert p.read_bytes() == bytes(data)
    assert [x.name for x in tmp_path.iterdir()] == ["f.c11"]
