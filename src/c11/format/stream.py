"""STREAM payload: AES-256-GCM over fixed-size segments, in constant memory for any input size.

Segment i is sealed with nonce = i (11 bytes, big-endian) || last-flag (1 byte), so truncation,
reordering, duplication and appended data all fail authentication (docs/format.md §5).
"""

from __future__ import annotations

from typing import BinaryIO, Callable

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


def _read_bytes(src: BinaryIO, n: int) -> bytes:
    buf = bytearray(n)
    return bytes(buf[: _read_full(src, memoryview(buf))])


def ciphertext_size(plaintext_size: int, segment_size: int) -> int:
    """Payload size for a plaintext size (an empty plaintext is one empty segment)."""
    segments = max(1, -(-plaintext_size // segment_size))
    return plaintext_size + segments * TAG_SIZE


BATCH = 1 << 20  # bytes read and written per system call (whole segments)


def _batch(unit: int) -> int:
    return max(1, BATCH // unit) * unit


def encrypt(key: bytes, src: BinaryIO, dst: BinaryIO, segment_size: int, progress: Progress = None) -> int:
    """Encrypt all of `src` into `dst`; return the number of plaintext bytes.

    Reads and writes whole batches of segments, keeping one batch of lookahead to know which
    segment is the last.
    """
    aead = AESGCM(key)
    size = _batch(segment_size)
    bufs = [bytearray(size), bytearray(size)]
    out = memoryview(bytearray(size // segment_size * (segment_size + TAG_SIZE)))
    cur = memoryview(bufs[0])
    n = _read_full(src, cur)
    index = total = flip = 0
    while True:
        if n < size:
            final, nxt_n = True, 0
        else:
            flip ^= 1
            nxt = memoryview(bufs[flip])
            nxt_n = _read_full(src, nxt)
            final = nxt_n == 0
        count = max(1, -(-n // segment_size))
        o = 0
        for k in range(count):
            chunk = cur[k * segment_size : min(n, (k + 1) * segment_size)]
            end = o + len(chunk) + TAG_SIZE
            aead.encrypt_into(nonce(index, final and k == count - 1), chunk, None, out[o:end])
            o = end
            index += 1
        dst.write(out[:o])
        total += n
        if progress:
            progress(n)
        if final:
            return total
        cur, n = nxt, nxt_n


def decrypt(key: bytes, src: BinaryIO, dst: BinaryIO, segment_size: int, progress: Progress = None) -> int:
    """Decrypt and authenticate the payload in `src` into `dst`; return plaintext bytes written.

    Raises TruncatedError if the payload ends early and IntegrityError for any other change.
    """
    aead = AESGCM(key)
    full = segment_size + TAG_SIZE
    size = _batch(full)
    bufs = [bytearray(size), bytearray(size)]
    out = memoryview(bytearray(size // full * segment_size))
    cur = memoryview(bufs[0])
    n = _read_full(src, cur)
    index = total = flip = 0
    while True:
        if n < size:
            final, nxt_n = True, 0
        else:
            flip ^= 1
            nxt = memoryview(bufs[flip])
            nxt_n = _read_full(src, nxt)
            final = nxt_n == 0
        count = max(1, -(-n // full))
        o = 0
        for k in range(count):
            seg = cur[k * full : min(n, (k + 1) * full)]
            last = final and k == count - 1
            if len(seg) < TAG_SIZE:
                raise TruncatedError("the payload ends early (truncated file)")
            end = o + len(seg) - TAG_SIZE
            try:
                aead.decrypt_into(nonce(index, last), seg, None, out[o:end])
            except InvalidTag:
                raise _diagnose(aead, index, last, seg) from None
            if last and len(seg) == TAG_SIZE and index > 0:
                raise IntegrityError("the payload has an empty final segment (the file was modified)")
            o = end
            index += 1
        dst.write(out[:o])
        total += o
        if progress:
            progress(n)
        if final:
            return total
        cur, n = nxt, nxt_n


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
        self._key, self._src, self._seg = key, src, segment_size
        self._pending = bytearray()
        self._done = False
        self._gen = self._segments()

    def _segments(self):
        full = self._seg + TAG_SIZE
        aead = AESGCM(self._key)
        cur = _read_bytes(self._src, full)
        index = 0
        while True:
            nxt = _read_bytes(self._src, full) if len(cur) == full else b""
            last = not nxt
            if len(cur) < TAG_SIZE:
                raise TruncatedError("the payload ends early (truncated file)")
            try:
                plain = aead.decrypt(nonce(index, last), cur, None)
            except InvalidTag:
                raise _diagnose(aead, index, last, memoryview(cur)) from None
            if last and not plain and index > 0:
                raise IntegrityError("the payload has an empty final segment (the file was modified)")
            yield plain
            if last:
                return
            index += 1
            cur = nxt

    def readinto(self, buf) -> int:
        mv = memoryview(buf)
        while not self._pending and not self._done:
            try:
                self._pending += next(self._gen)
            except StopIteration:
                self._done = True
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
        k = self.readinto(buf)
        return bytes(buf[:k])
