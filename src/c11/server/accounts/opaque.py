"""OPAQUE (RFC 9807) at the c11 server: sign-up, login, password change and reset (docs/server.md, "Password
flows (OPAQUE)"); the password never reaches the server.

Sign-up (`/accounts/signup/start`, `POST /accounts`) registers the new account's OPAQUE record; logins
(`/sessions/opaque/start`, `/finish`) never send the password; `PUT /account/opaque` after a fresh login
replaces the record (`c11 passwd`) or, for an account made before OPAQUE that just logged in with its
password (`POST /sessions`, the last time the password reaches the server), registers it and deletes the
Argon2 hash; a reset registers the new password under the emailed link's token. The server's OPAQUE setup is made at first use in `<data-dir>/secrets/opaque-setup.key`
(mode 0600); it is not the shard stores' (each store has its own, so neither's records help at the other).
Between KE2 and KE3 the server state is kept sealed (AES-256-GCM, key HKDF'd from the setup) in `opaque_logins`,
so any worker can finish a login and the database alone never holds a usable state.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from datetime import timedelta
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import APIRouter, BackgroundTasks, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from c11._web import pake
from c11._web.pake import load_setup
from c11.errors import C11Error
from c11.server.accounts import limits, reset, service
from c11.server.accounts.client_address import client_address
from c11.server.accounts.models import LoginAttempt, LoginSession, User
from c11.server.accounts.opaque_models import OpaqueCredential, OpaqueLogin
from c11.server.accounts.router import deliver_later, set_session_cookie, user_out
from c11.server.accounts.schemas import (
    ResetCompleteIn,
    ResetDoneOut,
    ResetStartIn,
    SessionOut,
    SignupIn,
    SignupStartIn,
    UserOut,
)
from c11.server.auth import AccountLogin
from c11.server.context import Ctx, ServerContext
from c11.server.db import new_id, utcnow
from c11.server.problems import Problem, responses

SETUP_FILE = "opaque-setup.key"
LOGIN_TTL = timedelta(minutes=2)
SIGNUP_TTL = timedelta(minutes=10)
FRESH_LOGIN = timedelta(minutes=10)  # registering needs a login session at most this old
_AAD = b"c11/v1 opaque login state"

public = APIRouter(prefix="/api/v1", tags=["accounts"], responses=responses(401, 404, 422, 429))
router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=responses(401, 403, 422))
_setups: dict[Path, pake.ServerSetup] = {}
_lock = threading.Lock()


class RegisterStartIn(BaseModel):
    request: str = Field(max_length=6_000, description="OPAQUE registration request (base64url)")


class RegisterIn(BaseModel):
    registration: str = Field(max_length=6_000, description="OPAQUE registration upload (base64url)")


class LoginStartIn(BaseModel):
    email: str = Field(max_length=320)
    request: str = Field(max_length=6_000, description="OPAQUE KE1 (base64url)")
    device_token: str | None = Field(
        None,
        max_length=200,
        description="This device's known-device token: not held back by the login backoff (docs/server.md)",
    )


class LoginFinishIn(BaseModel):
    login_id: str = Field(max_length=64)
    finalization: str = Field(max_length=6_000, description="OPAQUE KE3 (base64url)")
    kind: Literal["cookie", "bearer"] = "bearer"
    device_token: str | None = Field(
        None, max_length=200, description="This device's known-device token (a new one is answered when it has none)"
    )


def _setup(ctx: ServerContext) -> pake.ServerSetup:
    with _lock:
        return _setup_unlocked(ctx)


def _setup_unlocked(ctx: ServerContext) -> pake.ServerSetup:
    path = ctx.config.data_dir / "secrets" / SETUP_FILE
    if path not in _setups:
        _setups[path] = load_setup(path)
    return _setups[path]


def _aead(ctx: ServerContext) -> AESGCM:
    key = HKDF(hashes.SHA256(), 32, salt=None, info=_AAD).derive(_setup(ctx).to_bytes())
    return AESGCM(key)


def _bytes(text: str, what: str) -> bytes:
    try:
        return pake.unb64u(text, what)
    except C11Error as e:
        raise Problem(422, "Bad OPAQUE message", str(e), "bad-opaque") from None


def _cred(user_id: str) -> bytes:
    """The credential identifier at the c11 server: UTF-8 of `c11 LF <user ID>`."""
    return pake.credential_id("c11", user_id)


def _changed_since(user: User, cred: OpaqueCredential) -> bool:
    """True when the account's password changed or was reset after this OPAQUE record was made."""
    times = [t for t in (user.password_changed_at, getattr(user, "password_reset_at", None)) if t is not None]
    return any(t > cred.created_at for t in times)


def _fresh(ctx: ServerContext, principal: AccountLogin) -> None:
    if principal.kind not in ("bearer", "cookie"):
        raise Problem(403, "Forbidden", "Only a login session can register an OPAQUE credential.", "forbidden")
    with ctx.db.session() as s:
        row = s.get(LoginSession, principal.credential_id)
    if row is None or row.created_at < utcnow() - FRESH_LOGIN:
        raise Problem(
            403, "Fresh login required", "Log in again (at most 10 minutes ago) to register.", "fresh-login-required"
        )


@router.post("/account/opaque/start", summary="OPAQUE registration, first message")
def register_start(body: RegisterStartIn, principal: AccountLogin, ctx: Ctx) -> dict[str, str]:
    _fresh(ctx, principal)
    return {"response": _respond(ctx, body.request, principal.user_id)}


@router.put("/account/opaque", summary="Keep (or replace) your OPAQUE registration record")
def register(body: RegisterIn, principal: AccountLogin, ctx: Ctx) -> dict[str, bool]:
    """After a login at most 10 minutes old. The account's Argon2 hash (an account made before OPAQUE, just
    logged in with the password once) is deleted; replacing an OPAQUE record is a password change
    (`c11 passwd`): every other session of the account ends."""
    _fresh(ctx, principal)
    record = _record(body.registration)
    now = utcnow()
    with ctx.db.session() as s:
        user = s.get(User, principal.user_id)
        if user is None:
            raise Problem(401, "Unauthorized", "No such account.", "bad-credentials")
        changed = s.get(OpaqueCredential, principal.user_id) is not None
        s.execute(delete(OpaqueCredential).where(OpaqueCredential.user_id == principal.user_id))
        s.execute(delete(OpaqueLogin).where(OpaqueLogin.user_id == principal.user_id))
        if changed or user.password_hash is not None:
            user.password_changed_at = now  # not newer than the record: it stays valid (`_changed_since`)
        user.password_hash = None
        if changed:
            s.execute(
                delete(LoginSession).where(LoginSession.user_id == user.id, LoginSession.id != principal.credential_id)
            )
        s.flush()
        s.add(OpaqueCredential(user_id=principal.user_id, record=record, created_at=now))
    return {"registered": True}


def _record(upload: str) -> bytes:
    try:
        return pake.registration_record(_bytes(upload, "registration upload"))
    except C11Error as e:
        raise Problem(422, "Bad OPAQUE message", str(e), "bad-opaque") from None


def _respond(ctx: ServerContext, request: str, user_id: str) -> str:
    try:
        return pake.b64u(_setup(ctx).registration_response(_bytes(request, "registration request"), _cred(user_id)))
    except C11Error as e:
        raise Problem(422, "Bad OPAQUE message", str(e), "bad-opaque") from None


# -- sign-up: an OPAQUE registration of a new account (the password never leaves the client) -------------------

_SIGNUP_AAD = b"c11/v1 opaque signup"


def _seal_signup(ctx: ServerContext, user_id: str, email: str) -> str:
    expires = int((utcnow() + SIGNUP_TTL).timestamp())
    nonce = secrets.token_bytes(12)
    plain = json.dumps({"u": user_id, "e": email, "x": expires}).encode()
    return pake.b64u(nonce + _aead(ctx).encrypt(nonce, plain, _SIGNUP_AAD))


def _open_signup(ctx: ServerContext, signup_id: str, email: str) -> str:
    """The account ID a sign-up started for `email` (409 `signup-expired` when too old or not this one's)."""
    try:
        raw = pake.unb64u(signup_id, "signup_id")
        d = json.loads(_aead(ctx).decrypt(raw[:12], raw[12:], _SIGNUP_AAD))
        ok = d["e"] == email and d["x"] >= utcnow().timestamp()
        user_id = str(d["u"])
    except Exception:  # noqa: BLE001 - forged, truncated or another server's: the same answer
        ok, user_id = False, ""
    if not ok:
        raise Problem(409, "Sign-up expired", "Start the sign-up again (it lasts ten minutes).", "signup-expired")
    return user_id


@public.post("/accounts/signup/start", summary="Sign up, first step: OPAQUE registration request")
def signup_start(body: SignupStartIn, ctx: Ctx) -> dict[str, str]:
    """Answers the OPAQUE registration response for a new account ID and `signup_id` (sealed: the ID, the
    email and a ten-minute expiry), which `POST /accounts` sends back. Nothing is stored yet."""
    user_id = new_id()
    return {"response": _respond(ctx, body.request, user_id), "signup_id": _seal_signup(ctx, user_id, body.email)}


@public.post("/accounts", status_code=201, response_model=UserOut, summary="Sign up", responses=responses(409))
def signup(body: SignupIn, tasks: BackgroundTasks, ctx: Ctx) -> UserOut:
    """Create the account with its OPAQUE registration record (no password is sent); a verification link is
    emailed. The account may log in (OPAQUE) but do nothing else until it confirms the link."""
    user_id = _open_signup(ctx, body.signup_id, body.email)
    record = _record(body.registration)
    with ctx.db.session() as s:
        if s.get(User, user_id) is not None:
            raise Problem(409, "Sign-up expired", "This sign-up was used; start again.", "signup-expired")
        user = service.create_user(ctx, s, body.email, None, user_id=user_id)
        s.add(OpaqueCredential(user_id=user.id, record=record, created_at=utcnow()))
        service.send_verification(ctx, s, user)
        out = user_out(user)
    deliver_later(tasks, ctx)
    return out


# -- password reset: a new OPAQUE registration under the emailed link's token ----------------------------------


@public.post("/accounts/password-reset/start", summary="Password reset, first step: OPAQUE registration request")
def reset_start(body: ResetStartIn, ctx: Ctx) -> dict[str, str]:
    """With the token of a reset link (checked, not used up): the registration response for the new password."""
    with ctx.db.session() as s:
        user_id = reset.pending_reset(s, body.token)[1].id
    return {"response": _respond(ctx, body.request, user_id)}


@public.post("/accounts/password-reset/complete", response_model=ResetDoneOut, summary="Set a new password")
def reset_complete(body: ResetCompleteIn, ctx: Ctx) -> ResetDoneOut:
    """With the token of a reset link: the OPAQUE registration upload of the new password; every session and
    machine token of the account ends."""
    user = reset.complete_reset(ctx, body.token, _record(body.registration))
    return ResetDoneOut(email=user.email, sessions_ended=True, not_restored=reset.NOT_RESTORED)


@public.post("/sessions/opaque/start", summary="Log in with OPAQUE: KE1 to KE2")
def login_start(body: LoginStartIn, request: Request, ctx: Ctx) -> dict[str, str]:
    """Always 200 with a KE2 and a login ID: an unknown email, or an account without an OPAQUE record (made
    before OPAQUE), gets a fake KE2 (RFC 9807 §10.9) whose login then fails at the client, or at finish
    (401 bad-credentials), as a wrong password does. Only the client address counts a failure here (one
    password guess per KE2); the account counts one at a failed finish."""
    email = body.email.strip().lower()
    ip = client_address(request, ctx.config)
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.email == email))
        if user is not None and service.unverified_expired(ctx, user):
            service.drop_user(s, user.id)  # never verified in time: gone, as at a password login
            user = None
        if user is None or limits.known_device(s, ctx.config, user.id, body.device_token) is None:
            limits.check(s, ctx.config, email, ip)  # a known device is not held back by others' failures
        cred = s.get(OpaqueCredential, user.id) if user is not None else None
        if user is not None and cred is not None and _changed_since(user, cred):
            cred = None  # the password changed (or was reset) by the password routes since: register again
        ke1 = _bytes(body.request, "KE1")
        try:
            if user is None or cred is None:
                ke2, state = _setup(ctx).login_start(_fake_record(ctx), ke1, _fake_cred(ctx, email))
            else:
                ke2, state = _setup(ctx).login_start(cred.record, ke1, _cred(user.id))
        except C11Error as e:
            raise Problem(422, "Bad OPAQUE message", str(e), "bad-opaque") from None
        _count_address(s, ctx, ip)
        login_id = secrets.token_urlsafe(32)
        s.execute(delete(OpaqueLogin).where(OpaqueLogin.expires_at < utcnow()))
        if user is not None and cred is not None:
            nonce = secrets.token_bytes(12)
            sealed = nonce + _aead(ctx).encrypt(nonce, state, _AAD + b"\0" + login_id.encode())
            s.add(OpaqueLogin(id=login_id, user_id=user.id, sealed=sealed, expires_at=utcnow() + LOGIN_TTL))
    return {"response": pake.b64u(ke2), "login_id": login_id}


def _count_address(s: Session, ctx: ServerContext, ip: str) -> None:
    """One failure for the client address only (a started login is one password guess; not the account's)."""
    s.add(LoginAttempt(scope="ip", key=ip, at=utcnow()))


_FAKE_FILE = "opaque-fake.record"
_fakes: dict[Path, bytes] = {}


def _fake_record(ctx: ServerContext) -> bytes:
    """The server's dummy OPAQUE record (RFC 9807 §10.9), registered once for a random password nobody keeps,
    in `<data-dir>/secrets/opaque-fake.record` (0600). Its masking key never leaves the server, so a KE2 made
    with it cannot be told from a real one without the password."""
    path = ctx.config.data_dir / "secrets" / _FAKE_FILE
    with _lock:
        if path not in _fakes:
            if not path.exists():
                reg = pake.ClientRegistration.start(secrets.token_urlsafe(32))
                answer = _setup_unlocked(ctx).registration_response(reg.request, b"c11\nfake")
                _write_secret(path, pake.registration_record(reg.finish(answer)))
            _fakes[path] = path.read_bytes()
        return _fakes[path]


def _fake_cred(ctx: ServerContext, email: str) -> bytes:
    """The credential identifier of an email without a record: an HMAC of it under a key from the setup, so
    repeated probes of one email meet the same OPRF key and different emails different ones."""
    key = HKDF(hashes.SHA256(), 32, salt=None, info=b"c11/v1 opaque fake credential").derive(_setup(ctx).to_bytes())
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(email.encode())
    return pake.credential_id("c11", "fake-" + mac.finalize().hex()[:32])


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


@public.post(
    "/sessions/opaque/finish",
    status_code=201,
    response_model=SessionOut,
    summary="Log in with OPAQUE: KE3 to a session",
)
def login_finish(body: LoginFinishIn, response: Response, ctx: Ctx) -> SessionOut:
    """401 bad-credentials for a KE3 that does not prove the password (a failure of the account; its start
    counted one of the address), an unknown, used or expired login ID, or a login started with a fake KE2."""
    with ctx.db.session() as s:
        row = s.get(OpaqueLogin, body.login_id)
        if row is not None:
            s.delete(row)  # single use
    try:
        if row is None or row.expires_at < utcnow():
            raise ValueError("no such login")
        state = _aead(ctx).decrypt(row.sealed[:12], row.sealed[12:], _AAD + b"\0" + body.login_id.encode())
        pake.login_finish(state, _bytes(body.finalization, "KE3"))
    except Exception:  # noqa: BLE001 - any failure (none, expired, tag, KE3) is a failed login: one answer
        _count_failure(ctx, row.user_id if row is not None else None)
        raise Problem(
            401,
            "Unauthorized",
            "Wrong email or password (if your account predates OPAQUE, log in once with the legacy password login).",
            "bad-credentials",
            {"WWW-Authenticate": 'Bearer realm="c11"'},
        ) from None
    with ctx.db.session() as s:
        user = s.get(User, row.user_id)
        if user is None:
            raise Problem(401, "Unauthorized", "Wrong email or password.", "bad-credentials")
        limits.clear_account(s, user.email)
        device = limits.remember_device(s, user.id, limits.known_device(s, ctx.config, user.id, body.device_token))
        token, session = service.create_session(ctx, s, user.id, body.kind)
        s.flush()
        out_user = user_out(user)
        expires = session.expires_at
    if body.kind == "cookie":
        set_session_cookie(response, ctx, token)
    return SessionOut(
        user=out_user,
        kind=body.kind,
        expires_at=expires,
        token=token if body.kind == "bearer" else None,
        device_token=device if body.kind == "bearer" else None,
    )


def _count_failure(ctx: ServerContext, user_id: str | None) -> None:
    """A failed finish of a real login: one failure for the account (its start counted the address)."""
    if user_id is None:
        return
    with ctx.db.session() as s:
        user = s.get(User, user_id)
        if user is not None:
            s.add(LoginAttempt(scope="account", key=user.email, at=utcnow()))
