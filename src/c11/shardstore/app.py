"""The shard store's HTTP API (docs/shards.md §6): keep, hand out and delete one user's shard.

Each call carries a store token (Authorization: Bearer) that the trusted c11 server issued for this user, this
store and this action. The store checks signature, issuer, audience, action, expiry and single use, then reports
the use to the server and proves its log entry before it answers: no log entry, no shard (fail closed).
"""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from c11 import __version__
from c11.errors import C11Error
from c11.keys.cloudkey import Shard
from c11.log.entries import canonical_json
from c11.server import problems
from c11.server.db import Database, utcnow
from c11.server.problems import Problem, not_found, unauthorized
from c11.server.shards.service import LOGGED_ACTION
from c11.server.shards.tokens import TokenError
from c11.shardstore.config import StoreConfig
from c11.shardstore.models import StoreBase, StoredShard, UsedToken
from c11.shardstore.trust import ServerTrust

_log = logging.getLogger("c11.shardstore")
_JSON = "application/json"


def _json(obj: object, status: int = 200) -> Response:
    return Response(canonical_json(obj), status_code=status, media_type=_JSON)


class ShardIn(BaseModel):
    shard: str = Field(max_length=24_000, description="base64 of your shard")


class Store:
    """State of one running store: config, database, trust in its server."""

    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.db = Database(config.database_url)
        StoreBase.metadata.create_all(self.db.engine)
        self.trust = ServerTrust(config)

    def close(self) -> None:
        self.trust.close()
        self.db.dispose()

    def accept(self, request: Request, action: str) -> tuple[str, dict[str, Any]]:
        """(token, claims) of a valid, unused token for `action`; marks it used. 401 otherwise."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("Send a store token from your c11 server (POST /api/v1/shards/tokens).")
        token = token.strip()
        try:
            claims = self.trust.verify(token, action)
        except TokenError as e:
            raise unauthorized(f"Store token refused: {e}.") from None
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
            raise Problem(503, "Not logged", f"The shard store answers only once the c11 server logged the "
                          f"request, and it did not: {e}. Try again later.", "not-logged") from None
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

    app = FastAPI(title="c11 shard store", version=__version__, lifespan=lifespan, docs_url="/docs",
                  redoc_url=None, description="Keeps one shard of cloud-stored c11 keys (docs/shards.md).")
    app.state.store = store
    problems.install(app)
    api = APIRouter(prefix="/v1", tags=["shard store"])

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__, "url": config.url, "server": config.server_url}

    @api.put("/shard", summary="Keep your shard (replaces the one kept before)")
    def put_shard(body: ShardIn, request: Request) -> Response:
        token, claims = store.accept(request, "put")
        try:
            shard = Shard.from_b64(body.shard)
        except C11Error as e:
            raise Problem(422, "Bad shard", str(e), "bad-shard") from None
        if shard.user_id != claims["sub"]:
            raise Problem(422, "Bad shard", "The shard is bound to another account.", "bad-shard")
        index = store.logged(token, claims)
        with store.db.session() as s:
            s.execute(delete(StoredShard).where(StoredShard.server == config.server_url,
                                                StoredShard.user_id == claims["sub"]))
            s.add(StoredShard(server=config.server_url, user_id=claims["sub"], fingerprint=shard.fingerprint,
                              shard_index=shard.index, shard=shard.encode(), updated_at=utcnow()))
        return _json({"log_index": index, "index": shard.index, "fingerprint": shard.fingerprint})

    @api.get("/shard", summary="Your shard (the fetch is logged first)")
    def get_shard(request: Request) -> Response:
        token, claims = store.accept(request, "get")
        with store.db.session() as s:
            found = s.get(StoredShard, (config.server_url, claims["sub"]))
        if found is None:
            raise not_found("shard")
        index = store.logged(token, claims)
        return _json({"shard": base64.b64encode(found.shard).decode(), "log_index": index})

    @api.delete("/shard", summary="Delete your shard")
    def delete_shard(request: Request) -> Response:
        token, claims = store.accept(request, "delete")
        with store.db.session() as s:
            found = s.get(StoredShard, (config.server_url, claims["sub"]))
        if found is None:
            raise not_found("shard")
        index = store.logged(token, claims)
        with store.db.session() as s:
            s.execute(delete(StoredShard).where(StoredShard.server == config.server_url,
                                                StoredShard.user_id == claims["sub"]))
        return _json({"log_index": index})

    app.include_router(api)
    return app
