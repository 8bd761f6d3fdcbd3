"""The key server's state per application: its key pair, the release rate limiter, the access recorder.

* The key pair (X-Wing, `mlkem768x25519`) is made at first start and kept in `<data-dir>/secrets/keyserver.key`
  (a c11 key file, mode 0600). Its public half is published at `GET /api/v1/keyserver/key`.
* Every release request, allowed or denied, becomes a `release` log entry and an `online_accesses` row in one
  transaction. Concurrent requests share that transaction (group commit), so the log keeps up with the load
  and the number of `release` entries marked allowed equals the number of keys released.
* The entry is v2 (docs/log.md section 7): who asked and with which key are hidden in its `actor`
  commitment. A release allowed only because the key sent is a recipient key is attributed to the key's
  holder (`by: key-holder`, no person), never to the account that asked (docs/keyserver.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, or_, select

from c11.crypto.kem import kem_type
from c11.errors import ConfigError, KeyFileError
from c11.keys import keyfile
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey
from c11.server.context import ServerContext
from c11.server.db import utcnow
from c11.server.keyserver.models import OnlineAccess, OnlineDocument, OnlineRecipient
from c11.server.logsrv.service import log_service

_log = logging.getLogger("c11.server.keyserver")
KEY_FILE = "keyserver.key"
MAX_BATCH = 1000
#: The access rows of a batch: one Core executemany (the ORM's bulk insert path costs more than the rows).
_ACCESS_INSERT = OnlineAccess.__table__.insert()  # type: ignore[attr-defined]


def load_or_create_key(secrets_dir: Path) -> Identity:
    """The key server's identity from `<secrets>/keyserver.key`, created (mode 0600) at first start."""
    path = secrets_dir / KEY_FILE
    if not path.exists():
        secrets_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(secrets_dir, 0o700)
        ident = Identity.generate("c11 key server", created=int(time.time()))
        tmp = secrets_dir / f".{KEY_FILE}.{os.getpid()}.{threading.get_ident()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(keyfile.dumps(ident, None))
        try:
            os.link(tmp, path)  # atomic; a concurrent first start keeps the first key
            _log.info("keyserver: created the key server key %s (%s)", path, ident.fingerprint)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    try:
        return keyfile.load(path).unlock()
    except KeyFileError as e:
        raise ConfigError(f"cannot read the key server key: {e}") from None


class RateLimiter:
    """At most `limit` calls per user in any `window` seconds (in this server process)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, who: str) -> int:
        """0 if the call may go ahead (and counts it), else the seconds to wait."""
        if self.limit <= 0:
            return 0
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(who, deque())
            while calls and calls[0] <= now - self.window:
                calls.popleft()
            if len(calls) >= self.limit:
                return max(1, int(calls[0] + self.window - now + 0.999))
            calls.append(now)
            if len(self._calls) > 100_000:  # forget idle users
                for k in [k for k, v in self._calls.items() if not v or v[-1] <= now - self.window][:50_000]:
                    del self._calls[k]
            return 0


@dataclass
class ReleaseRequest:
    """One release request as the recorder decides and records it."""

    doc: str
    policy_digest: str
    usable: bool  # the stanza names this key server's key and its share opened
    email_hash: str
    email_verified: bool
    key_fp: str
    user_id: str
    email: str
    address: str
    result: str = "denied"
    index: int = -1
    error: BaseException | None = None
    done: bool = False
    waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = field(default=None, repr=False)


class AccessRecorder:
    """Decides release requests and records them, batching concurrent callers in one transaction.

    In that transaction it reads the documents' state and recipients, decides each request, appends one
    `release` entry per request to the log and inserts the access rows: a decision, its log entry and its
    row commit together. Requests wait on the event loop (no worker thread each): one writer thread takes
    everything queued (up to MAX_BATCH), commits it and wakes the waiters through their loop (group commit).
    """

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self._inbox: queue.SimpleQueue[ReleaseRequest] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()

    async def decide(self, item: ReleaseRequest) -> ReleaseRequest:
        """Decide and record `item`; returns it with `result` and `index` once committed."""
        loop = asyncio.get_running_loop()
        item.waiter = (loop, loop.create_future())
        self._inbox.put(item)
        self._start_writer()
        await item.waiter[1]
        if item.error is not None:
            raise item.error
        return item

    def _start_writer(self) -> None:
        if self._writer is None:
            with self._writer_lock:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write_loop, name="c11-release-writer", daemon=True)
                    self._writer.start()

    def _write_loop(self) -> None:
        while True:
            batch = [self._inbox.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)
            by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for p in batch:
                if p.waiter is not None:
                    by_loop.setdefault(p.waiter[0], []).append(p.waiter[1])
            for loop, futures in by_loop.items():
                try:
                    loop.call_soon_threadsafe(_wake, futures)
                except RuntimeError:  # that loop is closed: nobody waits any more
                    pass

    def _commit(self, batch: list[ReleaseRequest]) -> None:
        if not batch:
            return
        try:
            with log_service(self.ctx).transaction() as (s, log):
                hashes = list({p.email_hash for p in batch if p.email_verified}) or [""]
                fps = list({p.key_fp for p in batch})
                docs: dict[str, Any] = {}
                members: set[tuple[str, str, str | None]] = set()
                for d, digest, revoked, expires, eh, kf in s.connection().execute(  # Core: no ORM compile step
                    select(
                        OnlineDocument.doc_id,
                        OnlineDocument.policy_digest,
                        OnlineDocument.revoked_at,
                        OnlineDocument.expires_at,
                        OnlineRecipient.email_hash,
                        OnlineRecipient.key_fp,
                    )
                    .outerjoin(
                        OnlineRecipient,
                        and_(
                            OnlineRecipient.doc_id == OnlineDocument.doc_id,
                            or_(OnlineRecipient.email_hash.in_(hashes), OnlineRecipient.key_fp.in_(fps)),
                        ),
                    )
                    .where(OnlineDocument.doc_id.in_(list({p.doc for p in batch})))
                ):
                    docs[d] = (digest, revoked, expires)
                    members.add((d, "e", eh))
                    members.add((d, "k", kf))
                now = utcnow()
                rows = []
                for p in batch:
                    d = docs.get(p.doc)
                    by_email = p.email_verified and (p.doc, "e", p.email_hash) in members
                    allowed = (
                        p.usable
                        and d is not None
                        and d[0] == p.policy_digest
                        and d[1] is None
                        and (d[2] is None or d[2] > now)
                        and (by_email or (p.doc, "k", p.key_fp) in members)
                    )
                    p.result = "allowed" if allowed else "denied"
                    by = attribution(allowed, by_email, p.email_verified)
                    salt = os.urandom(16)
                    p.index = log.append(
                        "release",
                        {"doc": p.doc, "result": p.result, "from": from_commitment(salt, p.address)},
                        subject=p.doc,
                        person=p.email_hash if by == "account" else None,
                        private={"by": by, "key": p.key_fp},
                    )
                    holder = by == "key-holder"
                    rows.append(
                        {
                            "log_index": p.index,
                            "doc_id": p.doc,
                            "user_id": None if holder else p.user_id,
                            "email": "" if holder else p.email,
                            "key_fp": p.key_fp,
                            "result": p.result,
                            "address": p.address,
                            "salt": salt.hex(),
                            "at": log.at,
                        }
                    )
                s.connection().execute(_ACCESS_INSERT, rows)
        except BaseException as e:  # every waiter of the batch sees the failure
            for p in batch:
                p.error = e
        finally:
            for p in batch:
                p.done = True


def _wake(futures: list[asyncio.Future[None]]) -> None:
    for f in futures:
        if not f.done():
            f.set_result(None)


def attribution(allowed: bool, by_email: bool, email_verified: bool) -> str:
    """Whom a release entry is about: "account" (the verified account that asked; every refusal of a
    verified account too), "key-holder" (released only because the key sent is a recipient key: whoever
    holds it opens the answer, not necessarily the account that asked), "unverified-account"."""
    if allowed and not by_email:
        return "key-holder"
    return "account" if email_verified else "unverified-account"


def from_commitment(salt: bytes, address: str) -> str:
    """The `from` of a release entry: SHA-256(salt || address) in hex (the address stays off the log)."""
    return hashlib.sha256(salt + address.encode("utf-8")).hexdigest()


class KeyServer:
    """One per application (`keyserver(ctx)`)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.identity = load_or_create_key(ctx.config.data_dir / "secrets")
        self.public = self.identity.public
        self.fingerprint = self.public.fingerprint
        self.limiter = RateLimiter(int(getattr(ctx.config, "keyserver_release_limit", 600)))
        self.recorder = AccessRecorder(ctx)

    def public_seal(self, data: bytes, info: bytes, to: PublicKey | None = None) -> bytes:
        """HPKE-seal `data` to `to` (default: the key server's own key)."""
        key = to or self.public
        return kem_type(key.kem).seal(key.enc, data, info)

    def private_open(self, sealed: bytes, info: bytes) -> bytes:
        """Open what `public_seal` sealed to the key server's own key (IntegrityError otherwise)."""
        return kem_type(self.public.kem).open(self.identity.kem_private, sealed, info)


def keyserver(ctx: ServerContext) -> KeyServer:
    """The application's key server state (created, with its key, at start or on first use)."""
    return ctx.service("keyserver", KeyServer)
