"""HTTP routes of the shards service (docs/shards.md §5): the server's own shard of each cloud-stored
key, store tokens, the token verification key, store reports of used tokens, and the key archive.

Shards and archives are only for login sessions (a machine token never reaches a private key). Every shard
stored, fetched or deleted, here or at a store, is a `shard` entry in the transparency log.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete
from starlette.concurrency import run_in_threadpool

from c11._web import shard_tokens as tokens
from c11.errors import C11Error
from c11.format.header import MAGIC
from c11.keys.cloudkey import Shard
from c11.log.entries import canonical_json, rfc3339
from c11.server.accounts.reset import NOT_RESTORED, store_fetch_allowed
from c11.server.auth import LoginUser, _bearer, require_user
from c11.server.context import Ctx
from c11.server.db import utcnow
from c11.server.logsrv.service import log_service
from c11.server.problems import Problem, base64_field, not_found, responses, unauthorized
from c11.server.shards.models import CloudKey, KeyArchive
from c11.server.shards.service import shard_service

_JSON = "application/json"
MAX_SHARD_B64 = 24_000
MAX_ARCHIVE = 1 << 20


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(shard_service, app.state.ctx)  # create the token key at first start
    yield


#: Anonymous: the token verification key (stores fetch it); store reports authenticate with a store token.
public = APIRouter(prefix="/api/v1/shards", tags=["shards"], responses=responses(401, 422))
private = APIRouter(
    prefix="/api/v1/shards",
    tags=["shards"],
    dependencies=[Depends(require_user)],
    responses=responses(401, 403, 404, 409, 422),
)


def _json(obj: object, status: int = 200) -> Response:
    return Response(canonical_json(obj), status_code=status, media_type=_JSON)


# -- public ------------------------------------------------------------------------------------------------


@public.get("/token-key", summary="The key shard store tokens are signed with (JWK, Ed25519)")
def token_key(ctx: Ctx) -> Response:
    """Shard stores verify store tokens with this key (they pin it at first use or by `--server-key`)."""
    svc = shard_service(ctx)
    keys = svc.keys
    return _json(
        {
            "issuer": svc.issuer,
            "alg": tokens.ALG,
            "jwk": tokens.public_jwk(keys.current),
            # each signed by the key before it: a store that pinned an old key follows them (docs/shards.md)
            "handovers": svc.handovers,
        }
    )


class UseOut(BaseModel):
    log_index: int
    action: str
    store: str


@public.post("/uses", response_model=UseOut, summary="A shard store reports a store token it accepted")
def report_use(request: Request, ctx: Ctx) -> Response:
    """Authenticated by the store token itself (Authorization: Bearer <token>). The server checks it is one
    of its own, logs the action once per token ID and answers the log index; a store returns a shard only
    after this succeeded."""
    token = _bearer(request)
    if token is None:
        raise unauthorized("Send the store token as a bearer token.")
    try:
        index, claims = shard_service(ctx).record_use(token)
    except tokens.TokenError as e:
        raise unauthorized(f"Not a valid store token: {e}.") from None
    return _json({"log_index": index, "action": claims["act"], "store": claims["aud"]})


# -- the caller's cloud key --------------------------------------------------------------------------------


class StoresOut(BaseModel):
    stores: list[str]
    threshold: int
    count: int


@private.get("/stores", response_model=StoresOut, summary="Where the shard stores are (C11_SHARD_STORES)")
def stores(ctx: Ctx, principal: LoginUser) -> Response:
    return _json({"stores": shard_service(ctx).stores, "threshold": 2, "count": 3})


def _status(ctx: Any, principal: Any) -> dict[str, Any]:
    svc = shard_service(ctx)
    with ctx.db.session() as s:
        ck = s.get(CloudKey, principal.user_id)
        ar = s.get(KeyArchive, principal.user_id)
    return {
        "user_id": principal.user_id,
        "server": svc.issuer,
        "stores": svc.stores,
        "threshold": 2,
        "count": 3,
        "cloud_key": None
        if ck is None
        else {
            "fingerprint": ck.fingerprint,
            "split_id": ck.split_id,
            "placements": json.loads(ck.placements),
            "created_at": rfc3339(ck.created_at),
        },
        "archive": None if ar is None else {"fingerprint": ar.fingerprint, "updated_at": rfc3339(ar.updated_at)},
    }


@private.get("", summary="Your cloud-stored key: where its shards are; your key archive")
def status(ctx: Ctx, principal: LoginUser) -> Response:
    return _json(_status(ctx, principal))


class Placement(BaseModel):
    index: int = Field(ge=1, le=255)
    where: str = Field(pattern="^(server|store|recovery)$")
    url: str | None = Field(default=None, max_length=500)


class ShardIn(BaseModel):
    shard: str = Field(max_length=MAX_SHARD_B64, description="base64 of the shard the server keeps")
    placements: list[Placement] = Field(max_length=255, description="Where every shard of the split is")


@private.put("/shard", summary="Store the server's shard of your cloud-stored key")
def put_shard(body: ShardIn, ctx: Ctx, principal: LoginUser) -> Response:
    """Keep one shard (logged). A different key needs the old one deleted first (409)."""
    try:
        shard = Shard.from_b64(body.shard)
    except C11Error as e:
        raise Problem(422, "Bad shard", str(e), "bad-shard") from None
    if shard.user_id != principal.user_id:
        raise Problem(422, "Bad shard", "The shard is bound to another account.", "bad-shard")
    places = [p.model_dump(exclude_none=True) for p in body.placements]
    if {p["index"] for p in places} != set(range(1, shard.count + 1)) or not any(
        p["index"] == shard.index and p["where"] == "server" for p in places
    ):
        raise Problem(422, "Bad placements", "Name where each shard is; this one is on the server.", "bad-shard")
    svc = shard_service(ctx)
    with log_service(ctx).transaction() as (s, log):
        found = s.get(CloudKey, principal.user_id)
        if found is not None and found.fingerprint != shard.fingerprint:
            raise Problem(
                409,
                "Conflict",
                "You have another cloud-stored key; delete it first (c11 keys replace).",
                "cloud-key-exists",
            )
        if found is not None:
            s.delete(found)
            s.flush()
        s.add(
            CloudKey(
                user_id=principal.user_id,
                fingerprint=shard.fingerprint,
                split_id=shard.split_id.hex(),
                shard=shard.encode(),
                placements=canonical_json(places),
                created_at=utcnow(),
            )
        )
        index = svc.log(log, "store", principal.email, svc.issuer, shard.fingerprint)
    return _json({"log_index": index, **_status(ctx, principal)})


@private.get("/shard", summary="Fetch the server's shard of your cloud-stored key (logged)")
def get_shard(ctx: Ctx, principal: LoginUser) -> Response:
    svc = shard_service(ctx)
    with log_service(ctx).transaction() as (s, log):
        found = s.get(CloudKey, principal.user_id)
        if found is None:
            raise not_found("cloud-stored key")
        shard = base64.b64encode(found.shard).decode()
        index = svc.log(log, "fetch", principal.email, svc.issuer, found.fingerprint)
    return _json({"shard": shard, "log_index": index})


@private.delete("/shard", summary="Delete the server's shard of your cloud-stored key (logged)")
def delete_shard(ctx: Ctx, principal: LoginUser) -> Response:
    svc = shard_service(ctx)
    with log_service(ctx).transaction() as (s, log):
        found = s.get(CloudKey, principal.user_id)
        if found is None:
            raise not_found("cloud-stored key")
        fp = found.fingerprint
        s.execute(delete(CloudKey).where(CloudKey.user_id == principal.user_id))
        index = svc.log(log, "delete", principal.email, svc.issuer, fp)
    return _json({"log_index": index})


class TokenIn(BaseModel):
    store: str = Field(max_length=500, description="The store's URL (the token's audience)")
    action: str = Field(pattern="^(get|put|delete)$")


class TokenOut(BaseModel):
    token: str
    store: str
    action: str
    expires_at: int


@private.post("/tokens", response_model=TokenOut, summary="A short-lived token for one shard store")
def new_token(body: TokenIn, ctx: Ctx, principal: LoginUser) -> Response:
    """Bound to you, to that store and to one action; single use; expires in C11_SHARD_TOKEN_TTL_SECONDS."""
    try:
        store = tokens.normalize_url(body.store)
    except ValueError as e:
        raise Problem(422, "Bad store", str(e), "bad-store") from None
    if body.action == "get":  # after a password reset the stores release nothing until the key is stored again
        with ctx.db.session() as s:
            key = s.get(CloudKey, principal.user_id)
            if not store_fetch_allowed(s, principal.user_id, key.created_at if key is not None else None):
                raise Problem(403, "Forbidden", NOT_RESTORED, "reset-needs-recovery")
    issued = shard_service(ctx).issue(principal.user_id, store, body.action)
    return _json({"token": issued.token, "store": store, "action": body.action, "expires_at": issued.expires_at})


# -- the archive of old keys -------------------------------------------------------------------------------


class ArchiveIn(BaseModel):
    archive: str = Field(max_length=2 * MAX_ARCHIVE, description="base64 of a c11 file for your current key")
    fingerprint: str = Field(pattern="^[0-9a-f]{32}$", description="The key it is encrypted to")


@private.get("/archive", summary="Your archive of old private keys (encrypted to your current key)")
def get_archive(ctx: Ctx, principal: LoginUser) -> Response:
    with ctx.db.session() as s:
        found = s.get(KeyArchive, principal.user_id)
    if found is None:
        raise not_found("key archive")
    return _json(
        {
            "archive": base64.b64encode(found.data).decode(),
            "fingerprint": found.fingerprint,
            "updated_at": rfc3339(found.updated_at),
        }
    )


@private.put("/archive", summary="Replace your archive of old private keys")
def put_archive(body: ArchiveIn, ctx: Ctx, principal: LoginUser) -> Response:
    data = base64_field(body.archive, "archive", MAX_ARCHIVE)
    if not data.startswith(MAGIC):
        raise Problem(422, "Bad archive", "The archive must be a c11 file.", "bad-archive")
    svc = shard_service(ctx)
    with log_service(ctx).transaction() as (s, log):
        found = s.get(KeyArchive, principal.user_id)
        if found is None:
            s.add(KeyArchive(user_id=principal.user_id, fingerprint=body.fingerprint, data=data, updated_at=utcnow()))
        else:
            found.fingerprint, found.data, found.updated_at = body.fingerprint, data, utcnow()
        index = svc.log(log, "archive", principal.email, svc.issuer, body.fingerprint)
    return _json({"log_index": index})


#: What app.py mounts (SERVICES["shards"]): the public and the logged-in routes, and the token key at start.
router = APIRouter(lifespan=_lifespan)
router.include_router(public)
router.include_router(private)
