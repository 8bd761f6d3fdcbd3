"""The shard store's HTTP API (docs/shards.md §6, §8): keep, hand out and delete one user's shard.

Each shard call carries a store token (Authorization: Bearer) that the trusted c11 server issued for this user,
this store and this action, AND a session the user got by logging in here with OPAQUE (header
C11-Store-Session): the c11 server's token alone releases nothing. The store checks the token's signature,
issuer, audience, action, expiry and single use, then reports the use to the server and proves its log entry
before it answers: no log entry, no shard (fail closed).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.middleware.cors import CORSMiddleware

from c11 import __version__
from c11._web import body_limits, pake, problems
from c11._web.db import Database, utcnow
from c11._web.problems import Problem, not_found, unauthorized
from c11._web.shard_tokens import KEY_LOGIN_SKEW, LOGGED_ACTION, SESSION_HEADER, TokenError, key_login_message
from c11.errors import C11Error
from c11.keys.cloudkey import Shard
from c11.log.entries import canonical_json
from c11.shardstore.config import StoreConfig
from c11.shardstore.logins import AlreadyRegistered, Logins, UnprotectedShard
from c11.shardstore.models import StoreBase, StoredShard, UsedToken
from c11.shardstore.oidc import StoreOidc, loopback_redirect
from c11.shardstore.trust import ServerTrust

_log = logging.getLogger("c11.shardstore")
_JSON = "application/json"


def _json(obj: object, status: int = 200) -> Response:
    return Response(canonical_json(obj), status_code=status, media_type=_JSON)


class ShardIn(BaseModel):
    shard: str = Field(max_length=24_000, description="base64 of your shard")
    registration: str | None = Field(
        None,
        max_length=6_000,
        description="first shard: your OPAQUE registration upload (base64url), kept as your login record here",
    )


class RegisterIn(BaseModel):
    request: str = Field(max_length=6_000, description="OPAQUE registration request (base64url)")


class RecordIn(BaseModel):
    registration: str = Field(max_length=6_000, description="OPAQUE registration upload (base64url)")


class KeyLoginIn(BaseModel):
    user_id: str = Field(max_length=64, description="your user ID at the c11 server")
    time: int = Field(ge=0, le=2**62, description="Unix seconds, within 5 minutes of the store's clock")
    nonce: str = Field(max_length=40, description="16 random bytes (base64url), new for each attempt")
    signature: str = Field(max_length=200, description="Ed25519 signature of the key login message (base64url)")


class LoginStartIn(BaseModel):
    user_id: str = Field(max_length=64, description="your user ID at the c11 server")
    request: str = Field(max_length=6_000, description="OPAQUE KE1 (base64url)")


class OidcStartIn(BaseModel):
    redirect_uri: str = Field(max_length=200, description="http://127.0.0.1:<port>/callback")


class OidcFinishIn(BaseModel):
    state: str = Field(max_length=100)
    code: str = Field(max_length=2_000)


class LoginFinishIn(BaseModel):
    login_id: str = Field(max_length=100)
    finalization: str = Field(max_length=6_000, description="OPAQUE KE3 (base64url)")


def _bytes(text: str, what: str) -> bytes:
    try:
        return pake.unb64u(text, what)
    except C11Error as e:
        raise Problem(422, "Bad OPAQUE message", str(e), "bad-opaque") from None


def _login_required(detail: str) -> Problem:
    return Problem(
        401,
        "Store login required",
        detail,
        "store-login-required",
        {"WWW-Authenticate": 'Bearer realm="c11-shard-store"'},
    )


class Store:
    """State of one running store: config, database, trust in its server."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = Database(config.database_url)
        StoreBase.metadata.create_all(self.db.engine)
        self.trust = ServerTrust(config)
        self.logins = Logins(self.db, config.data_dir / "opaque-setup.key", config.session_ttl)
        self.oidc = (
            StoreOidc(config.oidc_issuer, config.oidc_client_id, config.oidc_client_secret)
            if config.oidc_issuer and config.oidc_client_id
            else None
        )

    def registered(self, user_id: str) -> bool:
        """True once the user registered here (an OPAQUE record or an identity-provider binding)."""
        server = self.config.server_url
        return self.logins.has_record(server, user_id) or self.logins.has_binding(server, user_id)

    def close(self) -> None:
        self.trust.close()
        self.db.dispose()

    def peek(self, request: Request, action: str) -> tuple[str, dict[str, Any]]:
        """(token, claims) of a valid token for `action`, not yet marked used. 401 otherwise."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Send a store token from your c11 server (POST /api/v1/shards/tokens).")
        token = token.strip()
        try:
            return token, self.trust.verify(token, action)
        except TokenError as e:
            raise unauthorized(f"Store token refused: {e}.") from None

    def session_user(self, request: Request) -> str | None:
        """The user of the request's store session (header C11-Store-Session), if it is valid."""
        return self.logins.session_user(self.config.server_url, request.headers.get(SESSION_HEADER, "").strip())

    def require_session(self, request: Request, user_id: str) -> None:
        """401 store-login-required unless the request carries a valid store session of `user_id`."""
        if self.session_user(request) != user_id:
            raise _login_required(
                "Log in to this shard store first (OPAQUE, POST /v1/opaque/login/start): "
                "the c11 server's token alone releases nothing."
            )

    def accept(self, request: Request, action: str) -> tuple[str, dict[str, Any]]:
        """(token, claims) of a valid, unused token for `action`; marks it used. 401 otherwise."""
        token, claims = self.peek(request, action)
        now = int(time.time())
        try:
            with self.db.session() as s:
                s.execute(delete(UsedToken).where(UsedToken.expires < now - 120))
                s.execute(insert(UsedToken).values(jti=claims["jti"], expires=claims["exp"]))
        except IntegrityError:
            raise unauthorized("Store token refused: it was already used.") from None
        return token, claims

    def logged(self, token: str, claims: dict[str, Any]) -> int:
        """Report the use to the c11 server and prove its log entry (503 if either fails)."""
        try:
            index = self.trust.report(token)
            self.trust.prove(index, claims, LOGGED_ACTION[claims["act"]])
        except TokenError as e:
            _log.warning("shard store: refused a %s: %s", claims["act"], e)
            raise Problem(
                503,
                "Not logged",
                f"The shard store answers only once the c11 server logged the "
                f"request, and it did not: {e}. Try again later.",
                "not-logged",
            ) from None
        return index


def create_app(config: StoreConfig) -> FastAPI:
    """The shard store application for `config`."""
    store = Store(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(store.trust.key)  # pin the server's token key now if it answers
        except TokenError as e:
            _log.warning("shard store: %s (will retry on the first request)", e)
        try:
            yield
        finally:
            store.close()

    app = FastAPI(
        title="c11 shard store",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        description="Keeps one shard of cloud-stored c11 keys (docs/shards.md).",
    )
    app.state.store = store
    problems.install(app)
    body_limits.install(app)  # 64 KiB bodies: a shard is at most 16 KiB (24,000 base64 characters)
    # the c11 server's web app (served at its own origin) calls the store from the browser; no cookies are used
    # here (a store token and the store session travel in headers), and no other origin is allowed
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["{0.scheme}://{0.netloc}".format(urlsplit(config.server_url))],
        allow_methods=["GET", "PUT", "POST", "DELETE"],
        allow_headers=["Authorization", "Content-Type", SESSION_HEADER],
        allow_credentials=False,
        max_age=600,
    )
    api = APIRouter(prefix="/v1", tags=["shard store"])

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__, "url": config.url, "server": config.server_url}

    @api.put("/shard", summary="Keep your shard (replaces the one kept before)")
    def put_shard(body: ShardIn, request: Request) -> Response:
        _, claims = store.peek(request, "put")
        user = claims["sub"]
        upload = _bytes(body.registration, "registration upload") if body.registration else None
        first = upload is not None and not store.registered(user)
        if not first:
            store.require_session(request, user)
        token, claims = store.accept(request, "put")
        try:
            shard = Shard.from_b64(body.shard)
        except C11Error as e:
            raise Problem(422, "Bad shard", str(e), "bad-shard") from None
        if shard.user_id != claims["sub"]:
            raise Problem(422, "Bad shard", "The shard is bound to another account.", "bad-shard")
        if first and upload is not None:
            try:
                pake.registration_record(upload)
            except C11Error as e:
                raise Problem(422, "Bad OPAQUE message", str(e), "bad-opaque") from None
        index = store.logged(token, claims)
        try:  # a first registration and its shard in one transaction, refused if anyone registered meanwhile
            with store.db.session() as s:
                if first and upload is not None:
                    store.logins.add_first_record(s, config.server_url, user, upload)
                s.execute(
                    delete(StoredShard).where(
                        StoredShard.server == config.server_url, StoredShard.user_id == claims["sub"]
                    )
                )
                s.add(
                    StoredShard(
                        server=config.server_url,
                        user_id=claims["sub"],
                        fingerprint=shard.fingerprint,
                        shard_index=shard.index,
                        shard=shard.encode(),
                        updated_at=utcnow(),
                    )
                )
        except AlreadyRegistered as e:
            raise Problem(
                409,
                "Already registered",
                f"Refused: {e} (someone registered while this first put "
                "was in progress). Nothing was stored; log in here to replace your shard.",
                "already-registered",
            ) from None
        return _json({"log_index": index, "index": shard.index, "fingerprint": shard.fingerprint})

    @api.get("/shard", summary="Your shard (the fetch is logged first)")
    def get_shard(request: Request) -> Response:
        store.require_session(request, store.peek(request, "get")[1]["sub"])
        token, claims = store.accept(request, "get")
        with store.db.session() as s:
            found = s.get(StoredShard, (config.server_url, claims["sub"]))
        if found is None:
            raise not_found("shard")
        index = store.logged(token, claims)
        return _json({"shard": base64.b64encode(found.shard).decode(), "log_index": index})

    @api.delete("/shard", summary="Delete your shard")
    def delete_shard(request: Request) -> Response:
        store.require_session(request, store.peek(request, "delete")[1]["sub"])
        token, claims = store.accept(request, "delete")
        with store.db.session() as s:
            found = s.get(StoredShard, (config.server_url, claims["sub"]))
        if found is None:
            raise not_found("shard")
        index = store.logged(token, claims)
        with store.db.session() as s:
            s.execute(
                delete(StoredShard).where(StoredShard.server == config.server_url, StoredShard.user_id == claims["sub"])
            )
        return _json({"log_index": index})

    _opaque_routes(api, store)
    app.include_router(api)
    return app


def _opaque_routes(api: APIRouter, store: Store) -> None:
    """The store's own login (docs/shards.md §8): OPAQUE registration and login, sessions."""
    server = store.config.server_url

    @api.post("/opaque/register", summary="OPAQUE registration, first message")
    def register(body: RegisterIn, request: Request) -> Response:
        user = store.session_user(request)
        if user is None:  # a first registration: the c11 server's put token names the user
            user = store.peek(request, "put")[1]["sub"]
            if store.registered(user):
                raise _login_required("You are registered here already: log in to change your registration.")
        try:
            response = store.logins.registration_response(server, user, _bytes(body.request, "registration request"))
        except C11Error as e:
            raise Problem(422, "Bad OPAQUE message", str(e), "bad-opaque") from None
        return _json({"response": pake.b64u(response), "user_id": user})

    @api.put("/opaque/record", summary="Replace your OPAQUE registration (a new password); ends your sessions")
    def new_record(body: RecordIn, request: Request) -> Response:
        user = store.session_user(request)
        if user is None:
            raise _login_required("Log in to this shard store to change your registration.")
        try:
            store.logins.save_record(server, user, _bytes(body.registration, "registration upload"))
        except C11Error as e:
            raise Problem(422, "Bad OPAQUE message", str(e), "bad-opaque") from None
        store.logins.end_sessions(server, user)
        return _json({"status": "registered"})

    @api.post("/opaque/key-login", summary="A store session proven by the key whose shard is stored here")
    def key_login(body: KeyLoginIn) -> Response:
        """For a person who forgot the password (their store record still takes the old one): a signature by
        the signing key named in the shard stored here (`key_login_message`), which neither the c11 server nor
        another store can make. Single use, within 5 minutes; the session may then replace the record."""
        now = int(time.time())
        refused = unauthorized("Key login refused: not signed by the key whose shard is stored here (or too old).")
        if abs(now - body.time) > KEY_LOGIN_SKEW:
            raise refused
        with store.db.session() as s:
            row = s.get(StoredShard, (server, body.user_id))
            stored = bytes(row.shard) if row is not None else None
        if stored is None:
            raise refused
        try:
            sig_key = Shard.parse(stored).public.sig
            signature = pake.unb64u(body.signature, "signature")
            nonce = pake.unb64u(body.nonce, "nonce")
            if sig_key is None:
                raise refused
            Ed25519PublicKey.from_public_bytes(sig_key).verify(
                signature, key_login_message(store.config.url, server, body.user_id, body.time, nonce)
            )
        except (C11Error, InvalidSignature, ValueError):
            raise refused from None
        try:
            with store.db.session() as s:
                s.execute(
                    insert(UsedToken).values(
                        jti=hashlib.sha256(signature).hexdigest(), expires=body.time + KEY_LOGIN_SKEW
                    )
                )
        except IntegrityError:
            raise refused from None
        value, expires = store.logins.new_session(server, body.user_id)
        return _json({"session": value, "user_id": body.user_id, "expires": expires})

    @api.post("/opaque/login/start", summary="OPAQUE login, KE1 to KE2")
    def login_start(body: LoginStartIn) -> Response:
        try:
            started = store.logins.start(server, body.user_id, _bytes(body.request, "KE1"))
        except C11Error as e:
            status = getattr(e, "status", 422) or 422
            raise Problem(
                status, "Login refused", str(e), "too-many-failures" if status == 429 else "bad-opaque"
            ) from None
        if started is None:
            raise Problem(
                404, "Not registered", "No OPAQUE registration for this account at this store.", "not-registered"
            )
        response, login_id = started
        return _json({"response": pake.b64u(response), "login_id": login_id})

    @api.post("/opaque/login/finish", summary="OPAQUE login, KE3: a store session")
    def login_finish(body: LoginFinishIn) -> Response:
        try:
            value, user, expires = store.logins.finish(body.login_id, _bytes(body.finalization, "KE3"))
        except C11Error as e:
            raise unauthorized(f"Store login refused: {e}.") from None
        return _json({"session": value, "user_id": user, "expires": expires})

    def _oidc() -> StoreOidc:
        if store.oidc is None:
            raise Problem(
                404, "No identity provider", "This store logs people in with OPAQUE only.", "oidc-not-configured"
            )
        return store.oidc

    @api.get("/oidc", summary="The identity provider this store logs accounts without a password in with")
    def oidc_info() -> Response:
        o = _oidc()
        return _json({"issuer": o.issuer, "client_id": o.client_id})

    @api.post("/oidc/start", summary="Start a login at the identity provider (this store's own client)")
    def oidc_start(body: OidcStartIn) -> Response:
        if not loopback_redirect(body.redirect_uri):
            raise Problem(422, "Bad redirect", "Only http://127.0.0.1:<port>/callback is allowed.", "bad-redirect")
        try:
            url, state = _oidc().start(body.redirect_uri)
        except C11Error as e:
            raise Problem(502, "Identity provider unreachable", str(e), "oidc-provider-error") from None
        return _json({"url": url, "state": state})

    @api.post(
        "/oidc/finish",
        summary="Finish it: a store session (the first time, with a put store token, "
        "binds the provider account to you)",
    )
    def oidc_finish(body: OidcFinishIn, request: Request) -> Response:
        try:
            issuer, subject = _oidc().finish(body.state, body.code)
        except C11Error as e:
            raise unauthorized(f"Store login refused: {e}.") from None
        user = store.logins.bound_user(server, issuer, subject)
        if user is None:
            if not request.headers.get("authorization"):
                raise Problem(
                    404,
                    "Not registered",
                    "This identity-provider account is bound to no account here.",
                    "not-registered",
                )
            user = store.peek(request, "put")[1]["sub"]
            if store.registered(user):
                raise _login_required("You are registered here with another login.")
            token, claims = store.accept(request, "put")  # single use, and logged before anything is bound
            store.logged(token, claims)
            try:
                store.logins.bind(server, user, issuer, subject)
            except AlreadyRegistered:
                raise _login_required(
                    "You are registered here with another login, or that identity-provider "
                    "account is bound to another account."
                ) from None
            except UnprotectedShard:
                raise Problem(
                    409,
                    "Shard without a login",
                    "A shard stored here before store logins existed is "
                    "kept for this account, and no login protects it: binding an identity-provider "
                    "account now is refused. The owner must store the key again with a password "
                    "registration (a first put with an OPAQUE registration replaces that shard).",
                    "unprotected-shard",
                ) from None
        value, expires = store.logins.new_session(server, user)
        return _json({"session": value, "user_id": user, "expires": expires})
