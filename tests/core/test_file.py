"""The .c11 file: round trips, headers, signatures, every bit flip and truncation refused."""

import io
import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c11 import files
from c11.errors import (
    BadSignatureError,
    C11Error,
    FormatError,
    IntegrityError,
    NoMatchingKeyError,
    NotC11FileError,
    TruncatedError,
    UnsupportedVersionError,
)
from c11.format import envelope
from c11.format.header import MAGIC, Stanza, read_header
from c11.format.stream import DEFAULT_SEGMENT
from c11.keys import Identity


def enc(data, recipients, sender, **kw):
    return files.encrypt_bytes(data, [r.public for r in recipients], sender, **kw)


@pytest.mark.parametrize("size", [0, 1, DEFAULT_SEGMENT - 1, DEFAULT_SEGMENT, DEFAULT_SEGMENT + 1, 3 * (1 << 20) + 5])
def test_round_trip_sizes(size, alice, bob):
    data = os.urandom(size)
    blob = enc(data, [bob], alice)
    assert files.decrypt_bytes(blob, [bob]).plaintext == data
    assert files.decrypt_bytes(blob, [alice]).plaintext == data  # the sender is a recipient


@pytest.mark.parametrize("count,kem", [(1, "x25519"), (1, "mlkem768x25519"), (5, "mixed"), (40, "x25519")])
def test_round_trip_recipient_counts_and_types(count, kem, alice):
    people = [
        Identity.generate(
            f"u{i}@x", kem=("x25519" if (kem == "x25519" or (kem == "mixed" and i % 2)) else "mlkem768x25519")
        )
        for i in range(count)
    ]
    blob = enc(b"to many", people, alice, include_sender=False)
    info = files.inspect(io.BytesIO(blob))
    assert len(info.recipients) == count
    for p in people:
        assert files.decrypt_bytes(blob, [p]).plaintext == b"to many"
    with pytest.raises(NoMatchingKeyError):
        files.decrypt_bytes(blob, [alice])


@settings(max_examples=25, deadline=None)
@given(data=st.binary(max_size=200_000), name=st.text(max_size=40))
def test_round_trip_property(data, name, alice, bob):
    blob = files.encrypt_bytes(data, [bob.public], alice, name=name or None)
    r = files.decrypt_bytes(blob, [bob])
    assert r.plaintext == data
    assert r.info.name == (name or None)
    assert r.info.size == len(data)


def test_metadata_is_encrypted(alice, bob):
    blob = files.encrypt_bytes(b"x", [bob.public], alice, name="secret-plan-name.docx")
    assert b"secret-plan-name" not in blob
    r = files.decrypt_bytes(blob, [bob])
    assert r.info.name == "secret-plan-name.docx"


def test_duplicate_recipients_are_merged(alice, bob):
    blob = files.encrypt_bytes(b"x", [bob.public, bob.public, alice.public], alice)
    assert len(files.inspect(io.BytesIO(blob)).recipients) == 2


def test_no_matching_key_names_the_recipients(alice, bob, carol):
    blob = enc(b"x", [bob], alice, include_sender=False)
    with pytest.raises(NoMatchingKeyError) as e:
        files.decrypt_bytes(blob, [carol])
    assert bob.fingerprint in str(e.value)
    assert e.value.recipients == [bob.fingerprint]


def test_every_single_bit_flip_is_refused(alice, bob):
    blob = enc(b"a small secret message", [bob], alice, include_sender=False)
    for i in range(len(blob) * 8):
        bad = bytearray(blob)
        bad[i // 8] ^= 1 << (i % 8)
        with pytest.raises(C11Error):
            files.decrypt_bytes(bytes(bad), [bob])


def test_truncation_at_every_offset_is_refused(alice, bob):
    blob = enc(os.urandom(300), [bob], alice, include_sender=False)
    for cut in range(len(blob)):
        with pytest.raises((TruncatedError, IntegrityError, NotC11FileError, FormatError)):
            files.decrypt_bytes(blob[:cut], [bob])


def test_header_spliced_onto_another_payload_is_refused(alice, bob):
    a = enc(b"A" * 1000, [bob], alice)
    b = enc(b"B" * 1000, [bob], alice)
    ha, ra = read_header(io.BytesIO(a))
    hb, rb = read_header(io.BytesIO(b))
    with pytest.raises((IntegrityError, BadSignatureError)):
        files.decrypt_bytes(ra + b[len(rb) :], [bob])


def test_stanza_moved_between_files_is_refused(alice, bob):
    a = enc(b"A", [bob], alice)
    b = enc(b"B", [bob], alice)
    ha, _ = read_header(io.BytesIO(a))
    hb, rb = read_header(io.BytesIO(b))
    hb.stanzas[0] = ha.stanzas[0]
    hb.signature = alice.sign(hb.signed_message())
    with pytest.raises(IntegrityError):
        files.decrypt_bytes(hb.encode() + b[len(rb) :], [bob])


def _resign(blob, mutate, signer):
    h, raw = read_header(io.BytesIO(blob))
    mutate(h)
    h.signature = signer.sign(h.signed_message())
    return h.encode() + blob[len(raw) :]


def test_bad_signature_is_distinct(alice, bob):
    blob = enc(b"x", [bob], alice)
    h, raw = read_header(io.BytesIO(blob))
    forged = h.encode()[:-64] + bytes(64) + blob[len(raw) :]
    with pytest.raises(BadSignatureError):
        files.decrypt_bytes(forged, [bob])
    assert files.inspect(io.BytesIO(forged)).signature_valid is False
    assert files.inspect(io.BytesIO(blob)).signature_valid is True


def test_signature_by_another_key_is_refused(alice, bob, carol):
    # Someone who holds the file key re-seals the header claiming to be alice, signing with carol's key.
    blob = enc(b"x", [bob], alice)
    h, raw = read_header(io.BytesIO(blob))
    fk = envelope.unwrap(h, [bob])
    h.sender_key = alice.public.sig
    h.mac = envelope.header_mac(fk, h)
    h.signature = carol.sign(h.signed_message())
    with pytest.raises(BadSignatureError):
        files.decrypt_bytes(h.encode() + blob[len(raw) :], [bob])


def test_unknown_critical_stanza_is_refused_and_optional_ignored(alice, bob):
    for critical, expect in [(False, None), (True, UnsupportedVersionError)]:
        header, fk = files.seal_header([bob.public], alice, extra_stanzas=[Stanza("future-thing", b"\x01", critical)])
        out = io.BytesIO()
        out.write(header.encode())
        files.write_payload(header, fk, alice, io.BytesIO(b"payload"), out)
        if expect:
            with pytest.raises(expect, match="future-thing"):
                files.decrypt_bytes(out.getvalue(), [bob])
        else:
            assert files.decrypt_bytes(out.getvalue(), [bob]).plaintext == b"payload"


def test_not_a_c11_file_and_unsupported_version(alice, bob):
    with pytest.raises(NotC11FileError):
        files.decrypt_bytes(b"hello world, not encrypted", [bob])
    with pytest.raises(NotC11FileError):
        files.decrypt_bytes(b"", [bob])
    blob = bytearray(enc(b"x", [bob], alice))
    blob[len(MAGIC)] = 3
    with pytest.raises(UnsupportedVersionError):
        files.decrypt_bytes(bytes(blob), [bob])


def test_oversized_header_length_is_refused(bob):
    blob = MAGIC + b"\x01" + struct.pack(">I", 0xFFFFFFFF)
    with pytest.raises(FormatError):
        files.decrypt_bytes(blob, [bob])


def test_armored_message_round_trip(alice, bob):
    block = files.encrypt_message("meet at 5 ☕", [bob.public], alice)
    assert block.startswith("-----BEGIN C11 MESSAGE-----\n")
    assert all(len(line) <= 64 for line in block.splitlines())
    text, info = files.decrypt_message(block, [bob])
    assert text == "meet at 5 ☕" and info.kind == "message" and info.sender == "alice@example.com"
    # Email clients add CRLF and indentation; that is tolerated.
    mangled = "\r\n".join("  " + line for line in block.splitlines())
    assert files.decrypt_message(mangled, [bob])[0] == "meet at 5 ☕"


def test_armor_damage_is_refused(alice, bob):
    block = files.encrypt_message("hi", [bob.public], alice)
    lines = block.splitlines()
    with pytest.raises(TruncatedError):
        files.decrypt_message("\n".join(lines[:-1]), [bob])
    with pytest.raises(FormatError):
        files.decrypt_message(block.replace(lines[1], lines[1][:-1] + "*"), [bob])
    bad = lines[1][:-1] + ("A" if lines[1][-1] != "A" else "B")
    with pytest.raises(C11Error):
        files.decrypt_message(block.replace(lines[1], bad), [bob])


def test_thousand_recipients(alice):
    people = [Identity.generate(f"p{i}", kem="x25519") for i in range(50)]
    pq = [Identity.generate(f"q{i}") for i in range(10)]
    blob = enc(b"x" * 1024, people + pq, alice)
    assert files.decrypt_bytes(blob, [pq[-1]]).plaintext == b"x" * 1024
    assert files.decrypt_bytes(blob, [people[17]]).plaintext == b"x" * 1024
