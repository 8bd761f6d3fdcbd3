"""The application factory: `create_app(config)` builds the FastAPI app from an explicit `Config`.

Each service contributes routers (`SERVICES`); later services (registry, log) add one entry each.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool

from c11 import __version__
from c11._web.db_outage import RetryReadsMiddleware
from c11.notify import service as notify_service
from c11.server import _limits, addin, hotpath, migrate, ops, problems, ratelimits, webapp
from c11.server.config import Config
from c11.server.context import ServerContext
from c11.server.db import Database
from c11.server.oidc_discovery import OidcClients
from c11.server.passwords import Passwords

#: service name -> routers ("module:attribute") it mounts.
SERVICES: dict[str, tuple[str, ...]] = {
    "accounts": (
        "c11.server.accounts.router:public",
        "c11.server.accounts.router:router",
        "c11.server.oidc:public",
        "c11.server.accounts.opaque:public",
        "c11.server.accounts.opaque:router",
    ),
    "tokens": ("c11.server.tokens.router:router",),
    "log": ("c11.server.logsrv.router:public",),
    "registry": (
        "c11.server.registry.router:reads",
        "c11.server.registry.router:router",
        "c11.server.policies.router:router",
    ),
    "keyserver": (
        "c11.server.keyserver.router:public",
        "c11.server.keyserver.router:releases",
        "c11.server.keyserver.router:router",
        "c11.server.keyserver.invites:router",
    ),
    "shards": ("c11.server.shards.router:router",),
    "orgs": (
        "c11.server.orgs.router:router",
        "c11.server.orgs.signature_keys:router",
        "c11.server.orgs.domain_routes:router",
        "c11.server.orgs.domain_routes:confirm_router",
        "c11.server.orgs.encpolicies:router",
        "c11.server.orgs.joining:router",
    ),
    "groups": ("c11.server.groups.router:router",),
    "scim": ("c11.server.scim.router:router",),
    "events": ("c11.server.events.router:router",),
    "notifications": ("c11.server.notifications.router:router",),
    "uploads": ("c11.server.uploads.router:router",),
    "sharing": ("c11.server.sharing.router:router",),
    "requests": (
        "c11.server.docrequests.router:router",
        "c11.server.docrequests.router:templates",
        "c11.server.docrequests.router:links",
    ),
}

#: where the API documentation's assets (Swagger UI) are served from, same origin as /docs.
DOCS_ASSETS = "/docs/assets"
DESCRIPTION = (
    "c11 servers: accounts and machine tokens, the public key registry on a transparency log, "
    "the key server, cloud-stored keys in shards, organizations with groups, SCIM provisioning "
    "and usage events, and email notifications. Errors are RFC 9457 problem documents."
)

_log = logging.getLogger("c11.server")
_base = APIRouter(tags=["server"])


@_base.get("/healthz", summary="Liveness check")
def healthz() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


def _router(spec: str) -> APIRouter:
    module, attr = spec.split(":")
    return getattr(importlib.import_module(module), attr)


def create_app(config: Config, services: Iterable[str] | None = None) -> FastAPI:
    """Build the app for `config`, mounting `services` (default: all of `SERVICES`)."""
    db = Database(config.database_url)
    notifier = notify_service.notifier_for(config, db.engine)  # started by the lifespan (C11_MAIL_WORKER)
    ctx = ServerContext(
        config=config, db=db, notifier=notifier, passwords=Passwords(config.password_hashing), oidc=OidcClients()
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config.data_dir.mkdir(parents=True, exist_ok=True)
        if config.migrate:
            await run_in_threadpool(migrate.upgrade, ctx.db.engine)
        else:
            rev, head = await run_in_threadpool(migrate.current, ctx.db.engine), migrate.head()
            if rev != head:
                _log.warning("database at revision %s, this server needs %s: run `c11 db upgrade`", rev, head)
        ratelimits.warn_at_start(config)  # behind a proxy without trusted_proxies: limits would be per-proxy
        notify_service.start_configured(notifier)  # delivery worker in this process (C11_MAIL_WORKER)
        try:
            yield
        finally:
            await run_in_threadpool(notifier.stop)
            ctx.db.dispose()

    # Swagger UI's script, style and icon come from the fastapi-offline package at DOCS_ASSETS, never
    # from a CDN: air-gapped and on-premises servers show their API documentation too.
    app = FastAPIOffline(
        title="c11",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        static_url=DOCS_ASSETS,
        description=DESCRIPTION,
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.ctx = ctx
    specs = [spec for name in (services if services is not None else SERVICES) for spec in SERVICES[name]]
    for spec in specs:  # the hot routes are matched first (hotpath.FIRST)
        if spec in hotpath.FIRST:
            app.include_router(_router(spec))
    problems.install(app)
    app.add_middleware(RetryReadsMiddleware, retry=hotpath.RETRY_READS)  # an allow-listed read cut by a restart: again
    _limits.install(app)  # every request body capped per route, before it is read
    ops.install(app, ctx)  # request metrics (outermost middleware), /readyz, /metrics
    app.include_router(_base)
    stores = tuple(u for u in (getattr(config, "shard_stores", None) or "").split(",") if u.strip())
    webapp.install(app, webapp.WebAssets.default(), stores)  # the browser app at / (web/dist; docs/web.md)
    addin.install(app, webapp.WebAssets.default(), getattr(config, "public_url", "") or "")  # the Word add-in
    for spec in specs:
        if spec not in hotpath.FIRST:
            app.include_router(_router(spec))
    return app


def tune_process() -> None:
    """Process settings for serving: requests allocate many short-lived objects, and with the default
    thresholds frequent full collections make the latency tail (bench/keyserver.py: p99 ~200 -> ~70 ms)."""
    import gc

    gc.set_threshold(50_000, 50, 1000)


def from_environment() -> FastAPI:
    """App factory for `c11 serve --workers N` (and `uvicorn --factory`): settings from C11_* variables."""
    from c11.server.config import load_config

    tune_process()
    return create_app(load_config())
