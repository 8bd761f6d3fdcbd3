"""The STREAM payload on several threads (issue 17): with small batches, many batches are in flight at once;
the output is byte for byte the one-thread output, nothing of a failing batch is released, and every check of
test_stream.py / test_content_signature.py still holds across batch boundaries."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time

import pytest

from c11._internal import pipeline
from c11.errors import BadSignatureError, IntegrityError, TruncatedError
from c11.format import stream

KEY = bytes(range(32))
SEG = 1024
FULL = SEG + stream.TAG_SIZE


@pytest.fixture(params=[1, 2, 3], ids=["1-thread", "2-threads", "3-threads"])
def threads(request, monkeypatch):
    """Batches of 3 segments, run on 1, 2 or 3 threads."""
    monkeypatch.setattr(stream, "BATCH", 3 * FULL)
    monkeypatch.setattr(pipeline, "thread_count", lambda: request.param)
    return request.param


class Pipe(io.RawIOBase):
    """A non-seekable source that returns at most `step` bytes per read."""

    def __init__(self, data: bytes, step: int = 1 << 20) -> None:
        self._src, self._step = io.BytesIO(data), step

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        data = self._src.read(min(self._step, len(buf)))
        buf[: len(data)] = data
        return len(data)


class Recorder(io.RawIOBase):
    """A sink that records each write (to see what was released before an error)."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.data += b
        return len(b)


def sign_nothing(count: int, digest: bytes, signature: bytes) -> None:
    """The content check of these tests: the 'signature' is SHA-256 of the list digest and the count."""
    if signature != hashlib.sha256(digest + count.to_bytes(8, "big")).digest() * 2:
        raise BadSignatureError("content signature does not verify")


def v2(data: bytes) -> bytes:
    """A payload and trailer in the shape of §5.1, 'signed' as `sign_nothing` checks."""
    out, hashes = io.BytesIO(), bytearray()
    stream.encrypt(KEY, io.BytesIO(data), out, SEG, hashes=hashes)
    n = len(hashes) // 32
    sig = hashlib.sha256(hashlib.sha256(hashes).digest() + n.to_bytes(8, "big")).digest() * 2
    return out.getvalue() + bytes(hashes) + n.to_bytes(8, "big") + sig


def open_v2(blob: bytes, seekable: bool, dst=None) -> bytes:
    dst = dst if dst is not None else Recorder()
    src = io.BytesIO(blob) if seekable else io.BufferedReader(Pipe(blob, 777))
    stream.decrypt_signed(KEY, src, dst, SEG, sign_nothing)
    return bytes(dst.data)


SIZES = [0, 1, SEG, 3 * SEG, 3 * SEG + 1, 9 * SEG, 20 * SEG + 5]


@pytest.mark.parametrize("size", SIZES)
def test_same_bytes_as_one_thread_and_round_trip(threads, size, monkeypatch):
    data = os.urandom(size)
    blob = v2(data)
    with monkeypatch.context() as m:
        m.setattr(pipeline, "thread_count", lambda: 1)
        m.setattr(stream, "BATCH", 1 << 20)
        ref = io.BytesIO()
        stream.encrypt(KEY, io.BytesIO(data), ref, SEG)
    assert blob.startswith(ref.getvalue())  # AES-GCM is deterministic for a key and nonce: same payload
    assert open_v2(blob, True) == data and open_v2(blob, False) == data
    v1 = ref.getvalue()
    back = io.BytesIO()
    stream.decrypt(KEY, io.BufferedReader(Pipe(v1, 5)), back, SEG)
    assert back.getvalue() == data


def test_uses_worker_threads_for_many_batches(threads):
    seen: set[str] = set()
    real = stream._seal

    def spy(*a):
        seen.add(threading.current_thread().name)
        time.sleep(0.002)  # batches this small would all be done by the caller's thread before a worker woke
        return real(*a)

    stream._seal = spy
    try:
        stream.encrypt(KEY, io.BytesIO(os.urandom(60 * SEG)), io.BytesIO(), SEG, hashes=bytearray())
    finally:
        stream._seal = real
    assert ("c11-stream" in seen) == (threads > 1)
    assert not [t for t in threading.enumerate() if t.name == "c11-stream"]  # the workers ended


def test_one_batch_starts_no_thread(threads):
    before = threading.active_count()
    stream.encrypt(KEY, io.BytesIO(b"short"), io.BytesIO(), SEG, hashes=bytearray())
    assert threading.active_count() == before


def damage(blob: bytes, segment: int) -> bytes:
    b = bytearray(blob)
    b[segment * FULL + 5] ^= 1
    return bytes(b)


@pytest.mark.parametrize("segment", [0, 4, 10, 19])
def test_a_damaged_segment_releases_no_later_byte(threads, segment):
    data = os.urandom(20 * SEG)
    blob = damage(v2(data), segment)
    # seekable: the trailer is checked first, then each batch; the damaged batch is never released
    out = Recorder()
    with pytest.raises(IntegrityError, match=f"segment {segment} "):
        open_v2(blob, True, out)
    assert bytes(out.data) == data[: len(out.data)] and len(out.data) <= segment * SEG
    assert len(out.data) % (3 * SEG) == 0  # whole batches only
    # streamed: the damaged piece starts the "final region", which then does not fit
    out = Recorder()
    with pytest.raises(IntegrityError):
        open_v2(blob, False, out)
    assert bytes(out.data) == data[: len(out.data)] and len(out.data) <= segment * SEG


def test_forged_content_is_refused_before_any_output_when_seekable(threads):
    data = os.urandom(20 * SEG)
    blob = bytearray(v2(data))
    forged = io.BytesIO()
    stream.encrypt(KEY, io.BytesIO(b"X" * len(data)), forged, SEG)  # authenticates under the key, not signed
    blob[13 * FULL : 14 * FULL] = forged.getvalue()[13 * FULL : 14 * FULL]
    out = Recorder()
    with pytest.raises(BadSignatureError, match="segment 13 "):
        open_v2(bytes(blob), True, out)
    assert len(out.data) == 12 * SEG  # the batches before; none of segments 12..14
    out = Recorder()
    with pytest.raises(BadSignatureError):  # streamed: the signature fails at the end
        open_v2(bytes(blob), False, out)


def test_truncation_and_appending_at_every_boundary_streamed(threads):
    blob = v2(os.urandom(10 * SEG + 7))
    for cut in [*range(1, 12 * FULL, FULL // 2), 72, 73, 104]:
        with pytest.raises(IntegrityError):
            open_v2(blob[:-cut], False)
    for extra in (1, 16, FULL, 5 * FULL):
        with pytest.raises(IntegrityError):
            open_v2(blob + os.urandom(extra), False)


def test_v1_truncation_at_every_segment_boundary(threads):
    out = io.BytesIO()
    stream.encrypt(KEY, io.BytesIO(os.urandom(10 * SEG)), out, SEG)
    blob = out.getvalue()
    for k in range(1, 10):
        with pytest.raises(TruncatedError):
            stream.decrypt(KEY, io.BytesIO(blob[: k * FULL]), io.BytesIO(), SEG)


def test_a_failing_write_stops_the_workers(threads):
    class Full(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b) -> int:
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        stream.encrypt(KEY, io.BytesIO(os.urandom(30 * SEG)), Full(), SEG, hashes=bytearray())
    assert not [t for t in threading.enumerate() if t.name == "c11-stream"]


def test_pipeline_hands_back_in_order_and_raises_in_order():
    with pipeline.Pipeline[int](1, 1, threads=3) as pipe:
        slots = []
        for i in range(6):
            slot = pipe.take()
            assert slot is not None
            slots.append(slot)
            pipe.submit(slot, i, False, (lambda i: 1 / (i - 4)) if i >= 3 else (lambda i: i * 10), i)
        assert pipe.take() is not None and pipe.take() is not None and pipe.take() is None  # 2 × 3 + 2 slots
        assert [pipe.pop()[1:] for _ in range(3)] == [(0, 0), (10, 1), (20, 2)]
        assert pipe.pop()[1:] == (-1.0, 3)
        with pytest.raises(ZeroDivisionError):
            pipe.pop()


def test_regular_files_are_read_at_offsets_from_their_position(threads, tmp_path):
    """A regular file is read by the threads that seal or open each batch (pread at offsets), from the file
    object's position (after a header), and the position ends after what was read."""
    data = os.urandom(10 * SEG + 3)
    plain = tmp_path / "plain"
    plain.write_bytes(b"HDR" + data)
    ref = io.BytesIO()
    stream.encrypt(KEY, io.BytesIO(data), ref, SEG)
    for buffering in (0, -1):
        with open(plain, "rb", buffering=buffering) as f:
            assert f.read(3) == b"HDR"
            out, hashes = io.BytesIO(), bytearray()
            assert stream.encrypt(KEY, f, out, SEG, hashes=hashes) == len(data)
            assert f.tell() == len(data) + 3 and f.read() == b""
        assert out.getvalue() == ref.getvalue() and len(hashes) == 11 * 32
    sealed = tmp_path / "sealed"
    sealed.write_bytes(b"HDR" + v2(data) + b"")
    v1 = tmp_path / "v1"
    v1.write_bytes(b"HDR" + ref.getvalue())
    with open(sealed, "rb") as f:
        f.read(3)
        out = Recorder()
        stream.decrypt_signed(KEY, f, out, SEG, sign_nothing)
        assert bytes(out.data) == data and f.tell() == sealed.stat().st_size
    with open(v1, "rb") as f:
        f.read(3)
        back = io.BytesIO()
        assert stream.decrypt(KEY, f, back, SEG) == len(data) and back.getvalue() == data


def test_damaged_file_on_disk_releases_no_later_byte(threads, tmp_path):
    data = os.urandom(20 * SEG)
    p = tmp_path / "damaged"
    p.write_bytes(damage(v2(data), 10))
    out = Recorder()
    with open(p, "rb") as f, pytest.raises(IntegrityError, match="segment 10 "):
        stream.decrypt_signed(KEY, f, out, SEG, sign_nothing)
    assert bytes(out.data) == data[: len(out.data)] and len(out.data) <= 10 * SEG
