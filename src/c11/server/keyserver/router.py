"""HTTP routes of the key server: its public key, releases of online-policy key parts, and the author's
controls (register, revoke, restore, expiry, recipients, access history). Protocol: docs/keyserver.md.

A refused release is one answer (403 `access-refused`) whether the caller is no recipient, the document is
revoked, expired, unknown, or its stanza does not match: the key server is no oracle.
"""

from __future__ import annotations

import base64
import functools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, or_, select, update
from starlette.concurrency import run_in_threadpool

from c11.crypto.kem import _public_cached as public_key_object
from c11.errors import C11Error, RecipientError
from c11.format import online
from c11.keys.publickey import PublicKey
from c11.log.entries import canonical_json, email_hash, parse_rfc3339, rfc3339
from c11.server import hotpath
from c11.server.auth import Principal, require_scope, require_user
from c11.server.context import Ctx
from c11.server.db import utcnow
from c11.server.keyserver.models import OnlineAccess, OnlineDocument, OnlineRecipient
from c11.server.keyserver.service import ReleaseRequest, keyserver
from c11.server.logsrv.models import LogEntry, LogOpening
from c11.server.logsrv.router import b64
from c11.server.logsrv.service import log_service
from c11.server.ops import metrics_of
from c11.server.orgs import policies as org_policies
from c11.server.problems import Problem, base64_field, not_found, responses, unauthorized


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    await run_in_threadpool(keyserver, app.state.ctx)  # create the key server key at first start
    yield


public = APIRouter(prefix="/api/v1/keyserver", tags=["keyserver"], lifespan=_lifespan)
router = APIRouter(
    prefix="/api/v1",
    tags=["keyserver"],
    dependencies=[Depends(require_user)],
    responses=responses(401, 403, 404, 409, 422, 429),
)
Reader = Annotated[Principal, Depends(require_scope("documents:read"))]
Writer = Annotated[Principal, Depends(require_scope("documents:write"))]
_JSON = "application/json"
MAX_RECIPIENTS = 1000
MAX_STANZA = 80_000
MAX_PAGE = 500


def _json(obj: object, status: int = 200) -> Response:
    return Response(canonical_json(obj), status_code=status, media_type=_JSON)


def _refused() -> Problem:
    return Problem(
        403,
        "Access refused",
        "The key server does not release this document's key to you: you "
        "are not a recipient, or the author revoked the document, or it expired.",
        "access-refused",
    )


def _parse_stanza(text: str) -> tuple[online.Policy, bytes, bytes]:
    try:
        return online.parse_body(base64_field(text, "stanza", MAX_STANZA))
    except C11Error as e:
        raise Problem(422, "Bad stanza", str(e), "bad-stanza") from None


@functools.lru_cache(maxsize=1024)
def _public_key(line: str) -> tuple[PublicKey, str]:
    """A recipient key line parsed and validated, with its fingerprint (PublicKey is immutable; a line that fails
    raises every time): callers send the same key again and again, and its checks and hash were ~7 % of a
    release's CPU. HPKE can seal to it (its key object is cached too)."""
    pk = PublicKey.parse(line)
    public_key_object(pk.kem, pk.enc)
    return pk, pk.fingerprint


def _doc_uuid(doc_id: str) -> str:
    try:
        return str(uuid.UUID(doc_id))
    except ValueError:
        raise not_found("document") from None


# -- public ------------------------------------------------------------------------------------------------


class ServerKeyOut(BaseModel):
    public_key: str
    fingerprint: str
    type: str


@public.get("/key", response_model=ServerKeyOut, summary="The key server's public key (X-Wing)")
def server_key(ctx: Ctx) -> Response:
    """The key online-policy shares are sealed to (`c11:mlkem768x25519:...`) and its fingerprint."""
    ks = keyserver(ctx)
    return _json({"public_key": ks.public.line(), "fingerprint": ks.fingerprint, "type": ks.public.kem})


# -- release -----------------------------------------------------------------------------------------------


class ReleaseIn(BaseModel):
    stanza: str = Field(max_length=120_000, description="base64 of the file's c11-online/v1 stanza body")
    public_key: str = Field(max_length=8192, description="Your recipient public key line; the answer is sealed to it")


class ReleaseOut(BaseModel):
    doc_id: str
    key: str
    sealed: str
    log_index: int


async def release_caller(request: Request) -> Principal:
    """Dependency of the hot release route: `require_user` + `require_scope("documents:read")` in one step
    (the same checks, through `hotpath.caller`: on the event loop when the database is near)."""
    principal = getattr(request.state, "principal", None)
    if principal is None:
        ctx = request.app.state.ctx
        principal = await hotpath.run_near(ctx, hotpath.caller, request, ctx)
    if principal is None:
        raise unauthorized()
    request.state.principal = principal
    if not principal.has("documents:read"):
        raise Problem(
            403, "Forbidden", "This token lacks the scope documents:read.", "insufficient-scope", scope="documents:read"
        )
    return principal


#: The release route: no router-level dependencies (its own, cheaper authentication above).
releases = APIRouter(prefix="/api/v1", tags=["keyserver"], responses=responses(401, 403, 422, 429))


@releases.post("/keyserver/release", response_model=ReleaseOut, summary="Release the key server's part of a key")
async def release(
    body: ReleaseIn, request: Request, principal: Annotated[Principal, Depends(release_caller)]
) -> Response:
    """Release B (sealed to your recipient key) if you are allowed; every attempt is logged."""
    ks = keyserver(request.app.state.ctx)
    wait = ks.limiter.check(principal.user_id)
    if wait:
        raise Problem(
            429,
            "Too Many Requests",
            f"Too many key requests; retry in {wait} s.",
            "rate-limited",
            {"Retry-After": str(wait)},
        )
    policy, raw, share = _parse_stanza(body.stanza)
    try:
        pk, fingerprint = _public_key(body.public_key)
    except RecipientError as e:
        raise Problem(422, "Bad public key", str(e), "bad-public-key") from None
    doc = policy.doc_uuid
    sealed = None  # B sealed to the caller's key, made before the decision: "allowed" is always a release
    if policy.server_key == ks.fingerprint:
        try:
            b = online.open_sealed_share(ks.identity.kem_private, policy.doc_id, raw, share)
            sealed = online.seal_release(pk, policy.doc_id, b)
        except C11Error:
            sealed = None
    # the decision and its log entry wait for the group commit (on the event loop: the writer thread wakes us)
    decision = await ks.recorder.decide(
        ReleaseRequest(
            doc=doc,
            policy_digest=policy.digest(),
            usable=sealed is not None,
            email_hash=email_hash(principal.email),
            email_verified=principal.email_verified,
            key_fp=fingerprint,
            user_id=principal.user_id,
            email=principal.email,
            address=request.client.host if request.client else "unknown",
        ),
    )
    metrics_of(request.app.state.ctx).releases.labels(decision.result).inc()
    if decision.result != "allowed" or sealed is None:
        raise _refused()
    return _json(
        {"doc_id": doc, "key": fingerprint, "sealed": base64.b64encode(sealed).decode(), "log_index": decision.index}
    )


# -- the author's controls ---------------------------------------------------------------------------------


class RecipientIn(BaseModel):
    """An email (matched against the caller's verified account email) and/or a recipient key fingerprint."""

    email: str | None = Field(default=None, max_length=320)
    key: str | None = Field(default=None, max_length=64, description="32-hex fingerprint of a recipient key")


class RegisterIn(BaseModel):
    stanza: str = Field(max_length=120_000, description="base64 of the c11-online/v1 stanza body")
    emails: list[str] = Field(
        default_factory=list,
        max_length=MAX_RECIPIENTS,
        description="The plain emails behind the policy's email hashes (for display)",
    )


class RecipientsIn(BaseModel):
    add: list[RecipientIn] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    remove: list[RecipientIn] = Field(default_factory=list, max_length=MAX_RECIPIENTS)


class ExpiryIn(BaseModel):
    expires_at: str | None = Field(default=None, max_length=64, description="RFC 3339, or null: never")


class RecipientOut(BaseModel):
    email: str | None
    email_hash: str | None
    key: str | None


class DocumentOut(BaseModel):
    doc_id: str
    policy_digest: str
    server_key: str
    created_at: str
    updated_at: str
    expires_at: str | None
    revoked_at: str | None
    recipients: list[RecipientOut]


class AccessOut(BaseModel):
    index: int
    time: str
    email: str | None = Field(description="The account that asked; null for a release to the key holder")
    key: str
    result: str
    address: str
    salt: str
    entry: str
    nonce: str | None = Field(description="base64 of the entry's actor nonce (v2 entries; null for v1)")
    private: str | None = Field(description="The private object the actor commits to (v2 entries)")
    inclusion_proof: list[str]


class AccessesOut(BaseModel):
    doc_id: str
    tree_size: int
    checkpoint: str
    accesses: list[AccessOut]
    next_after: int | None


def _ts(t: datetime | None) -> str | None:
    return rfc3339(t) if t is not None else None


def _document_json(s: Any, doc: OnlineDocument) -> dict[str, Any]:
    recips = (
        s.execute(
            select(OnlineRecipient)
            .where(OnlineRecipient.doc_id == doc.doc_id)
            .order_by(OnlineRecipient.added_at, OnlineRecipient.id)
        )
        .scalars()
        .all()
    )
    return {
        "doc_id": doc.doc_id,
        "policy_digest": doc.policy_digest,
        "server_key": doc.server_key,
        "created_at": _ts(doc.created_at),
        "updated_at": _ts(doc.updated_at),
        "expires_at": _ts(doc.expires_at),
        "revoked_at": _ts(doc.revoked_at),
        "recipients": [{"email": r.email, "email_hash": r.email_hash, "key": r.key_fp} for r in recips],
    }


def _check_recipient(r: RecipientIn) -> tuple[str | None, str | None, str | None]:
    email = r.email.strip().lower() if r.email else None
    if email is not None and "@" not in email:
        raise Problem(422, "Bad recipient", f"{r.email!r} is not an email address.", "bad-recipient")
    key = r.key.strip().lower() if r.key else None
    if key is not None and (len(key) != 32 or any(c not in "0123456789abcdef" for c in key)):
        raise Problem(422, "Bad recipient", "key must be a 32-hex fingerprint.", "bad-recipient")
    if email is None and key is None:
        raise Problem(422, "Bad recipient", "Give an email or a key fingerprint.", "bad-recipient")
    return email, email_hash(email) if email else None, key


@router.post("/documents", response_model=DocumentOut, status_code=201, summary="Register an online-policy document")
def register(body: RegisterIn, principal: Writer, ctx: Ctx) -> Response:
    """Register the policy of a document you are protecting (you must be its author, with a verified email)."""
    if not principal.email_verified:
        raise Problem(
            403,
            "Email not verified",
            "Verify your email address before protecting documents with an online policy.",
            "email-unverified",
        )
    ks = keyserver(ctx)
    stanza = base64_field(body.stanza, "stanza", MAX_STANZA)
    try:
        policy, _b = online.open_share(ks.identity.kem_private, stanza)
    except C11Error as e:
        raise Problem(
            422, "Bad stanza", f"The stanza is not sealed to this key server or is damaged ({e}).", "bad-stanza"
        ) from None
    del _b
    if policy.server_key != ks.fingerprint:
        raise Problem(422, "Bad stanza", "The stanza names another key server key.", "bad-stanza")
    ehash = email_hash(principal.email)
    if policy.author != ehash:
        raise Problem(403, "Forbidden", "The policy names another author.", "not-author")
    labels = {email_hash(e): e.strip().lower() for e in body.emails}
    doc = policy.doc_uuid
    digest = policy.digest()
    expires = datetime.fromtimestamp(policy.expires, tz=utcnow().tzinfo) if policy.expires is not None else None
    with log_service(ctx).transaction() as (s, log):
        found = s.get(OnlineDocument, doc)
        if found is not None:
            if found.author_id == principal.user_id and found.policy_digest == digest:
                return _json(_document_json(s, found))  # the same registration again
            raise Problem(409, "Conflict", "This document ID is already registered.", "document-exists")
        now = utcnow()
        if expires is None:  # the author's organization may give a default expiry (policy default_expiry_days)
            expires = org_policies.default_expiry(s, principal.email, now)
        row = OnlineDocument(
            doc_id=doc,
            author_id=principal.user_id,
            policy_digest=digest,
            server_key=ks.fingerprint,
            expires_at=expires,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        s.flush()
        for r in policy.recipients:
            s.add(
                OnlineRecipient(
                    doc_id=doc,
                    email_hash=r.email,
                    email=labels.get(r.email) if r.email else None,
                    key_fp=r.key,
                    added_at=now,
                )
            )
        log.append("policy", {"doc": doc, "action": "register"}, subject=doc, person=ehash, private={"policy": digest})
        s.flush()
        out = _document_json(s, row)
    return _json(out, 201)


def authored_doc(doc_id: str, principal: Annotated[Principal, Depends(require_user)], ctx: Ctx) -> str:
    """Dependency: the document's canonical ID if the caller is its author (404 otherwise, also for others)."""
    doc = _doc_uuid(doc_id)
    with ctx.db.session() as s:
        author = s.execute(select(OnlineDocument.author_id).where(OnlineDocument.doc_id == doc)).scalar()
    if author is None or author != principal.user_id:
        raise not_found("document")
    return doc


Authored = Annotated[str, Depends(authored_doc)]


class DocumentsOut(BaseModel):
    documents: list[DocumentOut]


@router.get("/documents", response_model=DocumentsOut, summary="Your online-policy documents")
def list_documents(principal: Reader, ctx: Ctx, limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE) -> Response:
    """The documents you registered, newest first (at most `limit`): state, expiry and recipients."""
    with ctx.db.session() as s:
        docs = s.execute(
            select(OnlineDocument)
            .where(OnlineDocument.author_id == principal.user_id)
            .order_by(OnlineDocument.created_at.desc(), OnlineDocument.doc_id)
            .limit(limit)
        ).scalars()
        return _json({"documents": [_document_json(s, d) for d in docs]})


@router.get("/documents/{doc_id}", response_model=DocumentOut, summary="An online-policy document's state")
def get_document(doc: Authored, principal: Reader, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        return _json(_document_json(s, s.get(OnlineDocument, doc)))


def _person(principal: Principal) -> str | None:
    """The email hash a v2 entry names for the caller: only a verified email names a person."""
    return email_hash(principal.email) if principal.email_verified else None


def _change(
    ctx: Any, doc: str, principal: Principal, action: str, values: dict[str, Any], extra: dict[str, Any] | None = None
) -> Response:
    with log_service(ctx).transaction() as (s, log):
        now = utcnow()
        s.execute(update(OnlineDocument).where(OnlineDocument.doc_id == doc).values(updated_at=now, **values))
        log.append(
            "policy",
            {"doc": doc, "action": action, **(extra or {})},
            subject=doc,
            person=_person(principal),
            private={},
        )
        out = _document_json(s, s.get(OnlineDocument, doc))
    return _json(out)


@router.post("/documents/{doc_id}/revoke", response_model=DocumentOut, summary="Revoke a document")
def revoke(doc: Authored, principal: Writer, ctx: Ctx) -> Response:
    """From now on the key server releases this document's key to nobody (until restored)."""
    return _change(ctx, doc, principal, "revoke", {"revoked_at": utcnow()})


@router.post("/documents/{doc_id}/restore", response_model=DocumentOut, summary="Restore a revoked document")
def restore(doc: Authored, principal: Writer, ctx: Ctx) -> Response:
    return _change(ctx, doc, principal, "restore", {"revoked_at": None})


@router.put("/documents/{doc_id}/expiry", response_model=DocumentOut, summary="Set or clear the expiry")
def set_expiry(doc: Authored, body: ExpiryIn, principal: Writer, ctx: Ctx) -> Response:
    """`expires_at` (RFC 3339) or null for never; a time in the past makes the document expire at once."""
    when = None
    if body.expires_at is not None:
        try:
            when = parse_rfc3339(body.expires_at)
        except ValueError:
            raise Problem(422, "Bad time", "expires_at must be RFC 3339.", "validation") from None
    return _change(ctx, doc, principal, "expire", {"expires_at": when}, {"expires": _ts(when)})


@router.post(
    "/documents/{doc_id}/recipients", response_model=DocumentOut, summary="Add or remove who may open a document"
)
def change_recipients(doc: Authored, body: RecipientsIn, principal: Writer, ctx: Ctx) -> Response:
    """Add or remove recipients of the key server's part (the file itself is not touched)."""
    adds = [_check_recipient(r) for r in body.add]
    removes = [_check_recipient(r) for r in body.remove]
    with log_service(ctx).transaction() as (s, log):
        now = utcnow()
        for _email, ehash, key in removes:
            conds = ([OnlineRecipient.email_hash == ehash] if ehash else []) + (
                [OnlineRecipient.key_fp == key] if key else []
            )
            s.execute(delete(OnlineRecipient).where(OnlineRecipient.doc_id == doc, or_(*conds)))
        existing = {
            (r.email_hash, r.key_fp)
            for r in s.execute(select(OnlineRecipient).where(OnlineRecipient.doc_id == doc)).scalars()
        }
        for email, ehash, key in adds:
            if (ehash, key) not in existing:
                s.add(OnlineRecipient(doc_id=doc, email_hash=ehash, email=email, key_fp=key, added_at=now))
                existing.add((ehash, key))
        s.execute(update(OnlineDocument).where(OnlineDocument.doc_id == doc).values(updated_at=now))
        log.append(
            "policy",
            {"doc": doc, "action": "recipients"},
            subject=doc,
            person=_person(principal),
            private={
                "add": [{"email": h, "key": k} for _, h, k in adds],
                "remove": [{"email": h, "key": k} for _, h, k in removes],
            },
        )
        s.flush()
        out = _document_json(s, s.get(OnlineDocument, doc))
    return _json(out)


@router.get(
    "/documents/{doc_id}/accesses", response_model=AccessesOut, summary="Every access to a document, with log proofs"
)
def accesses(
    doc: Authored,
    principal: Reader,
    ctx: Ctx,
    after: Annotated[int, Query(ge=-1, description="Only accesses with a larger log index")] = -1,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> Response:
    """Release requests (allowed and denied), oldest first, each with its log entry and inclusion proof."""
    svc = log_service(ctx)
    with ctx.db.session() as s:
        rows = s.execute(
            select(OnlineAccess, LogEntry.data, LogOpening.nonce, LogOpening.private)
            .join(LogEntry, LogEntry.idx == OnlineAccess.log_index)
            .outerjoin(LogOpening, LogOpening.log_index == OnlineAccess.log_index)
            .where(OnlineAccess.doc_id == doc, OnlineAccess.log_index > after)
            .order_by(OnlineAccess.log_index)
            .limit(limit)
        ).all()
        size, root = svc.state(s)  # read after the rows: every row's entry is in this tree
        items = [
            {
                "index": a.log_index,
                "time": _ts(a.at),
                "email": a.email or None,
                "key": a.key_fp,
                "result": a.result,
                "address": a.address,
                "salt": a.salt,
                "entry": data,
                "nonce": b64(bytes(nonce)) if nonce is not None else None,
                "private": private,
                "inclusion_proof": [b64(h) for h in svc.inclusion_proof(s, a.log_index, size)],
            }
            for a, data, nonce, private in rows
        ]
    return _json(
        {
            "doc_id": doc,
            "tree_size": size,
            "checkpoint": svc.signed_checkpoint(size, root).decode(),
            "accesses": items,
            "next_after": items[-1]["index"] if len(items) == limit else None,
        }
    )
