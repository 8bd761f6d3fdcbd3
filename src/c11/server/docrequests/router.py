"""HTTP routes of Secure Document Request (docs/sharing.md, "Document requests").

The requester (logged in) stores a request their own client signed, lists, reads, cancels and downloads; the
recipient (no account) uses the emailed link: its token (`c11r_…`, in the link's fragment, sent as a bearer
token) opens only its request. Answers and files arrive as `.c11` ciphertext made in the recipient's browser:
the server checks counts and sizes against the request's limits, never a value.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from c11.errors import BadSignatureError, C11Error
from c11.format import request as rq
from c11.keys.publickey import PublicKey
from c11.log.entries import canonical_json, email_hash, parse_rfc3339, rfc3339
from c11.server.accounts.router import deliver_later
from c11.server.auth import SESSION_PREFIX, Principal, _bearer, authenticate, require_scope, require_user
from c11.server.context import Ctx, ServerContext
from c11.server.credentials import digest
from c11.server.db import utcnow
from c11.server.docrequests.models import DocRequest, DocRequestItem, RequestTemplate
from c11.server.logsrv.service import log_service
from c11.server.orgs.permissions import org_of
from c11.server.outbox.service import notify
from c11.server.problems import Problem, not_found, responses, unauthorized
from c11.server.registry.models import RegistryKey
from c11.server.registry.router import _lookup as registry_lookup
from c11.server.uploads.grants import UploadGrant
from c11.server.uploads.models import COMPLETE, Upload
from c11.server.uploads.service import object_key, uploads

router = APIRouter(
    prefix="/api/v1/requests",
    tags=["document requests"],
    dependencies=[Depends(require_user)],
    responses=responses(401, 403, 404, 409, 422),
)
templates = APIRouter(
    prefix="/api/v1/request-templates",
    tags=["document requests"],
    dependencies=[Depends(require_user)],
    responses=responses(401, 403, 404, 409, 422),
)
Reader = Annotated[Principal, Depends(require_scope("documents:read"))]
Writer = Annotated[Principal, Depends(require_scope("documents:write"))]
LINK_PREFIX = "c11r"
#: Largest answers document (ciphertext) the server takes, and the slack a `.c11` adds to a file's size.
MAX_ANSWERS_BYTES = 1024 * 1024
_OVERHEAD = 64 * 1024
#: Calls per link per minute (uploads and submits): a leaked link cannot flood the storage.
LINK_RATE_PER_MINUTE = 120
#: Permission an admin needs to share templates with the organization.
SHARE_PERMISSION = "crud:config-org"
RequestId = Annotated[str, Path(max_length=64)]


def _json(obj: object, status: int = 200) -> Response:
    return Response(canonical_json(obj), status_code=status, media_type="application/json")


def ciphertext_limit(plain: int) -> int:
    """The largest `.c11` of a file of `plain` bytes the server accepts (header, stanzas, per-segment tags)."""
    return plain + plain // 1024 + _OVERHEAD


def status_of(r: DocRequest, now: datetime | None = None) -> str:
    """The request's status, `expired` once past its expiry unless it was submitted or cancelled."""
    if r.status in ("created", "emailed", "opened", "in_progress") and r.expires_at <= (now or utcnow()):
        return "expired"
    return r.status


def _out(r: DocRequest, items: list[DocRequestItem] | None = None, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "name": r.name,
        "recipient_email": r.recipient_email,
        "status": status_of(r),
        "created_at": rfc3339(r.created_at),
        "expires_at": rfc3339(r.expires_at),
        "opened_at": rfc3339(r.opened_at) if r.opened_at else None,
        "submitted_at": rfc3339(r.submitted_at) if r.submitted_at else None,
        "downloaded_at": rfc3339(r.downloaded_at) if r.downloaded_at else None,
        "cancelled_at": rfc3339(r.cancelled_at) if r.cancelled_at else None,
        "template_id": r.template_id,
    }
    if detail:
        out["request"] = json.loads(r.body)
        out["signature"] = r.signature
    if items is not None:
        out["items"] = [
            {"n": i.n, "field": i.field, "size": i.size, "complete": i.complete}
            for i in sorted(items, key=lambda i: i.n)
        ]
    return out


def _log(log: Any, action: str, r: DocRequest, requester: str) -> None:
    """A v2 `request` entry (docs/sharing.md, "Document requests"): the requester only in its opening."""
    log.append("request", {"action": action, "request": r.id}, subject=r.id, person=email_hash(requester), private={})


# ---- the requester's routes ---------------------------------------------------------------------------------


class CreateIn(BaseModel):
    request: dict[str, Any] = Field(description="The request as signed (docs/sharing.md, 'Document requests')")
    signature: str = Field(max_length=200, description="base64 Ed25519 signature by your published key")
    template_id: str | None = Field(default=None, max_length=32)


def _registry_line(s: Session, user_id: str) -> str:
    line = s.execute(select(RegistryKey.public_key).where(RegistryKey.user_id == user_id)).scalar()
    if line is None:
        raise Problem(409, "No published key", "Publish your key first (c11 keys publish).", "no-key")
    return line


@router.post("", status_code=201, summary="Store a signed request and email its link to the recipient")
def create(body: CreateIn, principal: Writer, ctx: Ctx, tasks: BackgroundTasks) -> Response:
    r = body.request
    try:
        rq.check_request(r)
    except C11Error as e:
        raise Problem(422, "Bad request form", str(e), "bad-request-form") from None
    if r["requester"] != principal.email:
        raise Problem(422, "Bad request form", "requester must be your account's email.", "bad-request-form")
    created, expires = parse_rfc3339(r["created_at"]), parse_rfc3339(r["expires_at"])
    now = utcnow()
    if expires <= now or abs((created - now).total_seconds()) > 600:
        raise Problem(
            422, "Bad request form", "created_at must be now and expires_at in the future.", "bad-request-form"
        )
    token = f"{LINK_PREFIX}_{base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b'=').decode()}"
    with log_service(ctx).transaction() as (s, log):
        try:
            rq.verify(r, body.signature, PublicKey.parse(_registry_line(s, principal.user_id)))
        except BadSignatureError as e:
            raise Problem(422, "Bad signature", str(e), "bad-request-signature") from None
        if s.get(DocRequest, r["id"]) is not None:
            raise Problem(409, "Request exists", "A request with this ID exists.", "request-exists")
        if s.execute(
            select(DocRequest.id).where(DocRequest.owner_id == principal.user_id, DocRequest.name == r["name"])
        ).first():
            raise Problem(409, "Name in use", "You already have a request with this name.", "request-name-taken")
        row = DocRequest(
            id=r["id"],
            owner_id=principal.user_id,
            name=r["name"],
            recipient_email=r["recipient_email"],
            body=rq.canonical(r).decode("ascii"),
            signature=body.signature,
            token_hash=digest(token),
            status="emailed",
            template_id=body.template_id,
            max_files=r["max_files"],
            max_bytes=r["max_bytes"],
            created_at=now,
            expires_at=expires,
        )
        s.add(row)
        base = ctx.config.base_url
        secret = f"{r['id']}.{token}"
        notify(
            s,
            base,
            "document_request",
            r["recipient_email"],
            requester=principal.email,
            link=f"{base}/request#{secret}",
            due=expires,
            secret=secret,
        )
        _log(log, "create", row, principal.email)
        out = _out(row, [])
    deliver_later(tasks, ctx)
    return _json(out, 201)


@router.get("", summary="Your requests with their status")
def list_requests(principal: Reader, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        rows = s.scalars(
            select(DocRequest).where(DocRequest.owner_id == principal.user_id).order_by(DocRequest.created_at.desc())
        ).all()
        return _json({"requests": [_out(r) for r in rows]})


def _own(s: Session, principal: Principal, request_id: str) -> DocRequest:
    r = s.get(DocRequest, request_id)
    if r is None or r.owner_id != principal.user_id:
        raise not_found("request")
    return r


def _items(s: Session, request_id: str) -> list[DocRequestItem]:
    return list(s.scalars(select(DocRequestItem).where(DocRequestItem.request_id == request_id)).all())


@router.get("/{request_id}", summary="One request: the signed form, status and the protected items")
def show(request_id: RequestId, principal: Reader, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        r = _own(s, principal, request_id)
        return _json(_out(r, _items(s, r.id), detail=True))


@router.post("/{request_id}/cancel", summary="Cancel a request: its link stops working")
def cancel(request_id: RequestId, principal: Writer, ctx: Ctx) -> Response:
    with log_service(ctx).transaction() as (s, log):
        r = _own(s, principal, request_id)
        if status_of(r) in ("submitted", "downloaded", "cancelled"):
            raise Problem(409, "Not open", f"This request is {status_of(r)}.", "request-closed")
        r.status, r.cancelled_at = "cancelled", utcnow()
        _log(log, "cancel", r, principal.email)
        return _json(_out(r))


@router.post("/{request_id}/downloaded", summary="Record that you downloaded the answers")
def downloaded(request_id: RequestId, principal: Writer, ctx: Ctx) -> Response:
    with log_service(ctx).transaction() as (s, log):
        r = _own(s, principal, request_id)
        if r.status not in ("submitted", "downloaded"):
            raise Problem(409, "Not submitted", "Nothing was submitted yet.", "request-not-submitted")
        if r.status == "submitted":
            r.status, r.downloaded_at = "downloaded", utcnow()
            _log(log, "download", r, principal.email)
        return _json(_out(r))


# ---- templates ----------------------------------------------------------------------------------------------


class TemplateIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    shared: bool = Field(default=False, description="Share with your organization (admins with crud:config-org)")
    sections: list[Any] = Field(max_length=rq.MAX_SECTIONS)
    message: str = Field(default="", max_length=rq.MAX_MESSAGE)
    expires_days: int = Field(default=14, ge=1, le=365)
    max_files: int = Field(default=20, ge=0, le=1000)
    max_bytes: int = Field(default=1024**3, ge=1, le=100 * 1024**3)
    groups: list[str] = Field(default_factory=list, max_length=10, description="Groups whose keys also get answers")


def _template_out(t: RequestTemplate) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "shared": t.org_id is not None,
        **json.loads(t.body),
        "updated_at": rfc3339(t.updated_at),
    }


def _template_body(body: TemplateIn) -> str:
    try:
        rq.check_sections(body.sections)
    except C11Error as e:
        raise Problem(422, "Bad template", str(e), "bad-request-form") from None
    return canonical_json(body.model_dump(exclude={"name", "shared"}))


def _share_org(ctx: ServerContext, principal: Principal) -> str:
    caller = org_of(ctx, principal)
    if caller is None or not caller.can(SHARE_PERMISSION):
        raise Problem(
            403,
            "Forbidden",
            f"Sharing a template with the organization needs the permission {SHARE_PERMISSION}.",
            "missing-permission",
            permission=SHARE_PERMISSION,
        )
    return caller.org_id


def _visible(ctx: ServerContext, s: Session, principal: Principal) -> Any:
    caller = org_of(ctx, principal)
    cond = (RequestTemplate.owner_id == principal.user_id) & RequestTemplate.org_id.is_(None)
    if caller is not None:
        cond = cond | (RequestTemplate.org_id == caller.org_id)
    return cond


@templates.get("", summary="Your templates and your organization's shared ones")
def list_templates(principal: Reader, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        rows = s.scalars(select(RequestTemplate).where(_visible(ctx, s, principal)).order_by(RequestTemplate.name))
        return _json({"templates": [_template_out(t) for t in rows]})


@templates.post("", status_code=201, summary="Make a template (shared: for your organization)")
def create_template(body: TemplateIn, principal: Writer, ctx: Ctx) -> Response:
    org_id = _share_org(ctx, principal) if body.shared else None
    with ctx.db.session() as s:
        t = RequestTemplate(owner_id=principal.user_id, org_id=org_id, name=body.name, body=_template_body(body))
        s.add(t)
        s.flush()
        return _json(_template_out(t), 201)


def _template(ctx: ServerContext, s: Session, principal: Principal, template_id: str, change: bool) -> RequestTemplate:
    t = s.scalars(select(RequestTemplate).where(RequestTemplate.id == template_id, _visible(ctx, s, principal))).first()
    if t is None:
        raise not_found("template")
    if change and t.org_id is not None:
        _share_org(ctx, principal)
    elif change and t.owner_id != principal.user_id:
        raise not_found("template")
    return t


@templates.get("/{template_id}", summary="One template")
def show_template(template_id: str, principal: Reader, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        return _json(_template_out(_template(ctx, s, principal, template_id, False)))


@templates.put("/{template_id}", summary="Change a template")
def update_template(template_id: str, body: TemplateIn, principal: Writer, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        t = _template(ctx, s, principal, template_id, True)
        if body.shared != (t.org_id is not None):
            raise Problem(409, "Cannot move", "Make a new template to share or unshare it.", "template-shared")
        t.name, t.body, t.updated_at = body.name, _template_body(body), utcnow()
        return _json(_template_out(t))


@templates.delete("/{template_id}", status_code=204, summary="Delete a template")
def delete_template(template_id: str, principal: Writer, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        s.delete(_template(ctx, s, principal, template_id, True))
    return Response(status_code=204)


# ---- the recipient's link routes ----------------------------------------------------------------------------


class _RateLimits:
    """Calls per link in the last minute (this server process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}

    def check(self, key: str, per_minute: int) -> None:
        now = time.monotonic()
        with self._lock:
            q = self._calls.setdefault(key, deque())
            while q and q[0] <= now - 60:
                q.popleft()
            if len(q) >= per_minute:
                raise Problem(429, "Too many requests", "Too many uploads through this link; wait a minute.", "rate")
            q.append(now)
            if len(self._calls) > 10_000:
                self._calls = {k: v for k, v in self._calls.items() if v and v[-1] > now - 60}


def _limits(ctx: ServerContext) -> _RateLimits:
    return ctx.service("docrequest_rate", lambda _ctx: _RateLimits())


def _link_token(request: Request, ctx: ServerContext) -> str:
    """The link token of the call: 401 without one; 403 for a login (it is not the request's link)."""
    token = _bearer(request)
    if token is None or not token.startswith(LINK_PREFIX + "_"):
        if token is not None and token.startswith(SESSION_PREFIX + "_") and authenticate(request, ctx) is not None:
            raise Problem(403, "Forbidden", "Open the request with the link you were emailed.", "not-a-request-link")
        raise unauthorized("Open the request with the link you were emailed.")
    return token


def _require_link(request: Request, ctx: Ctx) -> None:
    """Dependency of the link routes: a link token is there (checked against the request in the handler)."""
    request.state.link_token = _link_token(request, ctx)


#: The recipient's routes: the link's token is the credential (no account).
links = APIRouter(
    prefix="/api/v1/request-links",
    tags=["document requests"],
    dependencies=[Depends(_require_link)],
    responses=responses(401, 403, 404, 410),
)


def _by_link(s: Session, ctx: ServerContext, request: Request, request_id: str, *, write: bool) -> DocRequest:
    token = request.state.link_token
    r = s.get(DocRequest, request_id)
    if r is None or not secrets.compare_digest(r.token_hash, digest(token)):
        raise unauthorized("This link is not valid for this request.")
    st = status_of(r)
    if st == "cancelled":
        raise Problem(410, "Request cancelled", "The requester cancelled this request.", "request-cancelled")
    if st == "expired":
        raise Problem(
            410, "Request expired", "This request has expired; ask the requester for a new one.", "request-expired"
        )
    if write:
        if st in ("submitted", "downloaded"):
            raise Problem(409, "Already submitted", "This request was already answered.", "request-submitted")
        _limits(ctx).check(r.id, LINK_RATE_PER_MINUTE)
    return r


def _requester_email(s: Session, r: DocRequest) -> str:
    return str(json.loads(r.body)["requester"])


@links.get("/{request_id}", summary="The request behind a link: the signed form and what is uploaded")
def open_link(request_id: RequestId, request: Request, ctx: Ctx) -> Response:
    """Answers the signed request; the page verifies the signature with the requester's key from the registry
    (`GET /api/v1/request-links/{id}/requester-key`)."""
    with log_service(ctx).transaction() as (s, log):
        r = _by_link(s, ctx, request, request_id, write=False)
        if r.status == "emailed":
            r.status, r.opened_at = "opened", utcnow()
            _log(log, "open", r, _requester_email(s, r))
        return _json(_out(r, _items(s, r.id), detail=True))


@links.get("/{request_id}/requester-key", summary="The requester's key with its log proofs")
def requester_key(request_id: RequestId, request: Request, ctx: Ctx, known_size: int | None = None) -> Response:
    """The registry lookup answer for the requester (`GET /api/v1/keys`, as the requester would look
    themselves up: with their organization's rules), for the recipient who has no login."""
    with ctx.db.session() as s:
        r = _by_link(s, ctx, request, request_id, write=False)
        email = _requester_email(s, r)
    as_requester = Principal(r.owner_id, email, True, "link", r.id, frozenset())
    return registry_lookup(ctx, as_requester, email, known_size)


class ItemIn(BaseModel):
    n: int = Field(ge=0, le=1001, description="0: the answers document; 1..: a file")
    field: str | None = Field(default=None, max_length=40, description="The file field it answers (files only)")
    size: int = Field(ge=1, description="Size of the .c11 in bytes")


@links.post("/{request_id}/items", status_code=201, summary="Announce a protected item before uploading it")
def add_item(request_id: RequestId, body: ItemIn, request: Request, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        r = _by_link(s, ctx, request, request_id, write=True)
        form = json.loads(r.body)
        items = [i for i in _items(s, r.id) if i.n != body.n]
        if body.n == 0:
            if body.field is not None or body.size > MAX_ANSWERS_BYTES:
                raise Problem(413, "Too large", f"The answers are at most {MAX_ANSWERS_BYTES} bytes.", "too-large")
        else:
            f = next((f for f in rq.fields(form) if f["id"] == body.field and f["type"] == "file"), None)
            if f is None:
                raise Problem(422, "No such field", "Files answer a file field of the request.", "bad-item")
            if body.size > ciphertext_limit(f.get("max_bytes", rq.MAX_FILE_BYTES)):
                raise Problem(413, "Too large", f"{f['label']}: the file is too large.", "too-large")
            same = sum(1 for i in items if i.field == body.field)
            if same + 1 > f.get("max_files", 1) or sum(1 for i in items if i.n > 0) + 1 > r.max_files:
                raise Problem(422, "Too many files", f"{f['label']}: too many files.", "too-many-files")
            total = sum(i.size for i in items if i.n > 0) + body.size
            if total > ciphertext_limit(r.max_bytes):
                raise Problem(413, "Too large", "The files exceed this request's total size.", "too-large")
        old = s.execute(
            select(DocRequestItem).where(DocRequestItem.request_id == r.id, DocRequestItem.n == body.n)
        ).scalar()
        if old is not None:
            s.delete(old)
            s.flush()
        item = DocRequestItem(request_id=r.id, n=body.n, field=body.field, size=body.size)
        s.add(item)
        if r.status in ("emailed", "opened"):
            r.status = "in_progress"
        s.flush()
        return _json({"n": item.n, "field": item.field, "size": item.size, "complete": False}, 201)


@links.post("/{request_id}/submit", summary="Submit: every announced item is uploaded; the requester is emailed")
def submit(request_id: RequestId, request: Request, ctx: Ctx, tasks: BackgroundTasks) -> Response:
    with log_service(ctx).transaction() as (s, log):
        r = _by_link(s, ctx, request, request_id, write=True)
        items = _items(s, r.id)
        if not any(i.n == 0 for i in items) or not all(i.complete for i in items):
            raise Problem(409, "Incomplete", "Upload the answers and every file first.", "request-incomplete")
        r.status, r.submitted_at = "submitted", utcnow()
        requester = _requester_email(s, r)
        base = ctx.config.base_url
        notify(
            s,
            base,
            "upload_received",
            requester,
            uploader=r.recipient_email,
            link=f"{base}/requests?id={r.id}",
            count=sum(1 for i in items if i.n > 0),
        )
        _log(log, "submit", r, requester)
        out = _out(r, items)
    deliver_later(tasks, ctx)
    return _json(out)


class AttachIn(BaseModel):
    upload_id: str = Field(max_length=64, description="The completed upload (POST /api/v1/uploads with the link)")


@links.post("/{request_id}/items/{n}/upload", summary="The item's bytes: a completed upload made with the link")
def attach(request_id: RequestId, n: int, body: AttachIn, request: Request, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        r = _by_link(s, ctx, request, request_id, write=True)
        item = s.execute(
            select(DocRequestItem).where(DocRequestItem.request_id == r.id, DocRequestItem.n == n)
        ).scalar()
        up = s.get(Upload, body.upload_id)
        if item is None:
            raise not_found("item")
        if up is None or up.owner != _owner(r.id) or up.status != COMPLETE:
            raise Problem(409, "Upload not complete", "Upload the item through its link first.", "upload-incomplete")
        if up.length != item.size:
            raise Problem(422, "Wrong size", "The upload is not the size announced for this item.", "bad-item")
        used = s.execute(
            select(DocRequestItem.n).where(DocRequestItem.upload_id == up.id, DocRequestItem.n != item.n)
        ).first()
        if (up.attached_to is not None and up.attached_to != r.id) or used is not None:
            raise Problem(409, "Upload in use", "This upload belongs to another item.", "upload-in-use")
        s.execute(update(Upload).where(Upload.id == up.id).values(attached_to=r.id))
        item.upload_id, item.complete = up.id, True
        return _json({"n": item.n, "field": item.field, "size": item.size, "complete": True})


def _owner(request_id: str) -> str:
    return f"request:{request_id}"


def link_grant(request: Request, ctx: ServerContext) -> UploadGrant | None:
    """Upload granter (`c11.server.uploads.grants.GRANTERS`): a request link may upload the items of its open
    request, each at most the request's total (plus the `.c11` slack), all of them at most that plus the
    answers; every call counts toward the link's rate limit."""
    token = _bearer(request)
    if token is None or not token.startswith(LINK_PREFIX + "_"):
        return None
    with ctx.db.session() as s:
        r = s.execute(select(DocRequest).where(DocRequest.token_hash == digest(token))).scalar()
        if r is None:
            raise unauthorized("This link is not valid.")
        request.state.link_token = token
        r = _by_link(s, ctx, request, r.id, write=True)
        total = ciphertext_limit(r.max_bytes)
        return UploadGrant(_owner(r.id), _owner(r.id), max(total, MAX_ANSWERS_BYTES), total + MAX_ANSWERS_BYTES)


@router.get("/{request_id}/items/{n}", summary="Download a protected item (.c11) of a submitted request")
def item_bytes(request_id: RequestId, n: int, principal: Reader, ctx: Ctx) -> Response:
    with ctx.db.session() as s:
        r = _own(s, principal, request_id)
        item = s.execute(
            select(DocRequestItem).where(DocRequestItem.request_id == r.id, DocRequestItem.n == n)
        ).scalar()
        if item is None or not item.complete or item.upload_id is None:
            raise not_found("item")
        upload_id, size = item.upload_id, item.size
    return StreamingResponse(
        uploads(ctx).read(upload_id),
        media_type="application/octet-stream",
        headers={"Content-Length": str(size), "Cache-Control": "no-store"},
    )


#: Most requests whose files one purge run deletes.
PURGE_BATCH = 50


def purge(ctx: ServerContext, limit: int = PURGE_BATCH) -> int:
    """Delete the uploaded ciphertext of up to `limit` cancelled requests and expired ones never submitted (run
    with the uploads cleanup, docs/sharing.md): their items stay, without bytes. Returns how many requests."""
    now = utcnow()
    with ctx.db.session() as s:
        ids = s.scalars(
            select(DocRequestItem.request_id)
            .join(DocRequest, DocRequest.id == DocRequestItem.request_id)
            .where(
                DocRequestItem.upload_id.is_not(None),
                or_(
                    DocRequest.status == "cancelled",
                    (DocRequest.expires_at <= now) & DocRequest.submitted_at.is_(None),
                ),
            )
            .distinct()
            .limit(limit)
        ).all()
    store = uploads(ctx).store
    for request_id in ids:
        with ctx.db.session() as s:
            items = s.scalars(
                select(DocRequestItem).where(
                    DocRequestItem.request_id == request_id, DocRequestItem.upload_id.is_not(None)
                )
            ).all()
            gone = [i.upload_id for i in items if i.upload_id]
            for upload_id in gone:
                store.delete(object_key(upload_id))
            s.execute(delete(Upload).where(Upload.id.in_(gone)))
            s.execute(
                update(DocRequestItem)
                .where(DocRequestItem.request_id == request_id)
                .values(upload_id=None, complete=False)
            )
    return len(ids)
