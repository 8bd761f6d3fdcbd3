"""The shard store's own logins (docs/shards.md §8): OPAQUE registration records and sessions.

The store's OPAQUE server setup (OPRF seed and static key) is made at first start in
`<data-dir>/opaque-setup.key` (mode 0600) and never leaves the store. A login's server state lives only in this
process's memory for two minutes; a session is a random bearer value of which the database keeps only the SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from c11._web import pake
from c11._web.db import Database, utcnow
from c11._web.pake import load_setup
from c11.errors import AuthError, FormatError
from c11.shardstore.models import OidcBinding, OpaqueRecord, StoredShard, StoreSession

LOGIN_TTL = 120  # seconds between KE2 and KE3
MAX_PENDING = 10_000  # logins in progress kept at once (older ones are dropped first)
FAILURES_ALLOWED = 10  # logins not finished (wrong passwords) per user per FAILURE_WINDOW before a 429
FAILURE_WINDOW = 900


class TooManyFailures(AuthError):
    """Too many wrong passwords for this user lately (online guessing is bounded)."""


class AlreadyRegistered(AuthError):
    """A first registration or binding for a user who has a record or binding here already."""


class UnprotectedShard(AuthError):
    """A first binding for a user whose shard was stored here before logins existed (no record, no binding)."""


@dataclass(frozen=True)
class _Pending:
    state: bytes
    server: str
    user_id: str
    expires: float


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


class Logins:
    """OPAQUE records, logins in progress and sessions of one store."""

    def __init__(self, db: Database, setup_path: Path, session_ttl: int) -> None:
        self.db = db
        self.setup = load_setup(setup_path)
        self.session_ttl = session_ttl
        self._pending: dict[str, _Pending] = {}
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    # -- registration -------------------------------------------------------------------------------------

    def has_record(self, server: str, user_id: str) -> bool:
        with self.db.session() as s:
            return s.get(OpaqueRecord, (server, user_id)) is not None

    def registration_response(self, server: str, user_id: str, request: bytes) -> bytes:
        return self.setup.registration_response(request, pake.credential_id(server, user_id))

    def save_record(self, server: str, user_id: str, upload: bytes) -> None:
        """Replace the user's record made from a registration upload; ends all the user's sessions."""
        record = pake.registration_record(upload)
        with self.db.session() as s:
            s.execute(delete(OpaqueRecord).where(OpaqueRecord.server == server, OpaqueRecord.user_id == user_id))
            s.add(OpaqueRecord(server=server, user_id=user_id, record=record, updated_at=utcnow()))
            s.execute(delete(StoreSession).where(StoreSession.server == server, StoreSession.user_id == user_id))

    def add_first_record(self, s: Session, server: str, user_id: str, upload: bytes) -> None:
        """In the caller's transaction `s`: the user's first record (AlreadyRegistered if a record or an
        identity-provider binding exists; inserted first, then checked, so two first registrations never
        both succeed); ends all the user's sessions."""
        record = pake.registration_record(upload)
        try:
            s.execute(insert(OpaqueRecord).values(server=server, user_id=user_id, record=record, updated_at=utcnow()))
        except IntegrityError:
            raise AlreadyRegistered("this account is registered here already") from None
        if s.get(OidcBinding, (server, user_id)) is not None:
            raise AlreadyRegistered("this account is registered here already (an identity-provider login)")
        s.execute(delete(StoreSession).where(StoreSession.server == server, StoreSession.user_id == user_id))

    # -- login --------------------------------------------------------------------------------------------

    def start(self, server: str, user_id: str, request: bytes) -> tuple[bytes, str] | None:
        """(KE2, login ID) for a KE1, or None when the user has no record here."""
        self._check_failures(server, user_id)
        with self.db.session() as s:
            found = s.get(OpaqueRecord, (server, user_id))
        if found is None:
            return None
        response, state = self.setup.login_start(found.record, request, pake.credential_id(server, user_id))
        self._failed(server, user_id)  # a wrong password shows only on the client: count until KE3 proves it
        login_id = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            for k in [k for k, p in self._pending.items() if p.expires < now]:
                del self._pending[k]
            while len(self._pending) >= MAX_PENDING:
                del self._pending[next(iter(self._pending))]
            self._pending[login_id] = _Pending(state, server, user_id, now + LOGIN_TTL)
        return response, login_id

    def finish(self, login_id: str, finalization: bytes) -> tuple[str, str, int]:
        """(session value, user ID, expiry in Unix seconds) once KE3 proves the password; AuthError if not."""
        with self._lock:
            pending = self._pending.pop(login_id, None)
        if pending is None or pending.expires < time.monotonic():
            raise AuthError("no such login in progress (it expires after two minutes): start again", 401)
        try:
            pake.login_finish(pending.state, finalization)
        except (AuthError, FormatError):
            raise AuthError("wrong password", 401) from None
        with self._lock:
            self._failures.pop((pending.server, pending.user_id), None)
        value, expires = self.new_session(pending.server, pending.user_id)
        return value, pending.user_id, expires

    def new_session(self, server: str, user_id: str) -> tuple[str, int]:
        """(bearer value, expiry in Unix seconds) of a new session of `user_id`; only its SHA-256 is kept."""
        value = secrets.token_urlsafe(32)
        expires = int(time.time()) + self.session_ttl
        with self.db.session() as s:
            s.execute(delete(StoreSession).where(StoreSession.expires < int(time.time())))
            s.add(StoreSession(digest=_digest(value), server=server, user_id=user_id, expires=expires))
        return value, expires

    def bound_user(self, server: str, issuer: str, subject: str) -> str | None:
        """The user this identity-provider account is bound to here, if any."""
        with self.db.session() as s:
            found = s.execute(
                select(OidcBinding).where(
                    OidcBinding.server == server, OidcBinding.issuer == issuer, OidcBinding.subject == subject
                )
            ).scalar_one_or_none()
        return found.user_id if found is not None else None

    def has_binding(self, server: str, user_id: str) -> bool:
        with self.db.session() as s:
            return s.get(OidcBinding, (server, user_id)) is not None

    def bind(self, server: str, user_id: str, issuer: str, subject: str) -> None:
        """The user's first login: bind this identity-provider account (inserted first, then checked).
        AlreadyRegistered if the user has a record or a binding (or the account is bound to another user),
        UnprotectedShard if a shard stored before logins existed is kept for the user; ends all the user's
        sessions."""
        with self.db.session() as s:
            try:
                s.execute(insert(OidcBinding).values(server=server, user_id=user_id, issuer=issuer, subject=subject))
            except IntegrityError:
                raise AlreadyRegistered("this account or that identity-provider account is bound already") from None
            if s.get(OpaqueRecord, (server, user_id)) is not None:
                raise AlreadyRegistered("this account is registered here already (a password login)")
            if s.get(StoredShard, (server, user_id)) is not None:
                raise UnprotectedShard("a shard stored here before logins existed is kept for this account")
            s.execute(delete(StoreSession).where(StoreSession.server == server, StoreSession.user_id == user_id))

    def session_user(self, server: str, value: str) -> str | None:
        """The user whose unexpired session `value` is (for this server), else None."""
        if not value or len(value) > 200:
            return None
        with self.db.session() as s:
            found = s.execute(select(StoreSession).where(StoreSession.digest == _digest(value))).scalar_one_or_none()
        if found is None or found.server != server or found.expires < int(time.time()):
            return None
        return found.user_id

    def end_sessions(self, server: str, user_id: str) -> None:
        """Forget every session of the user (after a new registration)."""
        with self.db.session() as s:
            s.execute(delete(StoreSession).where(StoreSession.server == server, StoreSession.user_id == user_id))

    # -- online guessing ----------------------------------------------------------------------------------

    def _check_failures(self, server: str, user_id: str) -> None:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get((server, user_id), []) if t > now - FAILURE_WINDOW]
            self._failures[(server, user_id)] = recent
        if len(recent) >= FAILURES_ALLOWED:
            raise TooManyFailures("too many wrong passwords for this account lately: wait 15 minutes", 429)

    def _failed(self, server: str, user_id: str) -> None:
        with self._lock:
            self._failures.setdefault((server, user_id), []).append(time.monotonic())
