"""OPAQUE (RFC 9807) login at the c11 server, a parallel path to the Argon2 password login (docs/shards.md §8).

A logged-in user registers once (`/account/opaque`); later logins (`/sessions/opaque/start`, `/finish`) never
send the password. The server's OPAQUE setup is made at first use in `<data-dir>/secrets/opaque-setup.key`
(mode 0600); it is not the shard stores' (each store has its own, so neither's records help at the other).
Between KE2 and KE3 the server state is kept sealed (AES-256-GCM, key HKDF'd from the setup) in `opaque_logins`,
so any worker can finish a login and the database alone never holds a usable state.
"""

from __future__ import annotations

import secrets
import threading
from datetime import timedelta
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, select

from c11._web import pake
from c11._web.pake import load_setup
from c11.errors import C11Error
from c11.server.accounts import limits, service
from c11.server.accounts.client_address import client_address
from c11.server.accounts.models import LoginSession, User
from c11.server.accounts.opaque_models import OpaqueCredential, OpaqueLogin
from c11.server.accounts.router import set_session_cookie, user_out
from c11.server.accounts.schemas import SessionOut
from c11.server.auth import AccountLogin
from c11.server.context import Ctx, ServerContext
from c11.server.db import utcnow
from c11.server.problems import Problem, responses

SETUP_FILE = "opaque-setup.key"
LOGIN_TTL = timedelta(minutes=2)
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
    device_token: str | None = Field(None, max_length=200, description="This device's known-device token: "
                                     "not held back by the login backoff (docs/server.md)")


class LoginFinishIn(BaseModel):
    login_id: str = Field(max_length=64)
    finalization: str = Field(max_length=6_000, description="OPAQUE KE3 (base64url)")
    kind: Literal["cookie", "bearer"] = "bearer"
    device_token: str | None = Field(None, max_length=200, description="This device's known-device token (a new "
                                     "one is answered when it has none)")


def _setup(ctx: ServerContext) -> pake.ServerSetup:
    path = ctx.config.data_dir / "secrets" / SETUP_FILE
    with _lock:
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
        raise Problem(403, "Fresh login required", "Log in again (at most 10 minutes ago) to register.",
                      "fresh-login-required")


@router.post("/account/opaque/start", summary="OPAQUE registration, first message")
def register_start(body: RegisterStartIn, principal: AccountLogin, ctx: Ctx) -> dict[str, str]:
    _fresh(ctx, principal)
    try:
        response = _setup(ctx).registration_response(_bytes(body.request, "registration request"),
                                                      _cred(principal.user_id))
    except C11Error as e:
        raise Problem(422, "Bad OPAQUE message", str(e), "bad-opaque") from None
    return {"response": pake.b64u(response)}


@router.put("/account/opaque", summary="Keep (or replace) your OPAQUE registration record")
def register(body: RegisterIn, principal: AccountLogin, ctx: Ctx) -> dict[str, bool]:
    _fresh(ctx, principal)
    try:
        record = pake.registration_record(_bytes(body.registration, "registration upload"))
    except C11Error as e:
        raise Problem(422, "Bad OPAQUE message", str(e), "bad-opaque") from None
    with ctx.db.session() as s:
        s.execute(delete(OpaqueCredential).where(OpaqueCredential.user_id == principal.user_id))
        s.add(OpaqueCredential(user_id=principal.user_id, record=record, created_at=utcnow()))
    return {"registered": True}


@public.post("/sessions/opaque/start", summary="Log in with OPAQUE: KE1 to KE2")
def login_start(body: LoginStartIn, request: Request, ctx: Ctx) -> dict[str, str]:
    """404 not-registered when the account has no OPAQUE record (or there is no such account): the client then
    uses the password login once and registers."""
    email = body.email.strip().lower()
    ip = client_address(request, ctx.config)
    with ctx.db.session() as s:
        user = s.scalar(select(User).where(User.email == email))
        if user is None or limits.known_device(s, ctx.config, user.id, body.device_token) is None:
            limits.check(s, ctx.config, email, ip)  # a known device is not held back by others' failures
        cred = s.get(OpaqueCredential, user.id) if user is not None else None
        if user is not None and cred is not None and _changed_since(user, cred):
            cred = None  # the password changed (or was reset) by the password routes since: register again
        if user is None or cred is None:
            raise Problem(404, "Not registered", "No OPAQUE registration for this account: log in with the "
                          "password once.", "not-registered")
        try:
            ke2, state = _setup(ctx).login_start(cred.record, _bytes(body.request, "KE1"), _cred(user.id))
        except C11Error as e:
            raise Problem(422, "Bad OPAQUE message", str(e), "bad-opaque") from None
        limits.record_failure(s, ctx.config, email, ip)  # a wrong password shows only on the client: counted
        # until KE3 proves the password (then cleared)
        login_id = secrets.token_urlsafe(32)
        nonce = secrets.token_bytes(12)
        sealed = nonce + _aead(ctx).encrypt(nonce, state, _AAD + b"\0" + login_id.encode())
        s.execute(delete(OpaqueLogin).where(OpaqueLogin.expires_at < utcnow()))
        s.add(OpaqueLogin(id=login_id, user_id=user.id, sealed=sealed, expires_at=utcnow() + LOGIN_TTL))
    return {"response": pake.b64u(ke2), "login_id": login_id}


@public.post("/sessions/opaque/finish", status_code=201, response_model=SessionOut,
             summary="Log in with OPAQUE: KE3 to a session")
def login_finish(body: LoginFinishIn, response: Response, ctx: Ctx) -> SessionOut:
    with ctx.db.session() as s:
        row = s.get(OpaqueLogin, body.login_id)
        if row is not None:
            s.delete(row)  # single use
    if row is None or row.expires_at < utcnow():
        raise Problem(401, "Unauthorized", "No such login in progress (it lasts two minutes).", "bad-credentials")
    try:
        state = _aead(ctx).decrypt(row.sealed[:12], row.sealed[12:], _AAD + b"\0" + body.login_id.encode())
        pake.login_finish(state, _bytes(body.finalization, "KE3"))
    except Exception:  # noqa: BLE001 - any failure (tag, KE3) is a failed login
        raise Problem(401, "Unauthorized", "Wrong email or password.", "bad-credentials",
                      {"WWW-Authenticate": 'Bearer realm="c11"'}) from None
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
    return SessionOut(user=out_user, kind=body.kind, expires_at=expires,
                      token=token if body.kind == "bearer" else None,
                      device_token=device if body.kind == "bearer" else None)
