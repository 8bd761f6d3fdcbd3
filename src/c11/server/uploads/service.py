"""The upload service: resumable uploads into the blob store, at most one part in memory per upload.

A PATCH streams its body into a buffer of one part; each full part goes to the store (and the database records
it); when the body ends or the connection breaks, the bytes of the part not yet full are kept as the upload's
tail, so the offset a HEAD reports is every byte received. A server killed mid-request loses only what it had
not stored: the offset falls back to the last stored part or tail, and the client resends from there.

The SHA-256 of the ciphertext is computed as the bytes arrive (kept in this process, with the offset it
covers); an upload resumed on another process, or after a restart, is hashed again from the completed object
before it becomes visible. Completion checks size and SHA-256: a mismatch deletes everything.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import logging
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from starlette.concurrency import run_in_threadpool

from c11.server.context import ServerContext
from c11.server.db import utcnow
from c11.server.problems import Problem, not_found
from c11.server.storage import BlobStore, Part, StorageError, open_store
from c11.server.uploads.grants import UploadGrant
from c11.server.uploads.models import COMPLETE, INCOMING, Upload

_log = logging.getLogger("c11.server.uploads")
MiB = 1 << 20
CLEANUP_EVERY = 600.0
#: Purges run with the cleanup ("module:function", each `(ctx) -> int`, bounded per run): they delete the
#: ciphertext of closed sends and requests, which the cleanup keeps because it is attached (docs/sharing.md).
PURGERS: tuple[str, ...] = (
    "c11.server.sharing.service:purge",
    "c11.server.docrequests.router:purge",
)
#: Running hashes kept in this process at most (the oldest is dropped first: its upload is then hashed from the
#: stored object at completion, as a resumed one).
MAX_HASHES = 10_000


def object_key(upload_id: str) -> str:
    return f"blobs/{upload_id}"


def _parts(row: Upload) -> list[Part]:
    return [Part(int(n), int(size), str(etag)) for n, size, etag in json.loads(row.parts)]


def _dump(parts: list[Part]) -> str:
    return json.dumps([[p.number, p.size, p.etag] for p in parts], separators=(",", ":"))


@dataclass
class _Hash:
    offset: int
    h: Any


class Uploads:
    """One per application: `uploads(ctx)`."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.store: BlobStore = open_store(ctx.config)
        self.part_size = max(ctx.config.upload_part_mib * MiB, self.store.min_part_size)
        self._hashes: dict[str, _Hash] = {}
        self._patches: dict[str, int] = {}  # owner -> PATCH requests running in this process
        self._lock = threading.Lock()
        self._last_cleanup = 0.0

    # -- rows -----------------------------------------------------------------------------------------------

    def get(self, upload_id: str, grant: UploadGrant) -> Upload:
        """The upload, if it is the grant owner's (404 otherwise: another's upload is not acknowledged)."""
        with self.ctx.db.session() as s:
            row = s.get(Upload, upload_id)
        if row is None or not hmac.compare_digest(row.owner, grant.owner):
            raise not_found("upload")
        return row

    def create(self, grant: UploadGrant, length: int) -> Upload:
        if length < 0:
            raise Problem(400, "Bad upload length", "Upload-Length must be 0 or more.", "bad-upload-length")
        if length > grant.max_size:
            raise Problem(
                413, "Upload too large", f"Uploads here are at most {grant.max_size:,} bytes.", "upload-too-large"
            )
        self.maybe_cleanup()
        with self.ctx.db.session() as s:
            self._check_open(s, grant.owner, length)
            if grant.max_total is not None:
                used = sum(s.scalars(select(Upload.length).where(Upload.owner == grant.owner)))
                if used + length > grant.max_total:
                    raise Problem(
                        413,
                        "Upload limit reached",
                        f"Uploads here are at most {grant.max_total:,} bytes in all.",
                        "upload-limit",
                    )
            row = Upload(
                owner=grant.owner,
                purpose=grant.purpose,
                length=length,
                offset=0,
                part_size=self.part_size,
                parts="[]",
                tail_size=0,
                handle="",
                status=INCOMING,
                expires_at=utcnow() + timedelta(hours=self.ctx.config.upload_ttl_hours),
            )
            s.add(row)
            s.flush()
            upload_id = row.id
        try:
            handle = self.store.begin(object_key(upload_id))
        except StorageError:
            with self.ctx.db.session() as s:
                s.execute(delete(Upload).where(Upload.id == upload_id))
            raise
        with self.ctx.db.session() as s:
            s.execute(update(Upload).where(Upload.id == upload_id).values(handle=handle))
        self._keep_hash(upload_id, _Hash(0, hashlib.sha256()))
        row.handle = handle
        return row

    def _check_open(self, s: Any, owner: str, length: int) -> None:
        """Per-owner limits on incomplete uploads: how many (429) and their declared bytes together (413)."""
        cfg = self.ctx.config
        lengths = list(s.scalars(select(Upload.length).where(Upload.owner == owner, Upload.status == INCOMING)))
        if len(lengths) >= cfg.upload_max_open:
            raise Problem(
                429,
                "Too many open uploads",
                f"At most {cfg.upload_max_open} uploads may be incomplete at once: finish or cancel one first.",
                "too-many-open-uploads",
            )
        if sum(lengths) + length > cfg.upload_max_open_gib * 1024 * MiB:
            raise Problem(
                413,
                "Too many bytes in flight",
                f"Incomplete uploads may declare at most {cfg.upload_max_open_gib} GiB together: finish one first.",
                "upload-in-flight-limit",
            )

    def _keep_hash(self, upload_id: str, hashed: _Hash) -> None:
        with self._lock:
            self._hashes[upload_id] = hashed
            while len(self._hashes) > MAX_HASHES:
                del self._hashes[next(iter(self._hashes))]

    def _patch_slot(self, owner: str) -> None:
        """Count a running PATCH of `owner` (429 beyond `upload_max_patches`); `_patch_done` releases it."""
        with self._lock:
            running = self._patches.get(owner, 0)
            if running >= self.ctx.config.upload_max_patches:
                raise Problem(
                    429,
                    "Too many uploads at once",
                    f"At most {self.ctx.config.upload_max_patches} uploads may send bytes at once: wait and retry.",
                    "too-many-patches",
                )
            self._patches[owner] = running + 1

    def _patch_done(self, owner: str) -> None:
        with self._lock:
            left = self._patches.get(owner, 1) - 1
            if left > 0:
                self._patches[owner] = left
            else:
                self._patches.pop(owner, None)

    def _hold(self, row: Upload, offset: int) -> str:
        """Become the upload's writer at `offset` (a newer request takes over from an older one, which stops at its
        next part); 409 when `offset` is not the stored offset. Returns the writer token."""
        token = secrets.token_hex(16)
        with self.ctx.db.session() as s:
            taken = s.execute(
                update(Upload)
                .where(Upload.id == row.id, Upload.status == INCOMING, Upload.offset == offset)
                .values(writer=token)
            ).rowcount
        if not taken:
            raise Problem(
                409,
                "Offset mismatch",
                "Upload-Offset is not the upload's offset (or it is complete): ask with HEAD.",
                "upload-offset-mismatch",
            )
        return token

    # -- writing --------------------------------------------------------------------------------------------

    async def write(self, upload_id: str, grant: UploadGrant, offset: int, body: AsyncIterator[bytes]) -> int:
        """Append the request body at `offset`; returns the new offset (every byte received is kept). At most
        `upload_max_patches` PATCHes of one owner run at once in this process (each holds a part buffer)."""
        self._patch_slot(grant.owner)
        try:
            return await self._write(upload_id, grant, offset, body)
        finally:
            self._patch_done(grant.owner)

    async def _write(self, upload_id: str, grant: UploadGrant, offset: int, body: AsyncIterator[bytes]) -> int:
        row = self.get(upload_id, grant)
        if row.status != INCOMING:
            raise Problem(409, "Upload complete", "This upload is complete; it takes no more bytes.", "upload-complete")
        if offset != row.offset:
            raise Problem(
                409,
                "Offset mismatch",
                f"The upload is at offset {row.offset}, not {offset}: resume from there.",
                "upload-offset-mismatch",
                offset=row.offset,
            )
        writer = await run_in_threadpool(self._hold, row, offset)
        key, handle = object_key(row.id), row.handle
        parts = _parts(row)
        stored = sum(p.size for p in parts)
        tail = await run_in_threadpool(self.store.get_tail, key, handle) if row.tail_size else b""
        if len(tail) != row.tail_size:
            tail = b""  # a tail that was not written whole: resume from the parts
        # one buffer of one part for the whole request, filled in place and reused after each part is stored
        buf = bytearray(min(row.part_size, row.length - stored))
        view = memoryview(buf)
        view[: len(tail)] = tail
        fill = len(tail)
        del tail
        with self._lock:
            hashed = self._hashes.pop(row.id, None)
        if hashed is not None and hashed.offset != stored + fill:
            hashed = None
        received = stored + fill
        tail_dirty = False
        try:
            async for chunk in body:
                if not chunk:
                    continue
                if received + len(chunk) > row.length:
                    raise Problem(
                        413,
                        "Upload too long",
                        f"The upload was declared as {row.length:,} bytes.",
                        "upload-too-long",
                    )
                received += len(chunk)
                tail_dirty = True
                if hashed is not None:
                    hashed.h.update(chunk)
                    hashed.offset = received
                incoming = memoryview(chunk)
                while incoming:
                    n = min(len(incoming), len(buf) - fill)
                    view[fill : fill + n] = incoming[:n]
                    fill += n
                    incoming = incoming[n:]
                    if fill == len(buf):  # a full part, or the last one
                        part = await run_in_threadpool(self.store.put_part, key, handle, len(parts) + 1, buf)
                        parts.append(part)
                        stored += part.size
                        fill = 0
                        await run_in_threadpool(self._record, row.id, writer, parts, 0, stored)
                        tail_dirty = False
                        if len(buf) > row.length - stored:  # the last part is shorter
                            view.release()
                            buf = bytearray(row.length - stored)
                            view = memoryview(buf)
        finally:
            # the body ended, failed or the client left: keep what came since the last part as the tail
            try:
                if await run_in_threadpool(self._writing, row.id, writer):
                    if tail_dirty or (row.tail_size and not fill):
                        await run_in_threadpool(self.store.put_tail, key, handle, bytes(view[:fill]))
                    await run_in_threadpool(self._record, row.id, writer, parts, fill, stored + fill, True)
                    if hashed is not None and hashed.offset == stored + fill:
                        self._keep_hash(row.id, hashed)
            except Problem:
                pass  # taken over by a newer request: it carries on
            except Exception:
                _log.exception("upload %s: could not keep its tail; it resumes from its last part", row.id)
        return stored + fill

    def _writing(self, upload_id: str, writer: str) -> bool:
        with self.ctx.db.session() as s:
            return s.scalar(select(Upload.writer).where(Upload.id == upload_id)) == writer

    def _record(
        self, upload_id: str, writer: str, parts: list[Part], tail: int, offset: int, release: bool = False
    ) -> None:
        """Store the upload's progress, if `writer` still writes it (else 409: a newer request took over)."""
        values: dict[str, Any] = {"parts": _dump(parts), "tail_size": tail, "offset": offset}
        if release:
            values["writer"] = None
        with self.ctx.db.session() as s:
            done = s.execute(
                update(Upload).where(Upload.id == upload_id, Upload.writer == writer).values(**values)
            ).rowcount
        if not done:
            raise Problem(409, "Upload taken over", "A newer request writes this upload now.", "upload-taken-over")

    # -- completing -----------------------------------------------------------------------------------------

    def complete(self, upload_id: str, grant: UploadGrant, length: int, sha256: str) -> Upload:
        """Make the upload an object if it has `length` bytes whose SHA-256 is `sha256`; else delete it all."""
        row = self.get(upload_id, grant)
        if row.status == COMPLETE:
            if row.length == length and row.sha256 is not None and hmac.compare_digest(row.sha256, sha256.lower()):
                return row
            raise Problem(
                409, "Upload complete", "This upload is complete with another size or digest.", "upload-complete"
            )
        if row.offset != row.length or row.length != length:
            raise Problem(
                409,
                "Upload incomplete",
                f"The upload holds {row.offset:,} of {row.length:,} bytes; the completion names {length:,}.",
                "upload-incomplete",
                offset=row.offset,
            )
        self._hold(row, row.offset)
        key = object_key(row.id)
        with self._lock:
            hashed = self._hashes.pop(row.id, None)
        expected = sha256.lower()
        if (
            hashed is not None
            and hashed.offset == row.length
            and not hmac.compare_digest(hashed.h.hexdigest(), expected)
        ):
            self._discard(row)
            raise _tampered()
        try:
            self.store.complete(key, row.handle, _parts(row), row.length)
        except StorageError:
            self._discard(row)
            raise
        if hashed is None or hashed.offset != row.length:  # resumed elsewhere: hash the stored object
            h = hashlib.sha256()
            for chunk in self.store.read(key):
                h.update(chunk)
            if not hmac.compare_digest(h.hexdigest(), expected):
                self.store.delete(key)
                self._discard(row)
                raise _tampered()
        now = utcnow()
        with self.ctx.db.session() as s:
            s.execute(
                update(Upload)
                .where(Upload.id == row.id)
                .values(
                    status=COMPLETE,
                    sha256=expected,
                    completed_at=now,
                    writer=None,
                    expires_at=now + timedelta(hours=self.ctx.config.upload_ttl_hours),
                )
            )
            done = s.get(Upload, row.id)
            assert done is not None
        return done

    def _discard(self, row: Upload) -> None:
        with self._lock:
            self._hashes.pop(row.id, None)
        try:
            self.store.abort(object_key(row.id), row.handle)
        except StorageError:
            _log.warning("upload %s: the store did not abort it (the cleanup retries)", row.id)
        with self.ctx.db.session() as s:
            s.execute(delete(Upload).where(Upload.id == row.id))

    def remove(self, upload_id: str, grant: UploadGrant) -> None:
        """tus termination: drop an incomplete upload, or a complete one not yet used by a send."""
        row = self.get(upload_id, grant)
        if row.attached_to is not None:
            raise Problem(409, "Upload in use", "This upload belongs to a send or share.", "upload-in-use")
        if row.status == COMPLETE:
            self.store.delete(object_key(row.id))
            with self.ctx.db.session() as s:
                s.execute(delete(Upload).where(Upload.id == row.id))
        else:
            self._discard(row)
        with self._lock:
            self._hashes.pop(row.id, None)

    # -- using completed uploads ----------------------------------------------------------------------------

    def read(self, upload_id: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes of a complete upload (callers check who may read it)."""
        return self.store.read(object_key(upload_id), start, end)

    # -- cleanup --------------------------------------------------------------------------------------------

    def maybe_cleanup(self) -> None:
        if time.monotonic() - self._last_cleanup >= CLEANUP_EVERY:
            self._last_cleanup = time.monotonic()
            try:
                self.cleanup()
            except Exception:
                _log.exception("cleanup of expired uploads failed (retried later)")
            for spec in PURGERS:
                module, attr = spec.split(":")
                try:
                    getattr(importlib.import_module(module), attr)(self.ctx)
                except Exception:
                    _log.exception("purge %s failed (retried later)", spec)

    def cleanup(self) -> int:
        """Delete uploads past their time: incomplete ones, and complete ones no send uses; and store uploads
        that no row knows (a server killed between begin and its row). Returns how many went."""
        now = utcnow()
        with self.ctx.db.session() as s:
            stale = s.scalars(
                select(Upload).where(
                    Upload.expires_at < now,
                    or_(Upload.status == INCOMING, Upload.attached_to.is_(None)),
                )
            ).all()
            known = set(s.scalars(select(Upload.handle).where(Upload.status == INCOMING)))
        for row in stale:
            with self._lock:
                self._hashes.pop(row.id, None)
            if row.status == COMPLETE:
                self.store.delete(object_key(row.id))
                with self.ctx.db.session() as s:
                    s.execute(delete(Upload).where(Upload.id == row.id))
            else:
                self._discard(row)
        orphans = 0
        limit = now - timedelta(hours=self.ctx.config.upload_ttl_hours)
        for inc in list(self.store.incomplete()):
            if inc.handle not in known and inc.started < limit and inc.key.startswith("blobs/"):
                self.store.abort(inc.key, inc.handle)
                orphans += 1
        return len(stale) + orphans


def uploads(ctx: ServerContext) -> Uploads:
    return ctx.service("uploads", Uploads)


def _tampered() -> Problem:
    return Problem(
        422,
        "Upload does not match",
        "The uploaded bytes do not have the SHA-256 digest given: the upload was deleted; upload again.",
        "upload-digest-mismatch",
    )
