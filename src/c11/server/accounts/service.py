"""The rules of accounts: sign-up, verification, login with limits, sessions, password change.

Functions take an open SQLAlchemy session, so the caller decides the transaction.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from c11.server.accounts import limits
from c11.server.accounts.models import EmailVerification, LoginSession, User
from c11.server.auth import SESSION_PREFIX, Principal
from c11.server.context import ServerContext
from c11.server.credentials import digest, new_secret
from c11.server.db import utcnow
from c11.server.orgs import service as org_service
from c11.server.outbox.service import notify
from c11.server.passwords import check_rules
from c11.server.problems import Problem


def create_user(
    ctx: ServerContext, s: Session, email: str, password: str | None, verified: bool = False, user_id: str | None = None
) -> User:
    """A new user (`password`: an Argon2 login, for the operator's tools only; sign-up registers OPAQUE, see
    accounts.opaque). 409 if a verified account has the email; an unverified one is replaced (with all it
    had): an unproven sign-up never blocks the address's owner."""
    if password is not None:
        check_rules(password)
    purge_unverified(ctx, s)
    existing = s.scalar(select(User).where(User.email == email))
    if existing is not None and existing.email_verified_at is not None:
        raise Problem(409, "Conflict", "An account with this email already exists.", "email-taken")
    if existing is not None:
        drop_user(s, existing.id)
    now = utcnow()
    user = User(
        email=email,
        password_hash=ctx.passwords.hash(password) if password is not None else None,
        created_at=now,
        email_verified_at=now if verified else None,
        **({"id": user_id} if user_id else {}),
    )
    s.add(user)
    s.flush()
    return user


def drop_user(s: Session, user_id: str) -> None:
    """Delete an account and, through the foreign keys, every session, token, device, key row and shard of it."""
    s.execute(delete(User).where(User.id == user_id))
    s.flush()


def unverified_expired(ctx: ServerContext, user: User) -> bool:
    """Is this an account whose email was never verified, past `unverified_account_hours`?"""
    limit = utcnow() - timedelta(hours=ctx.config.unverified_account_hours)
    return user.email_verified_at is None and user.created_at <= limit


def purge_unverified(ctx: ServerContext, s: Session) -> None:
    """Delete the accounts whose email was never verified within `unverified_account_hours`."""
    limit = utcnow() - timedelta(hours=ctx.config.unverified_account_hours)
    s.execute(delete(User).where(User.email_verified_at.is_(None), User.created_at <= limit))


def send_verification(ctx: ServerContext, s: Session, user: User) -> None:
    """Queue a verification email with a fresh single-use link (in the caller's transaction)."""
    token = new_secret("c11v")
    ttl = ctx.config.verification_ttl_hours
    s.add(
        EmailVerification(
            user_id=user.id, token_hash=digest(token), email=user.email, expires_at=utcnow() + timedelta(hours=ttl)
        )
    )
    # the browser app's page; the token stays in the fragment, which browsers never send to a server
    link = f"{ctx.config.base_url}/verify#token={token}"
    notify(s, ctx.config.base_url, "email_verification", user.email, link=link, expires_hours=ttl, secret=token)


def pending_verification(s: Session, token: str) -> tuple[EmailVerification, User]:
    """The unused, current verification of a link and its account; 400 if unknown, used or old."""
    row = s.scalar(select(EmailVerification).where(EmailVerification.token_hash == digest(token)))
    user = s.get(User, row.user_id) if row is not None else None
    if row is None or user is None or row.used_at is not None or row.expires_at <= utcnow() or row.email != user.email:
        raise Problem(
            400, "Invalid link", "This verification link is invalid, used or expired.", "invalid-verification-link"
        )
    return row, user


def verify_email(s: Session, token: str, user_id: str) -> User:
    """Mark the email of a verification link as verified; 400 if the link is unknown, used or old.

    The caller must be logged in to the account of the link (`user_id`, its session): a link mailed to the
    real owner must not confirm an account that someone else signed up with their address (403
    `wrong-account`, the link stays usable)."""
    now = utcnow()
    row, user = pending_verification(s, token)
    if user.id != user_id:
        raise Problem(
            403,
            "Wrong account",
            "Confirming an address needs a login to the account that signed up "
            "with it. If you did not sign up with this address, ignore the email: the account expires "
            "unconfirmed.",
            "wrong-account",
        )
    row.used_at = now
    if user.email_verified_at is None:
        user.email_verified_at = now
    org_service.activate(s, user.email)  # an invited organization member becomes active
    return user


def create_session(ctx: ServerContext, s: Session, user_id: str, kind: str) -> tuple[str, LoginSession]:
    """A new login session; returns the secret (to hand out once) and the row."""
    token = new_secret(SESSION_PREFIX)
    s.execute(delete(LoginSession).where(LoginSession.user_id == user_id, LoginSession.expires_at <= utcnow()))
    row = LoginSession(
        user_id=user_id,
        token_hash=digest(token),
        kind=kind,
        expires_at=utcnow() + timedelta(hours=ctx.config.session_ttl_hours),
    )
    s.add(row)
    s.flush()
    return token, row


def authenticate_password(
    ctx: ServerContext, email: str, password: str, ip: str, device_token: str | None = None
) -> tuple[User, str | None]:
    """The user whose password this is, within the login limits (which a known device passes); 401 or 429
    otherwise. Also returns a new known-device token when this device was not known yet."""
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.email == email))
        if user is not None and unverified_expired(ctx, user):
            drop_user(s, user.id)
            user = None
        device = limits.known_device(s, ctx.config, user.id, device_token) if user is not None else None
        if device is None:
            limits.check(s, ctx.config, email, ip)
        ok = ctx.passwords.verify(user.password_hash if user else None, password)
        if ok and user is not None:
            limits.clear_account(s, email)
            new_device = limits.remember_device(s, user.id, device)
            if user.email_verified_at is not None:
                org_service.activate(s, user.email)
            s.flush()
            s.expunge(user)
            return user, new_device
        limits.record_failure(s, ctx.config, email, ip)
    raise Problem(
        401, "Unauthorized", "Wrong email or password.", "bad-credentials", {"WWW-Authenticate": 'Bearer realm="c11"'}
    )


def logout(s: Session, principal: Principal) -> None:
    """End the caller's login session."""
    if principal.kind == "token":
        raise Problem(400, "Bad Request", "A machine token is not a login; revoke it instead.", "not-a-session")
    s.execute(delete(LoginSession).where(LoginSession.id == principal.credential_id))
