"""Who is calling: a web session cookie, a CLI session bearer token, or a machine token with scopes.

`require_user` and `require_scope(...)` are the dependencies routers use; anything else is anonymous.
An account whose email is not verified may read but change nothing (no tokens, keys, claims, shards...): only
the account routes (`require_account`: verify, resend, log out, password) accept it for a change (docs/server.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select, update

from c11.server.accounts.models import LoginSession, User
from c11.server.context import Ctx, ServerContext
from c11.server.credentials import digest
from c11.server.db import utcnow
from c11.server.problems import Problem, unauthorized
from c11.server.scopes import SCOPES
from c11.server.tokens.models import MachineToken

SESSION_COOKIE = "c11_session"
#: a cookie session's state-changing request must carry this header: a cross-site form or a simple request cannot
#: set it, and a cross-site fetch that does is stopped by CORS preflight (the server allows no other origin)
CSRF_HEADER = "x-c11-csrf"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_PREFIX = "c11s"
MACHINE_PREFIX = "c11t"
_LAST_USED_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `kind` is cookie, bearer (CLI login) or token (machine token)."""

    user_id: str
    email: str
    email_verified: bool
    kind: str
    credential_id: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        return scope in self.scopes


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticate(request: Request, ctx: ServerContext) -> Principal | None:
    """The caller, or None when no valid credential was sent."""
    token = _bearer(request)
    if token is not None:
        if token.startswith(MACHINE_PREFIX + "_"):
            return _machine(ctx, token)
        return _session(ctx, token, "bearer")
    cookie = request.cookies.get(SESSION_COOKIE)
    principal = _session(ctx, cookie, "cookie") if cookie else None
    if principal is not None and request.method not in _SAFE_METHODS and not request.headers.get(CSRF_HEADER):
        raise Problem(
            403,
            "Missing CSRF header",
            f"A request that changes something with a session cookie must "
            f"send the header {CSRF_HEADER.upper()}: 1 (the c11 web app does).",
            "csrf-header-required",
        )
    return principal


def _session(ctx: ServerContext, token: str, kind: str) -> Principal | None:
    now = utcnow()
    with ctx.db.session() as s:
        row = s.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_hash == digest(token), LoginSession.kind == kind)
        ).first()
        if row is None or row[0].expires_at <= now or _unverified_expired(ctx, row[1], now):
            return None
        sess, user = row
        return Principal(user.id, user.email, user.email_verified_at is not None, kind, sess.id, frozenset(SCOPES))


def _machine(ctx: ServerContext, token: str) -> Principal | None:
    now = utcnow()
    with ctx.db.session() as s:
        row = s.execute(
            select(MachineToken, User)
            .join(User, User.id == MachineToken.user_id)
            .where(MachineToken.token_hash == digest(token))
        ).first()
        if (
            row is None
            or row[0].revoked_at is not None
            or row[0].expires_at <= now
            or _unverified_expired(ctx, row[1], now)
        ):
            return None
        tok, user = row
        if tok.last_used_at is None or now - tok.last_used_at > _LAST_USED_GRANULARITY:
            s.execute(update(MachineToken).where(MachineToken.id == tok.id).values(last_used_at=now))
        return Principal(
            user.id, user.email, user.email_verified_at is not None, "token", tok.id, frozenset(tok.scopes.split())
        )


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _unverified_expired(ctx: ServerContext, user: User, now: datetime) -> bool:
    """An account never verified within `unverified_account_hours` logs in no more (it is purged later)."""
    return user.email_verified_at is None and user.created_at <= now - timedelta(
        hours=ctx.config.unverified_account_hours
    )


def require_account(request: Request, ctx: Ctx) -> Principal:
    """Dependency: the authenticated caller, verified or not, or 401 (the account routes only)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = authenticate(request, ctx)
    if principal is None:
        raise unauthorized()
    request.state.principal = principal
    return principal


def require_user(request: Request, ctx: Ctx) -> Principal:
    """Dependency: the authenticated caller, or 401; 403 `email-unverified` for a change by an account whose
    email is not verified (it may only read until it verifies)."""
    principal = require_account(request, ctx)
    if not principal.email_verified and request.method not in _SAFE_METHODS:
        raise Problem(
            403,
            "Email not verified",
            "Verify your email address first: open the link we emailed "
            "(signing up again with the same address sends a new one).",
            "email-unverified",
        )
    return principal


#: Route parameter type: the authenticated caller (401 otherwise; 403 for changes until the email is verified).
CurrentUser = Annotated[Principal, Depends(require_user)]
#: Route parameter type: the authenticated caller, verified or not (account routes).
AccountUser = Annotated[Principal, Depends(require_account)]


def require_scope(scope: str) -> Callable[..., Principal]:
    """Dependency factory: the caller, who must hold `scope` (403 otherwise)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def dependency(principal: CurrentUser) -> Principal:
        if not principal.has(scope):
            raise Problem(403, "Forbidden", f"This token lacks the scope {scope}.", "insufficient-scope", scope=scope)
        return principal

    return dependency


def require_login_session(principal: CurrentUser) -> Principal:
    """Dependency: the caller, logged in with a password or OIDC (not a machine token)."""
    if principal.kind == "token":
        raise Problem(403, "Forbidden", "Machine tokens cannot do this; log in.", "login-required")
    return principal


#: Route parameter type: the caller, logged in with a password or OIDC (403 for machine tokens).
LoginUser = Annotated[Principal, Depends(require_login_session)]


def _require_account_login(principal: AccountUser) -> Principal:
    if principal.kind == "token":
        raise Problem(403, "Forbidden", "Machine tokens cannot do this; log in.", "login-required")
    return principal


#: Route parameter type: a login session, verified or not (account routes: password change, resend, log out).
AccountLogin = Annotated[Principal, Depends(_require_account_login)]
