"""Routes `/api/v1/org/notifications...`: what `c11 notify` does on the data directory, for admins over HTTP.

Notification settings are server-wide, so only admins holding `crud:config-org` in the operator
organization (C11_OPERATOR_ORG; default: the first organization created, pinned by its id in
`<data-dir>/operator-org` the first time it is asked for) may use them.
"""

from __future__ import annotations

import base64
import os
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from c11.errors import ConfigError, NotifyError, UsageError
from c11.notify import admin
from c11.notify import service as notify_service
from c11.notify.config import NotifyConfig
from c11.server.context import Ctx, ServerContext
from c11.server.orgs.models import Organization
from c11.server.orgs.permissions import OrgCaller, require_org_permission
from c11.server.problems import Problem, responses

router = APIRouter(prefix="/api/v1/org/notifications", tags=["notifications"], responses=responses(401, 403, 422))
_config_org = require_org_permission("crud:config-org")


#: The file in the data folder that pins the operator organization's id when C11_OPERATOR_ORG is unset.
OPERATOR_ORG_FILE = "operator-org"


def operator_org_name(ctx: ServerContext) -> str | None:
    """The operator organization's name: C11_OPERATOR_ORG, else the first organization created, pinned by id.

    The first time there is one, the oldest organization's id is written to `<data-dir>/operator-org` and used
    from then on: deleting that organization leaves no operator (None) instead of silently promoting the admins
    of the next customer organization (review finding 13).
    """
    if ctx.config.operator_org:
        return str(ctx.config.operator_org)
    pin = ctx.config.data_dir / OPERATOR_ORG_FILE
    with ctx.db.session() as s:
        try:
            pinned = pin.read_text(encoding="utf-8").strip()[:64]
        except FileNotFoundError:
            pinned = ""
        if pinned:
            return s.scalar(select(Organization.name).where(Organization.id == pinned))
        row = s.execute(
            select(Organization.id, Organization.name).order_by(Organization.created_at, Organization.id).limit(1)
        ).first()
    if row is None:
        return None
    pin.parent.mkdir(parents=True, exist_ok=True)
    tmp = pin.with_name(f".{OPERATOR_ORG_FILE}.{uuid.uuid4().hex}")
    tmp.write_text(str(row.id) + "\n", encoding="utf-8")
    try:
        os.link(tmp, pin)  # complete or absent; the first writer wins and a racing one reads the winner's
    except FileExistsError:
        return operator_org_name(ctx)
    finally:
        tmp.unlink()
    return str(row.name)


def _operator(caller: Annotated[OrgCaller, Depends(_config_org)], ctx: Ctx) -> OrgCaller:
    """The caller, who must also be an admin of the operator organization (server-wide settings)."""
    name = operator_org_name(ctx)
    if name is None or caller.org_name != name:
        raise Problem(
            403,
            "Forbidden",
            "Notification settings are server-wide: only admins of the operator "
            "organization may change them (C11_OPERATOR_ORG).",
            "not-operator",
        )
    return caller


Operator = Annotated[OrgCaller, Depends(_operator)]


def _cfg(ctx: ServerContext) -> NotifyConfig:
    try:
        return notify_service.notify_config_for(ctx.config)
    except ConfigError as e:
        raise Problem(409, "Configuration error", str(e), "notify-config") from None


class GraphValues(BaseModel):
    """The three values the customer's admin hands over, plus national-cloud hosts."""

    sender: str = Field(max_length=320)
    tenant_id: str = Field(max_length=255)
    client_id: str = Field(max_length=64)
    login_host: str | None = Field(default=None, max_length=255)
    api_host: str | None = Field(default=None, max_length=255)


class CertificateIn(BaseModel):
    common_name: str = Field(default="c11 notifications", min_length=1, max_length=64)
    days: int = Field(default=730, ge=1, le=3650)


class TestIn(BaseModel):
    to: str = Field(max_length=320)
    also_check_denied: str | None = Field(default=None, max_length=320)


class RetryIn(BaseModel):
    id: str | None = Field(default=None, max_length=64)
    all_dead: bool = False


@router.get("", summary="Notification status: transport, queue counts, waiting and dead messages")
def status(_: Operator, ctx: Ctx, limit: int = 20) -> dict[str, Any]:
    cfg = _cfg(ctx)
    return admin.status(cfg, ctx.db.engine, max(1, min(limit, 200)))


@router.put("/graph", summary="Store the Microsoft Graph values and switch to the graph transport")
def configure(body: GraphValues, _: Operator, ctx: Ctx) -> dict[str, Any]:
    try:
        done = admin.configure_graph(
            _cfg(ctx), body.sender, body.tenant_id, body.client_id, body.login_host, body.api_host
        )
    except UsageError as e:
        raise Problem(422, "Bad value", str(e), "bad-graph-value") from None
    _apply(ctx)
    done.pop("stored", None)  # a server path: not the caller's business
    return done


@router.get("/graph/certificates", summary="Certificates for the app registration, newest first")
def certificates(_: Operator, ctx: Ctx) -> list[dict[str, Any]]:
    from c11.notify.graph_certificate import CertificateStore

    return [c.info() for c in CertificateStore(_cfg(ctx).data_dir).all()]


@router.post("/graph/certificates", status_code=201, summary="Create a certificate (the private key stays here)")
def create_certificate(body: CertificateIn, _: Operator, ctx: Ctx) -> dict[str, Any]:
    from c11.notify.graph_certificate import CertificateStore

    cert = CertificateStore(_cfg(ctx).data_dir).create(body.common_name, days=body.days)
    return {**cert.info(), "cer_base64": base64.b64encode(cert.der).decode(), "pem": cert.cert_pem.decode()}


@router.get("/graph/guide", response_class=PlainTextResponse, summary="The customer's set-up steps, filled in")
def guide(_: Operator, ctx: Ctx) -> str:
    return admin.guide_for(_cfg(ctx))


@router.post("/test", summary="Send a test message and explain any failure")
async def test(body: TestIn, _: Operator, ctx: Ctx) -> dict[str, Any]:
    cfg = _cfg(ctx)
    try:
        result = await run_in_threadpool(admin.send_test, cfg, body.to, body.also_check_denied)
    except UsageError as e:
        raise Problem(422, "Bad value", str(e), "bad-test") from None
    except NotifyError as e:
        return {
            "sent": False,
            "to": body.to,
            "transport": cfg.mail_transport,
            "error": str(e),
            "explanation": getattr(e, "explanation", None),
        }
    return result.public()


@router.post("/retry", summary="Requeue a dead message, or all of them")
def retry(body: RetryIn, _: Operator, ctx: Ctx) -> dict[str, Any]:
    from c11.notify import outbox as ob

    if bool(body.id) == body.all_dead:
        raise Problem(422, "Bad request", "Give a message id or all_dead: true.", "bad-retry")
    if body.all_dead:
        count = ob.retry_dead(ctx.db.engine)
    else:
        try:
            ob.retry(ctx.db.engine, body.id or "")
        except NotifyError as e:
            raise Problem(404, "Not found", str(e), "not-found") from None
        count = 1
    ctx.wake_delivery()
    return {"requeued": count}


def _apply(ctx: ServerContext) -> None:
    """Use the new settings in this process now (other processes notice notify.json at their next tick)."""
    n = ctx.notifier
    if n is not None:
        n.reconfigure(_cfg(ctx))
