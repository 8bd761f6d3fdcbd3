"""STREAM payload: AES-256-GCM over fixed-size segments, in constant memory for any input size.

Segment i is sealed with nonce = i (11 bytes, big-endian) || last-flag (1 byte), so truncation,
reordering, duplication and appended data all fail authentication (docs/format.md §5).
"""

from __future__ import annotations

from typing import BinaryIO, Callable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from c11.errors import IntegrityError, TruncatedError

TAG_SIZE = 16
DEFAULT_SEGMENT = 1 << 16
Progress = Callable[[int], None] | None


def nonce(index: int, last: bool) -> bytes:
    """The 12-byte nonce of segment `index`."""
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _read_full(src: BinaryIO, buf: memoryview) -> int:
    """Fill `buf` from `src` unless EOF comes first; return the number of bytes read."""
    got = 0
    n = len(buf)
    while got < n:
        k = src.readinto(buf[got:])
        if not k:
            break
        got += k
    return got


def ciphertext_size(plaintext_size: int, segment_size: int) -> int:
    """Payload size for a plaintext size (an empty plaintext is one empty segment)."""
    segments = max(1, -(-plaintext_size // segment_size))
    return plaintext_size + segments * TAG_SIZE


BATCH = 1 << 20  # bytes read and written per system call (whole segments)


def _batches(src: BinaryIO, unit: int) -> Iterator[tuple[memoryview, bool]]:
    """Yield (chunk, is_final) for batches of whole units read from `src`, using one batch of
    look-ahead to know which is final. A chunk is only valid until the next one is requested."""
    size = max(1, BATCH // unit) * unit
    bufs = [memoryview(bytearray(size)), memoryview(bytearray(size))]
    cur, flip = bufs[0], 0
    n = _read_full(src, cur)
    while True:
        if n < size:
            yield cur[:n], True
            return
        flip ^= 1
        nxt = bufs[flip]
        m = _read_full(src, nxt)
        yield cur[:n], m == 0
        if m == 0:
            return
        cur, n = nxt, m


def _segments(chunk: memoryview, unit: int, final: bool) -> Iterator[tuple[memoryview, bool]]:
    """Split a batch into segments of `unit` bytes; the very last one of the stream is flagged."""
    count = max(1, -(-len(chunk) // unit))
    for k in range(count):
        yield chunk[k * unit : (k + 1) * unit], final and k == count - 1


def encrypt(key: bytes, src: BinaryIO, dst: BinaryIO, segment_size: int, progress: Progress = None) -> int:
    """Encrypt all of `src` into `dst`; return the number of plaintext bytes."""
    aead = AESGCM(key)
    out = memoryview(bytearray(max(1, BATCH // segment_size) * (segment_size + TAG_SIZE)))
    index = total = 0
    for chunk, final in _batches(src, segment_size):
        o = 0
        for seg, last in _segments(chunk, segment_size, final):
            end = o + len(seg) + TAG_SIZE
            aead.encrypt_into(nonce(index, last), seg, None, out[o:end])
            o, index = end, index + 1
        dst.write(out[:o])
        total += len(chunk)
        if progress:
            progress(len(chunk))
    return total


def _open_segment(aead: AESGCM, index: int, last: bool, seg: memoryview, out: memoryview) -> None:
    if len(seg) < TAG_SIZE:
        raise TruncatedError("the payload ends early (truncated file)")
    try:
        aead.decrypt_into(nonce(index, last), seg, None, out)
    except InvalidTag:
        raise _diagnose(aead, index, last, seg) from None
    if last and len(seg) == TAG_SIZE and index > 0:
        raise IntegrityError("the payload has an empty final segment (the file was modified)")


def decrypt(key: bytes, src: BinaryIO, dst: BinaryIO, segment_size: int, progress: Progress = None) -> int:
    """Decrypt and authenticate the payload in `src` into `dst`; return plaintext bytes written.

    Raises TruncatedError if the payload ends early and IntegrityError for any other change.
    """
    aead = AESGCM(key)
    full = segment_size + TAG_SIZE
    out = memoryview(bytearray(max(1, BATCH // full) * segment_size))
    index = total = 0
    for chunk, final in _batches(src, full):
        o = 0
        for seg, last in _segments(chunk, full, final):
            end = o + max(0, len(seg) - TAG_SIZE)
            _open_segment(aead, index, last, seg, out[o:end])
            o, index = end, index + 1
        dst.write(out[:o])
        total += o
        if progress:
            progress(len(chunk))
    return total


def _diagnose(aead: AESGCM, index: int, last: bool, segment: memoryview) -> IntegrityError:
    """Tell truncation from appended data from modification, for a clear message."""
    try:
        aead.decrypt(nonce(index, not last), bytes(segment), None)
    except InvalidTag:
        return IntegrityError(
            f"payload segment {index} does not authenticate: the file was modified or damaged"
        )
    if last:
        return TruncatedError("the payload ends early (truncated file)")
    return IntegrityError("unexpected data after the end of the payload (the file was modified)")


class DecryptingReader:
    """A readable file object over a payload: each read returns authenticated plaintext.

    Used to re-encrypt (key rotation) without ever writing plaintext to disk.
    """

    def __init__(self, key: bytes, src: BinaryIO, segment_size: int) -> None:
        self._pending = bytearray()
        self._gen = self._plaintext(AESGCM(key), src, segment_size)

    @staticmethod
    def _plaintext(aead: AESGCM, src: BinaryIO, segment_size: int) -> Iterator[bytes]:
        full = segment_size + TAG_SIZE
        out = memoryview(bytearray(segment_size))
        index = 0
        for chunk, final in _batches(src, full):
            for seg, last in _segments(chunk, full, final):
                n = max(0, len(seg) - TAG_SIZE)
                _open_segment(aead, index, last, seg, out[:n])
                index += 1
                yield bytes(out[:n])

    def readinto(self, buf) -> int:
        mv = memoryview(buf)
        while not self._pending:
            nxt = next(self._gen, None)
            if nxt is None:
                break
            self._pending += nxt
        n = min(len(mv), len(self._pending))
        mv[:n] = self._pending[:n]
        del self._pending[:n]
        return n

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            chunks = []
            while chunk := self.read(1 << 20):
                chunks.append(chunk)
            return b"".join(chunks)
        buf = bytearray(n)
        return bytes(buf[: self.readinto(buf)])
