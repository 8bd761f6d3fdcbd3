"""Password reset by email: a single-use, short-lived link gives the account back, never the cloud-stored key.

A reset ends every login session and sets a new password; it does not touch what the shard stores hold.
Until the person stores their key's shards again, `store_fetch_allowed` refuses store tokens for fetching
a shard, so an attacker who controls the mailbox gets one shard at most (the server's), never two: the key
comes back only with the recovery shard, another device or an organization recovery key (docs/server.md).

OPAQUE: the new password is a new OPAQUE registration (`/password-reset/start`, `/complete` in
accounts.opaque): the server never sees it. `after_reset` deletes the record of the old one. The shard stores'
own OPAQUE registrations are not derived from the c11 record and are left as they are here.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from c11.server.accounts import limits
from c11.server.accounts.models import KnownDevice, LoginSession, PasswordReset, User
from c11.server.accounts.opaque_models import OpaqueCredential, OpaqueLogin
from c11.server.context import ServerContext
from c11.server.credentials import digest, new_secret
from c11.server.db import utcnow
from c11.server.outbox.service import notify
from c11.server.problems import Problem
from c11.server.tokens.models import MachineToken

RESET_PREFIX = "c11r"
#: What a reset does not give back; the API answer and the CLI say it.
NOT_RESTORED = (
    "A password reset restores your account, not your cloud-stored key: the shard stores do not "
    "release it after a reset. It comes back with your recovery shard (C11_RECOVERY_SHARD), another "
    "device that holds your key, or your organization's recovery key; then store it again "
    "(`c11 keys replace`)."
)
_RESEND_AFTER = timedelta(seconds=60)


def request_reset(ctx: ServerContext, s: Session, email: str) -> bool:
    """Email a reset link to the account of `email` if it is verified (the caller answers the same either
    way); at most one email a minute per account. Returns whether one was queued."""
    user = s.scalar(select(User).where(User.email == email))
    if user is None or user.email_verified_at is None:
        return False
    now = utcnow()
    recent = s.scalar(
        select(PasswordReset.id).where(PasswordReset.user_id == user.id, PasswordReset.created_at > now - _RESEND_AFTER)
    )
    if recent is not None:
        return False
    s.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.expires_at <= now))
    token = new_secret(RESET_PREFIX)
    minutes = ctx.config.password_reset_minutes
    s.add(
        PasswordReset(
            user_id=user.id, token_hash=digest(token), created_at=now, expires_at=now + timedelta(minutes=minutes)
        )
    )
    base = ctx.config.base_url
    notify(
        s,
        base,
        "password_reset",
        user.email,
        link=f"{base}/api/v1/accounts/password-reset?token={token}",
        expires_minutes=minutes,
        server=base,
        secret=token,
    )
    return True


def pending_reset(s: Session, token: str) -> tuple[PasswordReset, User]:
    """The unused, current reset of a link's token and its account; 400 `invalid-reset-link` otherwise."""
    row = s.scalar(select(PasswordReset).where(PasswordReset.token_hash == digest(token)))
    user = s.get(User, row.user_id) if row is not None else None
    if row is None or user is None or row.used_at is not None or row.expires_at <= utcnow():
        raise Problem(
            400,
            "Invalid link",
            "This password reset link is invalid, used or expired; ask for a new one.",
            "invalid-reset-link",
        )
    return row, user


def complete_reset(ctx: ServerContext, token: str, record: bytes) -> User:
    """Set a new password with a reset link's token: `record` is the new OPAQUE registration record (the
    password never reaches the server; any old Argon2 hash is deleted). Every session ends, every machine
    token is revoked (whoever held the account before must not keep acting with theirs), the login backoff
    is cleared."""
    now = utcnow()
    with ctx.db.session() as s:
        row, user = pending_reset(s, token)
        row.used_at = now
        user.password_hash = None
        user.password_changed_at = user.password_reset_at = now
        s.execute(delete(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.id != row.id))
        s.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        s.execute(delete(KnownDevice).where(KnownDevice.user_id == user.id))
        s.execute(
            update(MachineToken)
            .where(MachineToken.user_id == user.id, MachineToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        limits.clear_account(s, user.email)
        after_reset(s, user)
        s.flush()
        s.add(OpaqueCredential(user_id=user.id, record=record, created_at=now))  # not newer than the reset
        s.flush()
        s.expunge(user)
    return user


def after_reset(s: Session, user: User) -> None:
    """What else a reset drops, in its transaction: the account's OPAQUE record of the old password and its
    logins in progress (login sessions and known devices are gone already; the shard stores are guarded by
    `store_fetch_allowed`)."""
    s.execute(delete(OpaqueCredential).where(OpaqueCredential.user_id == user.id))
    s.execute(delete(OpaqueLogin).where(OpaqueLogin.user_id == user.id))


def store_fetch_allowed(s: Session, user_id: str, stored_at: object) -> bool:
    """May this account get a token to fetch a shard from a store? Not after a password reset until it
    stores its key again (`stored_at`: when the current cloud-stored key's shards were stored)."""
    reset_at = s.scalar(select(User.password_reset_at).where(User.id == user_id))
    return reset_at is None or stored_at is None or stored_at > reset_at  # type: ignore[operator]
