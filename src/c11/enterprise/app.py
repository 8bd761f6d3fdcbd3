"""The enterprise key server's HTTP API: unwrap, members' public keys, admin, health, readiness, metrics.

Everything the app uses (database, key ring, token verifier) is passed to `create_app`; nothing is global.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import bindparam, insert, select, text
from starlette.concurrency import run_in_threadpool

from c11._web import problems
from c11._web.db import Database, utcnow
from c11._web.problems import Problem
from c11.enterprise import members
from c11.enterprise.identity import TokenRefused, TokenVerifier
from c11.enterprise.kek import KekError, KeyRing, UnwrapError
from c11.enterprise.models import AuditRecord, Member, RevokedDocument
from c11.enterprise.unwrap import Refused, open_header, parse_header
from c11.errors import C11Error, FormatError
from c11.format.enterprise import MAX_REQUEST, UnwrapRequest
from c11.log.entries import publish_message, rfc3339

REFUSED_DETAIL = "The enterprise key server does not release this key to you."
LOG = logging.getLogger("c11.enterprise")


@dataclass
class _Metrics:
    registry: CollectorRegistry
    unwraps: Counter
    seconds: Histogram


def _metrics() -> _Metrics:
    reg = CollectorRegistry()
    return _Metrics(
        reg,
        Counter("c11e_unwraps", "Unwrap requests by outcome.", ["outcome"], registry=reg),
        Histogram(
            "c11e_unwrap_seconds",
            "Time to answer an unwrap request.",
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=reg,
        ),
    )


@dataclass(frozen=True)
class Services:
    """What the app runs on."""

    db: Database
    ring: KeyRing
    verifier: TokenVerifier | None
    admin_token: str | None = None
    cors_origin: str | None = None


def _refused() -> Problem:
    return Problem(403, "Refused", REFUSED_DETAIL, "enterprise-refused")


def _log(event: str, **fields: Any) -> None:
    if LOG.isEnabledFor(logging.INFO):
        LOG.info(json.dumps({"event": event, **fields}, separators=(",", ":")))


_M, _R = Member.__table__, RevokedDocument.__table__
#: one round trip: the member (by email) and whether the document is revoked
_MEMBER = (
    select(_M.c.id, _M.c.active, _M.c.key_id, _M.c.kem, _M.c.created_at, _M.c.kek_id, _M.c.enc_wrapped)
    .add_columns(_M.c.sig_wrapped, _M.c.email, _M.c.public_line, _R.c.doc_id.is_not(None).label("revoked"))
    .select_from(_M.outerjoin(_R, _R.c.doc_id == bindparam("doc")))
    .where(_M.c.email == bindparam("email"))
)
_AUDIT = insert(AuditRecord)


def _unwrap(svc: Services, token: str, req: UnwrapRequest, client: str | None) -> bytes | None:
    """The answer for a request, or None (refused); writes exactly one audit record either way, committed
    before the answer leaves (one round trip reads the member and the document's revocation, one writes)."""
    audit: dict[str, Any] = {
        "at": utcnow(),
        "outcome": "refused",
        "reason": "",
        "email": None,
        "subject": None,
        "member_id": None,
        "doc_id": None,
        "client": client,
        "key_id": req.member_key_id.hex(),
    }
    answer = None
    with svc.db.engine.begin() as conn:
        try:
            header = parse_header(req)
            audit["doc_id"] = header.doc_id.hex()
            if svc.verifier is None:
                raise Refused("no identity provider configured")
            who = svc.verifier.verify(token)
            audit["email"], audit["subject"] = who.email, who.subject
            row = conn.execute(_MEMBER, {"doc": audit["doc_id"], "email": who.email}).first()
            if row is None:
                raise Refused("not a member")
            audit["member_id"] = row.id
            if not row.active:
                raise Refused("member deactivated")
            if row.key_id != audit["key_id"]:
                raise Refused("key id is not the member's")
            if row.revoked:
                raise Refused("document revoked")
            answer = open_header(req, header, row.kem, members.enc_seed(svc.ring, row))
            audit["outcome"], audit["reason"] = "released", "ok"
        except (Refused, TokenRefused, UnwrapError, KekError) as e:
            audit["reason"] = str(e)[:200]
            answer = None
        conn.execute(_AUDIT, audit)
    _log("unwrap", outcome=audit["outcome"], reason=audit["reason"], member=audit["email"], doc_id=audit["doc_id"])
    return answer


def _publish_proof(svc: Services, token: str) -> dict[str, str] | None:
    """The member's proof of possession for publishing their enterprise key in the c11 registry (the one message
    their signing key signs here: `publish_message` with the current time), or None (refused, audited)."""
    audit: dict[str, Any] = {"at": utcnow(), "outcome": "refused", "reason": "publish-proof: "}
    proof = None
    with svc.db.engine.begin() as conn:
        try:
            if svc.verifier is None:
                raise Refused("no identity provider configured")
            who = svc.verifier.verify(token)
            audit.update(email=who.email, subject=who.subject)
            row = conn.execute(_MEMBER, {"doc": "", "email": who.email}).first()
            if row is None or not row.active:
                raise Refused("not an active member")
            audit["member_id"], audit["key_id"] = row.id, row.key_id
            ident = members.identity(svc.ring, row)
            stamp = rfc3339(datetime.now(UTC), precise=True)
            sig = ident.sign(publish_message(row.email, row.public_line, stamp))
            proof = {
                "email": row.email,
                "public_key": row.public_line,
                "timestamp": stamp,
                "signature": base64.b64encode(sig).decode("ascii"),
            }
            audit["outcome"] = "signed"
        except (Refused, TokenRefused, UnwrapError, KekError) as e:
            audit["reason"] += str(e)[:150]
        if audit["outcome"] == "signed":
            audit["reason"] = "publish-proof"
        conn.execute(_AUDIT, audit)
    _log("publish-proof", outcome=audit["outcome"], member=audit.get("email"))
    return proof


def create_app(svc: Services) -> FastAPI:
    """The enterprise key server's application."""
    app = FastAPI(title="c11 enterprise key server", docs_url=None, redoc_url=None, openapi_url=None)
    problems.install(app)
    m = _metrics()
    if svc.cors_origin:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[svc.cors_origin],
            allow_methods=["POST", "GET"],
            allow_headers=["authorization", "content-type"],
            max_age=600,
        )

    def admin(request: Request) -> None:
        got = request.headers.get("authorization", "")
        if not svc.admin_token or not hmac.compare_digest(got.encode(), f"Bearer {svc.admin_token}".encode()):
            raise Problem(403, "Forbidden", "This needs the admin token.", "enterprise-admin")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Response:
        try:
            with svc.db.session() as s:
                s.execute(text("SELECT 1"))
            svc.ring.current.wrap(bytes(32), b"readyz")
        except Exception as e:  # noqa: BLE001  (any failure means not ready)
            return JSONResponse({"status": "unavailable", "reason": type(e).__name__}, status_code=503)
        return JSONResponse({"status": "ready", "kek": svc.ring.current.kek_id})

    @app.get("/metrics")
    def metrics() -> Response:
        return PlainTextResponse(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)

    @app.post("/v1/unwrap")
    async def unwrap(request: Request) -> Response:
        start = time.perf_counter()
        declared = request.headers.get("content-length") or "0"
        if not declared.isdigit():
            raise Problem(400, "Bad Request", "Content-Length is not a number.", "enterprise-bad-request")
        if int(declared) > MAX_REQUEST:
            raise Problem(413, "Content Too Large", "An unwrap request is at most 2 MiB.", "enterprise-too-large")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_REQUEST:
                raise Problem(413, "Content Too Large", "An unwrap request is at most 2 MiB.", "enterprise-too-large")
        try:
            req = UnwrapRequest.from_json(bytes(body))
        except FormatError as e:
            raise Problem(400, "Bad Request", str(e), "enterprise-bad-request") from None
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        client = request.client.host if request.client else None
        answer = await run_in_threadpool(_unwrap, svc, token, req, client)
        m.seconds.observe(time.perf_counter() - start)
        m.unwraps.labels("released" if answer else "refused").inc()
        if answer is None:
            raise _refused()
        return Response(answer, media_type="application/json", headers={"cache-control": "no-store"})

    @app.post("/v1/publish-proof")
    async def publish_proof(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        proof = await run_in_threadpool(_publish_proof, svc, token)
        if proof is None:
            raise _refused()
        return JSONResponse(proof, headers={"cache-control": "no-store"})

    @app.get("/v1/members/{email}/key")
    def member_key(email: str) -> dict[str, Any]:
        with svc.db.session() as s:
            row = s.scalar(select(Member).where(Member.email == email.strip().lower()))
            if row is None or not row.active:
                raise problems.not_found("member")
            return {"email": row.email, "public_key": row.public_line, "key_type": "enterprise"}

    @app.post("/v1/admin/members", status_code=201)
    def add_member(request: Request, body: dict[str, str]) -> dict[str, Any]:
        admin(request)
        try:
            row = members.add(svc.db, svc.ring, body.get("email", ""))
        except C11Error as e:
            raise Problem(409, "Conflict", str(e), "enterprise-member") from None
        _log("member-added", member=row.email, key_id=row.key_id)
        return {"email": row.email, "key_id": row.key_id, "public_key": row.public_line}

    @app.post("/v1/admin/members/{email}/{action}", status_code=204)
    def member_state(request: Request, email: str, action: str) -> Response:
        admin(request)
        if action not in ("deactivate", "activate"):
            raise problems.not_found("action")
        try:
            members.set_active(svc.db, email, action == "activate")
        except C11Error as e:
            raise problems.not_found(str(e)) from None
        _log(f"member-{action}d", member=email)
        return Response(status_code=204)

    @app.post("/v1/admin/documents/{doc_id}/revoke", status_code=204)
    def revoke(request: Request, doc_id: str) -> Response:
        admin(request)
        try:
            doc = uuid.UUID(doc_id).hex
        except ValueError:
            raise Problem(
                400, "Bad Request", "A document ID is a UUID (as c11 inspect shows).", "enterprise-bad-request"
            ) from None
        with svc.db.session() as s:
            if s.get(RevokedDocument, doc) is None:
                s.add(RevokedDocument(doc_id=doc))
        _log("document-revoked", doc_id=doc)
        return Response(status_code=204)

    return app
