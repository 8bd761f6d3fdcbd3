"""STREAM payload: round trips at segment boundaries, and every kind of tampering refused."""

import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c11.errors import IntegrityError, TruncatedError
from c11.format import stream

KEY = bytes(range(32))
SEG = 1024


def enc(data: bytes, seg: int = SEG) -> bytes:
    out = io.BytesIO()
    stream.encrypt(KEY, io.BytesIO(data), out, seg)
    return out.getvalue()


def dec(blob: bytes, seg: int = SEG) -> bytes:
    out = io.BytesIO()
    stream.decrypt(KEY, io.BytesIO(blob), out, seg)
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 5 * SEG + 7])
def test_round_trip_sizes(size):
    data = os.urandom(size)
    blob = enc(data)
    assert len(blob) == stream.ciphertext_size(size, SEG)
    assert dec(blob) == data


def test_round_trip_default_segment_several_mib():
    data = os.urandom(3 * stream.DEFAULT_SEGMENT * 16 + 5)
    assert dec(enc(data, stream.DEFAULT_SEGMENT), stream.DEFAULT_SEGMENT) == data


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=5 * SEG))
def test_round_trip_property(data):
    assert dec(enc(data)) == data


class Trickle(io.RawIOBase):
    """A source that returns at most 7 bytes per read, like a slow pipe."""

    def __init__(self, data):
        self.src = io.BytesIO(data)

    def readable(self):
        return True

    def readinto(self, b):
        chunk = self.src.read(min(7, len(b)))
        b[: len(chunk)] = chunk
        return len(chunk)


def test_short_reads_are_handled():
    data = os.urandom(3 * SEG + 3)
    out = io.BytesIO()
    stream.encrypt(KEY, Trickle(data), out, SEG)
    res = io.BytesIO()
    stream.decrypt(KEY, Trickle(out.getvalue()), res, SEG)
    assert res.getvalue() == data


def segments(blob: bytes) -> list[bytes]:
    n = SEG + stream.TAG_SIZE
    return [blob[i : i + n] for i in range(0, len(blob), n)]


def test_truncation_at_every_segment_boundary_is_detected():
    blob = enc(os.urandom(4 * SEG))
    segs = segments(blob)
    for k in range(1, len(segs)):
        with pytest.raises(TruncatedError):
            dec(b"".join(segs[:k]))


def test_truncation_at_every_offset_is_refused():
    blob = enc(os.urandom(2 * SEG + 100))
    for cut in range(len(blob)):
        with pytest.raises(IntegrityError):
            dec(blob[:cut])


def test_reordered_and_duplicated_segments_are_refused():
    segs = segments(enc(os.urandom(3 * SEG + 10)))
    with pytest.raises(IntegrityError):
        dec(segs[1] + segs[0] + segs[2] + segs[3])
    with pytest.raises(IntegrityError):
        dec(segs[0] + segs[0] + segs[1] + segs[2] + segs[3])
    with pytest.raises(IntegrityError):
        dec(segs[0] + segs[1] + segs[2] + segs[2] + segs[3])


def test_appended_data_is_refused():
    blob = enc(os.urandom(SEG + 10))
    with pytest.raises(IntegrityError):
        dec(blob + os.urandom(SEG + 16))
    full = enc(os.urandom(2 * SEG))
    with pytest.raises(IntegrityError, match="after the end"):
        dec(full + b"x" * 17)


def test_empty_final_segment_after_full_is_refused():
    # A forged extra empty last segment after full segments must not be accepted.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    data = os.urandom(SEG)
    aead = AESGCM(KEY)
    forged = aead.encrypt(stream.nonce(0, False), data, None) + aead.encrypt(stream.nonce(1, True), b"", None)
    with pytest.raises(IntegrityError):
        dec(forged)


def test_wrong_key_is_refused():
    blob = enc(b"hello")
    with pytest.raises(IntegrityError):
        out = io.BytesIO()
        stream.decrypt(bytes(32), io.BytesIO(blob), out, SEG)


def test_decrypting_reader_matches_decrypt():
    data = os.urandom(3 * SEG + 11)
    r = stream.DecryptingReader(KEY, io.BytesIO(enc(data)), SEG)
    assert r.read(5) + r.read() == data
    bad = bytearray(enc(data))
    bad[-1] ^= 1
    with pytest.raises(IntegrityError):
        stream.DecryptingReader(KEY, io.BytesIO(bytes(bad)), SEG).read()
