"""Operations: `/readyz` (ready to serve) and `/metrics` (Prometheus), with the request metrics middleware.

* `GET /healthz` (in app.py) says the process answers; `GET /readyz` says it can serve: the database answers,
  its schema is at this build's head revision, and the transparency log's signing key is loaded (and matches
  the database's log). Not ready: `503` problem `not-ready` naming the failed checks (never a secret).
* `GET /metrics`: Prometheus text format (`prometheus-client`). Request counts and latencies per route
  *template* (`/api/v1/keyserver/documents/{doc_id}`, never a raw path: bounded label values), key releases
  by result, and, read from the database at each scrape, the log size and the outbox per status (queued,
  sending, sent, dead). Under `c11 serve --workers N` every worker writes its counters to
  `PROMETHEUS_MULTIPROC_DIR` (set by `c11 serve`), so whichever worker answers a scrape reports them all.
* `GET /api/v1/operator/health`: the same checks in detail for admins of the operator organization (the web
  app's /admin/health): version, database kind, migrations, log size and latest checkpoint, shard stores reachable.

Metrics live in one `Metrics` per application (no module-level registry). docs/server.md "Operations".
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import select, text
from starlette.concurrency import run_in_threadpool

from c11.errors import ConfigError
from c11.notify import outbox
from c11.server import migrate
from c11.server.context import Ctx, ServerContext
from c11.server.logsrv.models import LogState
from c11.server.logsrv.service import log_service
from c11.server.notifications.router import Operator
from c11.server.problems import PROBLEM_JSON, Problem, responses

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

#: Latency buckets (seconds): fine below 100 ms, where the targets are.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "<unmatched>"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape: log size, outbox messages per status."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        with self.ctx.db.session() as s:
            size = s.execute(select(LogState.size).where(LogState.id == 1)).scalar()
        log = GaugeMetricFamily("c11_log_size", "Entries in the transparency log.")
        log.add_metric([], float(size or 0))
        yield log
        svc = log_service(self.ctx)  # created at application start
        frozen = GaugeMetricFamily("c11_log_frozen", "1 while the transparency log refuses to append (log-frozen).")
        frozen.add_metric([], 1.0 if svc.frozen else 0.0)
        yield frozen
        reports = GaugeMetricFamily(
            "c11_log_disagreeing_reports",
            "Checkpoints signed with this log's key that contradict its tree, reported to it (another copy signs).",
        )
        reports.add_metric([], float(len(svc.highwater.reports())))
        yield reports
        box = GaugeMetricFamily(
            "c11_outbox_messages", "Outbox emails per status (queued = waiting, dead = given up).", labels=["status"]
        )
        for status, n in sorted(outbox.counts(self.ctx.db.engine).items()):
            box.add_metric([status], float(n))
        yield box


class Metrics:
    """The application's metrics (one per app; counters shared across workers in multiprocess mode)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "c11_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "c11_http_request_duration_seconds",
            "Time from request to the end of the answer, by method and route template.",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.releases = Counter(
            "c11_keyserver_releases", "Key release requests decided, by result.", ["result"], registry=self.registry
        )
        self.database = DatabaseCollector(ctx)
        self.registry.register(self.database)

    def exposition(self) -> bytes:
        """The text exposition of every metric (of all workers when PROMETHEUS_MULTIPROC_DIR is set)."""
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            registry.register(self.database)
            return generate_latest(registry)
        return generate_latest(self.registry)


class MetricsMiddleware:
    """ASGI middleware timing every HTTP request, labelled by the route template the router matched."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]], send: Callable[[Message], Awaitable[None]]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            method = scope.get("method", "")
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)


def metrics_of(ctx: ServerContext) -> Metrics:
    """The application's metrics."""
    return ctx.service("metrics", Metrics)


def install(app: Any, ctx: ServerContext) -> None:
    """Add the metrics middleware (outermost: it also times answers of the body caps), the routes, and the
    answers every route may give to the OpenAPI document."""
    app.add_middleware(MetricsMiddleware, metrics=metrics_of(ctx))
    app.include_router(router)
    app.include_router(operator_router)
    document_common_answers(app)


def _problem(description: str) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/ProblemDocument"}
    return {"description": description, "content": {PROBLEM_JSON: {"schema": ref}}}


def document_common_answers(app: Any) -> None:
    """Add to the OpenAPI document the answers the middleware and handlers give on any route, so that it
    describes what a client (or a fuzzer: tests/server/test_api_fuzz.py) really gets:

    * a route with a body: `400` (the body is not well-formed JSON) and `413` (over the route's cap,
      `c11.server._limits`), both problem documents;
    * `/scim/v2/...`: `401` as a SCIM error (`application/scim+json`) without a valid SCIM token;
    * every `4xx` a route lists is (also) an `application/problem+json` problem document.
    """
    base = app.openapi
    done = False

    def openapi() -> dict[str, Any]:
        nonlocal done
        schema: dict[str, Any] = base()
        if done:
            return schema
        if "ProblemDocument" not in schema.get("components", {}).get("schemas", {}):
            return schema  # an app without problem routes (a subset of the services in a test)
        for path, operations in schema.get("paths", {}).items():
            for op in operations.values():
                answers = op.setdefault("responses", {})
                if "requestBody" in op:
                    answers.setdefault("400", _problem("The body is not well-formed (problem details, RFC 9457)"))
                    answers.setdefault("413", _problem("The body is over this route's cap (problem details)"))
                if path.startswith("/scim/"):
                    answers.setdefault("401", {"description": "No valid SCIM token (a SCIM error)"})
                    answers["401"].setdefault("content", {}).setdefault("application/scim+json", {})
                for status, answer in answers.items():
                    if status.startswith("4") and not path.startswith("/scim/"):
                        content = answer.setdefault("content", {})
                        if PROBLEM_JSON not in content and "text/html" not in content:
                            content[PROBLEM_JSON] = _problem("")["content"][PROBLEM_JSON]
        done = True
        return schema

    app.openapi = openapi


router = APIRouter(tags=["server"])
#: Authenticated operator routes (admins of the operator organization holding crud:config-org).
operator_router = APIRouter(prefix="/api/v1/operator", tags=["server"], responses=responses(401, 403))


def _may_scrape(request: Request, token: str | None) -> bool:
    if token:
        sent = request.headers.get("authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    if "x-forwarded-for" in request.headers or "forwarded" in request.headers:
        return False  # through a proxy (maybe on this host): the token is needed
    try:
        return ipaddress.ip_address(request.client.host if request.client else "").is_loopback
    except ValueError:
        return False


def _checks(ctx: ServerContext) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with ctx.db.engine.connect() as c:
            c.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as e:  # any driver error: not ready (the message may hold host names, not secrets)
        checks["database"] = f"unreachable ({type(e).__name__})"
        return checks
    try:
        rev, head = migrate.current(ctx.db.engine), migrate.head()
        checks["migrations"] = "ok" if rev == head else f"at {rev}, this server needs {head}"
    except Exception as e:
        checks["migrations"] = f"unknown ({type(e).__name__})"
    try:
        checks["log_key"] = "ok" if log_service(ctx).signer is not None else "missing"
    except Exception as e:  # a missing, unreadable or mismatched log key (ConfigError) or a database error
        checks["log_key"] = f"not loaded ({type(e).__name__})"
    return checks


@router.get(
    "/readyz",
    summary="Readiness check",
    responses={503: {"description": "Not ready (a problem document naming the failed checks)"}},
)
async def readyz(ctx: Ctx) -> dict[str, Any]:
    """`200` `{status: "ready", checks}` when the database answers, its schema is at this build's head and the
    log key is loaded; else `503` problem `not-ready` with the same `checks`."""
    checks = await run_in_threadpool(_checks, ctx)
    if any(v != "ok" for v in checks.values()) or len(checks) < 3:
        failed = ", ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
        raise Problem(503, "Not ready", f"This server cannot serve yet: {failed}.", "not-ready", checks=checks)
    return {"status": "ready", "checks": checks}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request, ctx: Ctx) -> Response:
    """Request counts and latencies per route template, key releases, log size, outbox per status.
    With `C11_METRICS_TOKEN` set, only for `Authorization: Bearer <that token>`; unset, only for loopback
    clients that come through no proxy (a Prometheus on this host)."""
    if not _may_scrape(request, ctx.config.metrics_token):
        raise Problem(403, "Forbidden", "Metrics need the metrics token (C11_METRICS_TOKEN).", "metrics-forbidden")
    body = await run_in_threadpool(metrics_of(ctx).exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


# -- the operator's health page (the web app's /admin/health) ----------------------------------------------

#: What one shard store's /healthz may answer (bytes read at most) and how long it may take.
_STORE_BODY_CAP = 4096
_STORE_TIMEOUT = 3.0


async def _store_health(client: Any, url: str) -> dict[str, Any]:
    """Whether the shard store at `url` answers its `/healthz` (its version when it does), within `_STORE_TIMEOUT`
    seconds in all (httpx's timeout is per read: a store trickling its body would hold the health answer)."""
    import asyncio

    try:
        return await asyncio.wait_for(_probe_store(client, url), _STORE_TIMEOUT)
    except TimeoutError:
        return {"url": url, "reachable": False, "detail": f"no answer within {_STORE_TIMEOUT:g} s"}


async def _probe_store(client: Any, url: str) -> dict[str, Any]:
    import json

    try:
        async with client.stream("GET", url.rstrip("/") + "/healthz") as r:
            body = b""
            async for chunk in r.aiter_bytes():
                body += chunk
                if len(body) > _STORE_BODY_CAP:
                    break
        if r.status_code != 200:
            return {"url": url, "reachable": False, "detail": f"answered HTTP {r.status_code}"}
        try:
            answer = json.loads(body)
            version, is_store = answer.get("version"), "url" in answer and "server" in answer
        except (ValueError, AttributeError):
            is_store = False
        if not is_store:
            return {"url": url, "reachable": False, "detail": "answers, but is not a shard store"}
        return {"url": url, "reachable": True, "version": str(version)[:40] if version else None, "detail": "ok"}
    except Exception as e:  # any network or TLS error: the store is unreachable from here (no secret in it)
        return {"url": url, "reachable": False, "detail": f"unreachable ({type(e).__name__})"}


def _server_facts(ctx: ServerContext) -> dict[str, Any]:
    from c11 import __version__

    checks = _checks(ctx)
    facts: dict[str, Any] = {
        "version": __version__,
        "database": {"kind": ctx.db.engine.dialect.name, "status": checks.get("database", "unknown")},
        "migrations": {"status": checks.get("migrations", "unknown"), "head": migrate.head(), "current": None},
        "log": {"key": checks.get("log_key", "unknown"), "size": None, "checkpoint": None},
    }
    if checks.get("database") != "ok":
        return facts
    try:
        facts["migrations"]["current"] = migrate.current(ctx.db.engine)
        with ctx.db.session() as s:
            size, note = log_service(ctx).current_checkpoint(s)
        facts["log"].update(size=size, checkpoint=note.decode())
    except Exception as e:  # a schema behind this build, or no log key: the checks above say which
        facts["log"]["error"] = type(e).__name__
    try:
        svc = log_service(ctx)
        reports = svc.highwater.reports()
        facts["log"].update(
            frozen=svc.frozen,
            disagreeing_reports=len(reports),
            last_disagreeing_report=reports[-1] if reports else None,
        )
    except (OSError, ConfigError) as e:  # an unreadable mark folder: say so, the rest still answers
        facts["log"]["error"] = type(e).__name__
    return facts


@operator_router.get("/health", summary="Server health for the operator: version, database, log, shard stores")
async def health(_: Operator, ctx: Ctx) -> dict[str, Any]:
    """What `/readyz` checks, in detail, plus the log's latest checkpoint and whether each shard store
    (C11_SHARD_STORES) answers; for admins of the operator organization (crud:config-org) only."""
    import asyncio

    import httpx

    from c11.server.shards.service import shard_service

    facts = await run_in_threadpool(_server_facts, ctx)
    stores = list(shard_service(ctx).stores)
    async with httpx.AsyncClient(timeout=_STORE_TIMEOUT, follow_redirects=False) as client:
        facts["shard_stores"] = list(await asyncio.gather(*(_store_health(client, u) for u in stores)))
    return facts
