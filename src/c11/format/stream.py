"""STREAM payload: AES-256-GCM over fixed-size segments, in constant memory for any input size.

Segment i is sealed with nonce = i (11 bytes, big-endian) || last-flag (1 byte), so truncation,
reordering, duplication and appended data all fail authentication (docs/format.md §5). In format
version 2 a trailer follows the payload: the SHA-256 of every sealed segment and the author's
signature over them (§5.1); `decrypt_signed` checks it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import stat
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from c11._internal.pipeline import Pipeline, Slot, aligned_buffer
from c11.errors import BadSignatureError, IntegrityError, TruncatedError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

TAG_SIZE = 16
DEFAULT_SEGMENT = 1 << 16
Progress = Callable[[int], None] | None


class Digest(Protocol):
    """A running hash (hashlib's objects): what the hashes of the sealed segments are fed to."""

    def update(self, data: bytes, /) -> None: ...


class RunningHash(Digest, Protocol):
    def digest(self) -> bytes: ...


def nonce(index: int, last: bool) -> bytes:
    """The 12-byte nonce of segment `index`."""
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _read_full(src: IO[bytes], buf: memoryview) -> int:
    """Fill `buf` from `src` unless EOF comes first; return the number of bytes read."""
    got = 0
    n = len(buf)
    while got < n:
        k = src.readinto(buf[got:])  # type: ignore[attr-defined]  # typeshed's IO lacks it; binary files have it
        if not k:
            break
        got += k
    return got


def ciphertext_size(plaintext_size: int, segment_size: int) -> int:
    """Payload size for a plaintext size (an empty plaintext is one empty segment)."""
    segments = max(1, -(-plaintext_size // segment_size))
    return plaintext_size + segments * TAG_SIZE


BATCH = 1 << 20  # bytes read and written per system call (whole segments)


def _batches(src: IO[bytes], unit: int) -> Iterator[tuple[memoryview, bool]]:
    """Yield (chunk, is_final) for batches of whole units read from `src`, using one batch of
    look-ahead to know which is final. A chunk is only valid until the next one is requested."""
    size = max(1, BATCH // unit) * unit
    bufs = [aligned_buffer(size), aligned_buffer(size)]  # page-aligned: the kernel copies into them faster
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


def _seal(
    aead: AESGCM, data: memoryview, out: memoryview, unit: int, first: int, final: bool, hashed: bool
) -> tuple[int, bytes]:
    """Seal a batch of segments (worker thread): (bytes written to `out`, SHA-256 of each sealed segment)."""
    count = max(1, -(-len(data) // unit))
    digests = []
    o = 0
    for k in range(count):
        seg = data[k * unit : (k + 1) * unit]
        end = o + len(seg) + TAG_SIZE
        sealed = out[o:end]
        aead.encrypt_into(nonce(first + k, final and k == count - 1), seg, None, sealed)
        if hashed:
            digests.append(hashlib.sha256(sealed).digest())
        o = end
    return o, b"".join(digests)


def _open(
    aead: AESGCM, data: memoryview, out: memoryview, full: int, first: int, final: bool, hashed: bool
) -> tuple[int, bytes]:
    """Open a batch of sealed segments (worker thread): (plaintext bytes in `out`, SHA-256 of each segment).
    Raises on the first segment that does not authenticate."""
    count = max(1, -(-len(data) // full))
    digests = []
    o = 0
    for k in range(count):
        seg = data[k * full : (k + 1) * full]
        end = o + max(0, len(seg) - TAG_SIZE)
        _open_segment(aead, first + k, final and k == count - 1, seg, out[o:end])
        if hashed:
            digests.append(hashlib.sha256(seg).digest())
        o = end
    return o, b"".join(digests)


Task = Callable[[memoryview, memoryview, int, bool], tuple[int, bytes]]


def _pump(
    src: IO[bytes], dst: IO[bytes], unit: int, out_unit: int, task: Task, progress: Progress, hashes: Digest | None
) -> tuple[int, int]:
    """Read `src` in batches of whole units with one batch of look-ahead (to flag the final one), run
    task(input, output, index of its first segment, final) on the workers, and write each batch's output
    in order, feeding the task's hashes to `hashes`. Returns (bytes read, bytes written)."""
    per = max(1, BATCH // unit)
    size = per * unit
    read = written = index = 0
    region = _file_region(src)
    with Pipeline[tuple[int, bytes]](size, per * out_unit) as pipe:

        def write_oldest() -> None:
            nonlocal written
            slot, (o, digests), n = pipe.pop()
            dst.write(slot.out[:o])
            pipe.release(slot)
            if hashes is not None:
                hashes.update(digests)
            written += o
            if progress:
                progress(n)

        def free_slot() -> Slot:
            while (slot := pipe.take()) is None:
                write_oldest()
            return slot

        if region is not None:  # a regular file: each batch is read by the thread that seals or opens it
            fd, pos, length = region
            batches = max(1, -(-length // size))
            for b in range(batches):
                slot, n, final = free_slot(), min(size, length - b * size), b == batches - 1
                pipe.submit(slot, n, final, _read_then, task, fd, pos + b * size, slot.inp[:n], slot.out, index, final)
                index += max(1, -(-n // unit))
                read += n
            while pipe.busy():
                write_oldest()
            src.seek(pos + length)
            return read, written
        cur = free_slot()
        n = _read_full(src, cur.inp)
        while True:
            nxt, m, final = None, 0, n < size
            if not final:
                nxt = free_slot()
                m = _read_full(src, nxt.inp)
                final = m == 0
            pipe.submit(cur, n, final, task, cur.inp[:n], cur.out, index, final)
            index += max(1, -(-n // unit))
            read += n
            if final:
                break
            assert nxt is not None
            cur, n = nxt, m
        if nxt is not None:
            pipe.release(nxt)
        while pipe.busy():
            write_oldest()
    return read, written


def _file_region(src: IO[bytes]) -> tuple[int, int, int] | None:
    """(file descriptor, position, bytes left) when `src` is a regular file, read from its position to the end
    as its size is now (a file that grows meanwhile is read as it was; one that shrinks fails)."""
    if not hasattr(os, "preadv"):
        return None
    try:
        fd = src.fileno()
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size < 2 * BATCH:  # /proc and /sys files say 0 or 4096 bytes
            return None
        pos = src.tell()
    except (AttributeError, OSError, ValueError):
        return None
    return fd, pos, max(0, st.st_size - pos)


def _pread_full(fd: int, buf: memoryview, offset: int) -> int:
    got = 0
    while got < len(buf):
        k = os.preadv(fd, [buf[got:]], offset + got)
        if not k:
            break
        got += k
    return got


def _read_then(
    task: Task, fd: int, offset: int, data: memoryview, out: memoryview, first: int, final: bool
) -> tuple[int, bytes]:
    """Read a batch at `offset` on this (worker) thread, so it is in this core's cache, then run `task` on it."""
    if _pread_full(fd, data, offset) != len(data):
        raise TruncatedError("the input ends early: it shrank while it was being read")
    return task(data, out, first, final)


class _Appender:
    """A `Digest` that collects what it is fed (the hash list of a writer)."""

    def __init__(self, into: bytearray) -> None:
        self._into = into

    def update(self, data: bytes, /) -> None:
        self._into += data


def encrypt(
    key: bytes,
    src: IO[bytes],
    dst: IO[bytes],
    segment_size: int,
    progress: Progress = None,
    hashes: bytearray | None = None,
) -> int:
    """Encrypt all of `src` into `dst`; return the number of plaintext bytes.

    With `hashes`, the SHA-256 of every sealed segment is appended to it (the version 2 hash list).
    Batches are sealed and hashed on worker threads while this thread reads and writes (docs/performance.md).
    """
    aead = AESGCM(key)
    hashed = hashes is not None

    def task(data: memoryview, out: memoryview, first: int, final: bool) -> tuple[int, bytes]:
        return _seal(aead, data, out, segment_size, first, final, hashed)

    sink = _Appender(hashes) if hashes is not None else None
    return _pump(src, dst, segment_size, segment_size + TAG_SIZE, task, progress, sink)[0]


def _open_segment(aead: AESGCM, index: int, last: bool, seg: memoryview, out: memoryview) -> None:
    if len(seg) < TAG_SIZE:
        raise TruncatedError("the payload ends early (truncated file)")
    try:
        aead.decrypt_into(nonce(index, last), seg, None, out)
    except InvalidTag:
        raise _diagnose(aead, index, last, seg) from None
    if last and len(seg) == TAG_SIZE and index > 0:
        raise IntegrityError("the payload has an empty final segment (the file was modified)")


def decrypt(
    key: bytes,
    src: IO[bytes],
    dst: IO[bytes],
    segment_size: int,
    progress: Progress = None,
    digest: Digest | None = None,
) -> int:
    """Decrypt and authenticate the payload in `src` into `dst`; return plaintext bytes written.

    Raises TruncatedError if the payload ends early and IntegrityError for any other change. With
    `digest` (a hashlib SHA-256 object), the SHA-256 of every sealed segment is fed to it. A batch is
    written only once every segment in it authenticated.
    """
    aead = AESGCM(key)
    full = segment_size + TAG_SIZE
    hashed = digest is not None

    def task(data: memoryview, out: memoryview, first: int, final: bool) -> tuple[int, bytes]:
        return _open(aead, data, out, full, first, final, hashed)

    return _pump(src, dst, full, segment_size, task, progress, digest)[1]


def _diagnose(aead: AESGCM, index: int, last: bool, segment: memoryview) -> IntegrityError:
    """Tell truncation from appended data from modification, for a clear message."""
    try:
        aead.decrypt(nonce(index, not last), bytes(segment), None)
    except InvalidTag:
        return IntegrityError(f"payload segment {index} does not authenticate: the file was modified or damaged")
    if last:
        return TruncatedError("the payload ends early (truncated file)")
    return IntegrityError("unexpected data after the end of the payload (the file was modified)")


class DecryptingReader:
    """A readable file object over a payload: each read returns authenticated plaintext.

    Used to re-encrypt (key rotation) without ever writing plaintext to disk.
    """

    def __init__(self, key: bytes, src: IO[bytes], segment_size: int, digest: Digest | None = None) -> None:
        self._pending = bytearray()
        self._gen = self._plaintext(AESGCM(key), src, segment_size, digest)

    @staticmethod
    def _plaintext(aead: AESGCM, src: IO[bytes], segment_size: int, digest: Digest | None = None) -> Iterator[bytes]:
        full = segment_size + TAG_SIZE
        out = memoryview(bytearray(segment_size))
        index = 0
        for chunk, final in _batches(src, full):
            for seg, last in _segments(chunk, full, final):
                n = max(0, len(seg) - TAG_SIZE)
                _open_segment(aead, index, last, seg, out[:n])
                if digest is not None:
                    digest.update(hashlib.sha256(seg).digest())
                index += 1
                yield bytes(out[:n])

    def readinto(self, buf: WriteableBuffer) -> int:
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


# -- format version 2: payload followed by the trailer (docs/format.md §5.1) ------------------------

HASH_SIZE = 32
FOOTER_SIZE = 8 + 64
#: check(segment count, SHA-256 of the hash list, signature): raises BadSignatureError if it fails.
Check = Callable[[int, bytes, bytes], None]


def _seekable(src: IO[bytes]) -> bool:
    try:
        return bool(src.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def _mismatch(index: int) -> BadSignatureError:
    return BadSignatureError(
        f"payload segment {index} is not the one the author signed: someone holding the file key replaced the "
        "content; do not trust this file"
    )


def _check_layout(payload: int, count: int, full: int) -> None:
    if count < 1 or payload < 0:
        raise IntegrityError("the payload and its trailer do not fit together: the file was truncated or modified")
    last = payload - (count - 1) * full
    if not TAG_SIZE <= last <= full:
        raise IntegrityError("the payload and its trailer do not fit together: the file was truncated or modified")
    if last == TAG_SIZE and count > 1:
        raise IntegrityError("the payload has an empty final segment (the file was modified)")


def _pread(src: IO[bytes], pos: int, n: int) -> bytes:
    src.seek(pos)
    data = src.read(n)
    if len(data) != n:
        raise TruncatedError("the file ends early (truncated)")
    return data


def _layout(src: IO[bytes], segment_size: int) -> tuple[int, int, int, int, bytes]:
    """(payload start, hash list start, end, segment count, signature) of a seekable version 2 payload."""
    start = src.tell()
    end = src.seek(0, os.SEEK_END)
    if end - start < TAG_SIZE + HASH_SIZE + FOOTER_SIZE:
        raise TruncatedError("the file ends inside its payload or trailer (truncated)")
    footer = _pread(src, end - FOOTER_SIZE, FOOTER_SIZE)
    count, signature = int.from_bytes(footer[:8], "big"), footer[8:]
    if count < 1 or count > (end - start) // (TAG_SIZE + HASH_SIZE):
        raise IntegrityError("the payload and its trailer do not fit together: the file was truncated or modified")
    list_start = end - FOOTER_SIZE - HASH_SIZE * count
    _check_layout(list_start - start, count, segment_size + TAG_SIZE)
    return start, list_start, end, count, signature


#: the hash list is read in chunks of this size; a list of one chunk is kept, a longer one is re-read
#: chunk by chunk and each chunk checked against its SHA-256 from the verifying pass (32 bytes per chunk).
LIST_CHUNK = BATCH


class _SignedList:
    """The hash list as it was when the signature was checked: a list of one chunk is kept; a longer one
    is re-read chunk by chunk, each checked against its digest from the verifying pass (docs/format.md §2.5)."""

    def __init__(self, src: IO[bytes], list_start: int, count: int) -> None:
        self._src, self._start, self._size = src, list_start, HASH_SIZE * count
        self._chunk = max(HASH_SIZE, LIST_CHUNK - LIST_CHUNK % HASH_SIZE)
        self.digest = hashlib.sha256()
        self._digests: list[bytes] = []
        src.seek(list_start)
        pos = 0
        while pos < self._size:
            n = min(self._chunk, self._size - pos)
            data = src.read(n)
            if len(data) != n:
                raise TruncatedError("the file ends early (truncated)")
            self.digest.update(data)
            self._digests.append(hashlib.sha256(data).digest())
            pos += n
        self._cur, self._data = len(self._digests) - 1, data  # the last chunk read (the whole list if one)

    def _load(self, c: int) -> bytes:
        if c != self._cur:
            pos = c * self._chunk
            data = _pread(self._src, self._start + pos, min(self._chunk, self._size - pos))
            if not hmac.compare_digest(hashlib.sha256(data).digest(), self._digests[c]):
                raise IntegrityError(
                    "the trailer's hash list changed while the file was being read (the file "
                    "was modified during reading); do not trust this file"
                )
            self._cur, self._data = c, data
        return self._data

    def hashes(self, index: int, k: int) -> bytes:
        """The signed hashes of segments index .. index + k - 1."""
        lo, hi = index * HASH_SIZE, (index + k) * HASH_SIZE
        parts = []
        while lo < hi:
            c, off = divmod(lo, self._chunk)
            data = self._load(c)[off : off + hi - lo]
            parts.append(data)
            lo += len(data)
        return b"".join(parts)


def _open_signed(
    aead: AESGCM, data: memoryview, out: memoryview, full: int, index: int, count: int, stored: bytes
) -> int:
    """Open a batch of segments (worker thread) and check each one's SHA-256 against the signed list; return
    the plaintext bytes in `out`. Every segment authenticates first (IntegrityError), then every hash is
    compared (BadSignatureError): nothing of the batch is released unless all of it is what the author signed."""
    k = -(-len(data) // full)
    digests = []
    o = 0
    for j in range(k):
        seg = data[j * full : (j + 1) * full]
        n = len(seg) - TAG_SIZE
        _open_segment(aead, index + j, index + j == count - 1, seg, out[o : o + n])
        digests.append(hashlib.sha256(seg).digest())
        o += n
    for j in range(k):
        if not hmac.compare_digest(digests[j], stored[j * HASH_SIZE : (j + 1) * HASH_SIZE]):
            raise _mismatch(index + j)
    return o


def _pread_open_signed(
    fd: int,
    pos: int,
    aead: AESGCM,
    data: memoryview,
    out: memoryview,
    full: int,
    index: int,
    count: int,
    stored: bytes,
) -> int:
    if _pread_full(fd, data, pos) != len(data):
        raise TruncatedError("the file ends early (truncated)")
    return _open_signed(aead, data, out, full, index, count, stored)


def _seek_plaintext(aead: AESGCM, src: IO[bytes], segment_size: int, check: Check) -> Iterator[memoryview]:
    """Seekable input: check the signature over the stored hash list first, then each segment.

    Each batch is compared against the hash list as it was read for the signature check (`_SignedList`),
    never against a later read of the file that its storage could have changed in between. Batches are
    opened and hashed on worker threads; this thread reads them and hands them on in order.
    """
    full = segment_size + TAG_SIZE
    start, list_start, end, count, signature = _layout(src, segment_size)
    signed = _SignedList(src, list_start, count)
    check(count, signed.digest.digest(), signature)  # before any plaintext is released
    per_batch = max(1, BATCH // full)
    index = 0
    region = _file_region(src)
    fd = region[0] if region is not None else None
    with Pipeline[int](per_batch * full, per_batch * segment_size) as pipe:
        while index < count or pipe.busy():
            slot = pipe.take() if index < count else None
            if slot is None:
                slot, o, _ = pipe.pop()
                yield slot.out[:o]
                pipe.release(slot)
                continue
            k = min(per_batch, count - index)
            pos = start + index * full
            size = min(k * full, list_start - pos)
            stored = signed.hashes(index, k)
            last, data = index + k == count, slot.inp[:size]
            if fd is not None:  # read by the thread that opens the batch
                pipe.submit(
                    slot, None, last, _pread_open_signed, fd, pos, aead, data, slot.out, full, index, count, stored
                )
            else:
                src.seek(pos)
                if _read_full(src, data) != size:
                    raise TruncatedError("the file ends early (truncated)")
                pipe.submit(slot, None, last, _open_signed, aead, data, slot.out, full, index, count, stored)
            index += k
    src.seek(end)


def _open_pieces(aead: AESGCM, data: memoryview, out: memoryview, full: int, first: int) -> tuple[int, bytes]:
    """Open the full pieces of a batch with the non-last nonce (worker thread), stopping at the first that
    does not authenticate so: (pieces opened, SHA-256 of each)."""
    unit = full - TAG_SIZE
    digests: list[bytes] = []
    for k in range(len(data) // full):
        seg = data[k * full : (k + 1) * full]
        try:
            aead.decrypt_into(nonce(first + k, False), seg, None, out[k * unit : (k + 1) * unit])
        except InvalidTag:
            return k, b"".join(digests)
        digests.append(hashlib.sha256(seg).digest())
    return len(data) // full, b"".join(digests)


def _stream_plaintext(aead: AESGCM, src: IO[bytes], segment_size: int, check: Check) -> Iterator[memoryview]:
    """Non-seekable input: release segments that authenticate, check the signature at the end.

    The first piece that does not open with the non-last nonce starts the final region (last segment,
    hash list, footer); the stored list is only counted, the signature is checked over the hashes of
    the segments actually decrypted. Batches are opened on worker threads while this thread reads ahead;
    a batch after the one where the final region starts is never used.
    """
    full = segment_size + TAG_SIZE
    per_batch = max(1, BATCH // full)
    size = per_batch * full
    running = hashlib.sha256()
    index = submitted = 0
    eof = False
    with Pipeline[tuple[int, bytes]](size, per_batch * segment_size) as pipe:
        while True:
            while not eof and (fresh := pipe.take()) is not None:
                m = _read_full(src, fresh.inp)
                eof = m < size
                pipe.submit(fresh, m, eof, _open_pieces, aead, fresh.inp[:m], fresh.out, full, submitted)
                submitted += m // full
            slot, (ok, digests), m = pipe.pop()
            running.update(digests)
            index += ok
            if ok:
                yield slot.out[: ok * segment_size]
            if ok < m // full or m < size:
                break
            pipe.release(slot)
        region = [slot.inp[ok * full : m], *(s.inp[:n] for s, n in pipe.pending_slots())]
        plaintext = _final_region(aead, src, region, index, full, running, check)
    yield plaintext


def _final_region(
    aead: AESGCM, src: IO[bytes], region: list[memoryview], index: int, full: int, running: RunningHash, check: Check
) -> memoryview:
    """The last segment (number `index`) and the trailer: the bytes already read in `region`, then the rest
    of `src` (bounded). Checks the count and the signature over the running hash; returns the last plaintext."""
    count = index + 1
    limit = full + HASH_SIZE * count + FOOTER_SIZE  # a full last segment and the trailer
    head, tail, total = bytearray(), b"", 0
    chunks: Iterator[bytes | memoryview] = iter(region)
    while True:
        chunk = next(chunks, None)
        if chunk is None:
            chunk = src.read(min(BATCH, limit + 1 - total)) if total <= limit else b""
            if not chunk:
                break
        if len(head) < full:
            head += chunk[: full - len(head)]
        tail = (tail + bytes(chunk[-FOOTER_SIZE:]))[-FOOTER_SIZE:]
        total += len(chunk)
    if total > limit:
        raise IntegrityError("unexpected data after the end of the file (the file was modified)")
    last = total - (limit - full)
    if last < TAG_SIZE:
        raise TruncatedError("the file ends inside its payload or trailer (truncated)")
    seg = memoryview(head)[:last]
    out = memoryview(bytearray(last - TAG_SIZE))
    _open_segment(aead, index, True, seg, out)
    running.update(hashlib.sha256(seg).digest())
    if int.from_bytes(tail[:8], "big") != count:
        raise IntegrityError("the trailer's segment count does not match the payload (the file was modified)")
    check(count, running.digest(), bytes(tail[8:]))
    return out


def signed_plaintext(key: bytes, src: IO[bytes], segment_size: int, check: Check) -> Iterator[memoryview]:
    """Authenticated plaintext of a version 2 payload and trailer, piece by piece (each valid until the next).

    Seekable input is fully checked against the author's signature before the first piece.
    """
    aead = AESGCM(key)
    if _seekable(src):
        return _seek_plaintext(aead, src, segment_size, check)
    return _stream_plaintext(aead, src, segment_size, check)


def decrypt_signed(
    key: bytes, src: IO[bytes], dst: IO[bytes], segment_size: int, check: Check, progress: Progress = None
) -> int:
    """Decrypt a version 2 payload and check its trailer; return the plaintext size."""
    total = 0
    for piece in signed_plaintext(key, src, segment_size, check):
        dst.write(piece)
        total += len(piece)
        if progress:
            progress(len(piece))
    return total


def verify_hashes(src: IO[bytes], segment_size: int, check: Check) -> None:
    """Without the key (inspect): check the author's signature and every segment's hash (seekable input)."""
    full = segment_size + TAG_SIZE
    start, list_start, _, count, signature = _layout(src, segment_size)
    stored = hashlib.sha256()
    per_batch = max(1, BATCH // full)
    index = 0
    while index < count:
        k = min(per_batch, count - index)
        pos = start + index * full
        data = memoryview(_pread(src, pos, min(k * full, list_start - pos)))
        listed = _pread(src, list_start + index * HASH_SIZE, k * HASH_SIZE)
        stored.update(listed)
        for j in range(k):
            h = hashlib.sha256(data[j * full : (j + 1) * full]).digest()
            if h != listed[j * HASH_SIZE : (j + 1) * HASH_SIZE]:
                raise _mismatch(index + j)
        index += k
    check(count, stored.digest(), signature)


class _IterReader(io.RawIOBase):
    """A readable file object over an iterator of byte pieces."""

    def __init__(self, pieces: Iterator[bytes | memoryview]) -> None:
        self._pieces, self._pending = pieces, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buf: WriteableBuffer) -> int:
        mv = memoryview(buf)
        while not self._pending:
            nxt = next(self._pieces, None)
            if nxt is None:
                return 0
            self._pending = bytes(nxt)
        n = min(len(mv), len(self._pending))
        mv[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def signed_reader(key: bytes, src: IO[bytes], segment_size: int, check: Check) -> BinaryIO:
    """A readable file object of verified plaintext (version 2), e.g. to rotate without plaintext on disk."""
    return io.BufferedReader(_IterReader(signed_plaintext(key, src, segment_size, check)), BATCH)
