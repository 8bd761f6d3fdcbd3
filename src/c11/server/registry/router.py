"""HTTP routes of the public key registry: publish (with proof of possession), remove, look up, history.

Every publish, change and removal appends a `key` entry to the log in the same transaction. Lookups
answer with the entry, its inclusion proof and the signed checkpoint, so clients verify what they get.
Emails travel in query strings or bodies (never in paths, so access logs do not record them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections import OrderedDict
from datetime import timedelta
from typing import Annotated, Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from c11.errors import RecipientError
from c11.keys.publickey import PublicKey
from c11.log.entries import (
    PUBLISH_WINDOW_SECONDS,
    canonical_json,
    email_hash,
    parse_rfc3339,
    publish_message,
)
from c11.server import hotpath
from c11.server.accounts.schemas import canonical_email
from c11.server.auth import Principal, require_scope, require_user
from c11.server.context import Ctx, ServerContext
from c11.server.db import utcnow
from c11.server.logsrv.models import LogEntry
from c11.server.logsrv.router import b64
from c11.server.logsrv.service import log_service
from c11.server.orgs import lookup as org_lookup
from c11.server.orgs import policies as org_policies
from c11.server.problems import Problem, responses, unauthorized
from c11.server.registry.models import RegistryKey, UsedProof

router = APIRouter(
    prefix="/api/v1/keys",
    tags=["registry"],
    dependencies=[Depends(require_user)],
    responses=responses(400, 401, 403, 404, 409, 422),
)
#: The lookup routes: hot, so they authenticate in one async dependency (`_read_access`, same rules as
#: `require_scope("keys:read")`) and run their queries on the event loop when the database is near,
#: instead of through sync dependencies and handlers (each one a thread hop).
reads = APIRouter(prefix="/api/v1/keys", tags=["registry"], responses=responses(401, 403, 404, 409, 422))
Writer = Annotated[Principal, Depends(require_scope("keys:write"))]
_JSON = "application/json"


class PublishIn(BaseModel):
    """A public key line with a proof of possession by its signing key (see docs/registry.md)."""

    email: str = Field(max_length=320, description="Your account's email address")
    public_key: str = Field(max_length=8192, description="Public key line c11:<type>:..., with a signing key")
    timestamp: str = Field(max_length=64, description="RFC 3339 time of the signature (within 10 minutes)")
    signature: str = Field(max_length=200, description="base64 Ed25519 signature over the publish message")
    storage: Literal["cloud", "device"] = Field(
        default="device",
        description="Where the private key lives: "
        "cloud (in shards) or device (a key file); organizations may "
        "forbid device keys (docs/organizations.md)",
    )


class PublishedOut(BaseModel):
    email: str
    public_key: str
    fingerprint: str
    log_index: int
    action: str


class KeyOut(BaseModel):
    """A key with what proves it is in the log: entry text, inclusion proof, signed checkpoint."""

    email: str
    public_key: str
    fingerprint: str
    log_index: int
    entry: str
    tree_size: int
    checkpoint: str
    inclusion_proof: list[str]
    known_size: int | None = None
    consistency_proof: list[str] | None = None
    org: dict[str, Any] | None = Field(
        default=None,
        description="For a member of an organization: name, "
        "recovery_keys, require_online, default_expiry_days (docs/organizations.md)",
    )


class HistoryItem(BaseModel):
    index: int
    entry: str
    inclusion_proof: list[str]


class HistoryOut(BaseModel):
    email: str
    tree_size: int
    checkpoint: str
    entries: list[HistoryItem]
    known_size: int | None = None
    consistency_proof: list[str] | None = None


def _json(obj: object) -> Response:
    return Response(canonical_json(obj), media_type=_JSON)


def _check_proof(body: PublishIn, principal: Principal) -> tuple[PublicKey, str]:
    """Check the request is the caller's own verified email and the signature proves possession."""
    if not principal.email_verified:
        raise Problem(
            403, "Email not verified", "Verify your email address before publishing a key.", "email-unverified"
        )
    if canonical_email(body.email) != principal.email:
        raise Problem(403, "Forbidden", "You can only publish a key for your own email address.", "not-your-email")
    try:
        key = PublicKey.parse(body.public_key)
    except RecipientError as e:
        raise Problem(422, "Bad public key", str(e), "bad-public-key") from None
    if key.sig is None:
        raise Problem(422, "Bad public key", "The key line has no signing key.", "bad-public-key")
    try:
        stamp = parse_rfc3339(body.timestamp)
    except ValueError:
        raise Problem(422, "Bad timestamp", "timestamp must be RFC 3339.", "bad-proof") from None
    if abs((utcnow() - stamp).total_seconds()) > PUBLISH_WINDOW_SECONDS:
        raise Problem(
            400,
            "Stale proof",
            "The proof of possession is too old or in the future; check the clock and sign again.",
            "stale-proof",
        )
    try:
        sig = base64.b64decode(body.signature, validate=True)
        Ed25519PublicKey.from_public_bytes(key.sig).verify(
            sig, publish_message(principal.email, key.line(), body.timestamp)
        )
    except (binascii.Error, ValueError, InvalidSignature):
        raise Problem(
            400, "Bad proof of possession", "The signature does not verify with the key's signing key.", "bad-proof"
        ) from None
    return key, hashlib.sha256(sig).hexdigest()


@router.post("", response_model=PublishedOut, summary="Publish or change your public key")
def publish(body: PublishIn, principal: Writer, ctx: Ctx) -> Response:
    """Publish your key line (proof of possession required); a new or changed key is logged."""
    key, sig_hash = _check_proof(body, principal)
    if body.storage != "cloud":
        with ctx.db.session() as s:
            org_policies.refuse_device_key(s, principal.email)
    ehash = email_hash(principal.email)
    now = utcnow()
    svc = log_service(ctx)
    try:
        with svc.transaction() as (s, log):
            s.execute(
                delete(UsedProof).where(UsedProof.created_at < now - timedelta(seconds=3 * PUBLISH_WINDOW_SECONDS))
            )
            s.add(UsedProof(signature_hash=sig_hash, user_id=principal.user_id, created_at=now))
            s.flush()
            row = s.get(RegistryKey, principal.user_id)
            if row is not None and row.public_key == key.line():
                action = "unchanged"
            else:
                action = "publish" if row is None else "change"
                index = log.append(
                    "key", {"action": action, "email_hash": ehash, "public_key": key.line()}, subject=ehash
                )
                if row is None:
                    row = RegistryKey(user_id=principal.user_id, email_hash=ehash)
                    s.add(row)
                row.public_key, row.fingerprint = key.line(), key.fingerprint
                row.log_index, row.published_at = index, now
            out = {
                "email": principal.email,
                "public_key": row.public_key,
                "fingerprint": row.fingerprint,
                "log_index": row.log_index,
                "action": action,
            }
    except IntegrityError:
        raise Problem(
            409, "Replayed proof", "This proof of possession was already used; sign again.", "replayed-proof"
        ) from None
    return _json(out)


@router.delete("", status_code=204, summary="Remove your public key")
def remove(principal: Writer, ctx: Ctx) -> Response:
    """Remove your key from the registry (logged); people can no longer look you up."""
    ehash = email_hash(principal.email)
    with log_service(ctx).transaction() as (s, log):
        row = s.get(RegistryKey, principal.user_id)
        if row is None:
            raise Problem(404, "Not Found", "You have no published key.", "not-found")
        log.append("key", {"action": "remove", "email_hash": ehash, "public_key": None}, subject=ehash)
        s.delete(row)
    return Response(status_code=204)


def _proofs(known: int | None, size: int) -> dict[str, Any]:
    if known is None:
        return {}
    if known > size:
        raise Problem(
            409,
            "Log rolled back",
            f"You saw a tree of {known} entries; this log has {size}.",
            "log-rollback",
            tree_size=size,
        )
    return {"known_size": known}


#: One query: the key, its entry and the log's current state (plain SQL: the hot path).
#: With the organization rules' LEFT JOINs on unique indexes (`orgs.lookup`): still one query.
_LOOKUP = (
    "SELECT r.public_key, r.fingerprint, r.log_index, e.data, s.size, s.root_hash"
    + org_lookup.COLUMNS
    + " FROM registry_keys r JOIN log_entries e ON e.idx = r.log_index JOIN log_state s ON s.id = 1"
    + org_lookup.JOINS
    + " WHERE r.email_hash = {ph}"
)
_PG_LOOKUP = _LOOKUP.format(ph="%s")


def _reader(request: Request) -> tuple[Principal, ServerContext]:
    ctx: ServerContext = request.app.state.ctx
    principal = hotpath.caller(request, ctx)
    if principal is None:
        raise unauthorized()
    if not principal.has("keys:read"):
        raise Problem(
            403, "Forbidden", "This token lacks the scope keys:read.", "insufficient-scope", scope="keys:read"
        )
    request.state.principal = principal
    return principal, ctx


async def _read_access(request: Request) -> ServerContext:
    """Dependency: the caller, logged in with `keys:read` (checked before the query is validated)."""
    return (await _run(request.app.state.ctx, _reader, request))[1]


_run = hotpath.run_near


class _ProofCache:
    """Inclusion proofs of key entries per (index, tree size), base64: a proof in a given tree never changes
    (nodes are written once), and between two appends every lookup of a person asks for the same one."""

    SIZE = 8192

    def __init__(self, ctx: ServerContext) -> None:
        self._proofs: OrderedDict[tuple[int, int], list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def inclusion(self, index: int, size: int) -> list[str] | None:
        return self._proofs.get((index, size))

    def keep(self, index: int, size: int, nodes: list[bytes]) -> list[str]:
        proof = [b64(h) for h in nodes]
        with self._lock:
            self._proofs[(index, size)] = proof
            while len(self._proofs) > self.SIZE:
                self._proofs.popitem(last=False)
        return proof


ReadCtx = Annotated[ServerContext, Depends(_read_access)]


@reads.get("", response_model=KeyOut, summary="Look a person's key up by exact email")
async def lookup(
    ctx: ReadCtx,
    request: Request,
    email: Annotated[str, Query(max_length=320)],
    known_size: Annotated[
        int | None, Query(ge=0, description="Tree size you trust; adds a consistency proof to it")
    ] = None,
) -> Response:
    """The current key of `email` with its log entry, inclusion proof and the signed checkpoint; for a member
    of an organization, its `org` rules (recovery keys, require_online, default_expiry_days)."""
    return await _run(ctx, _lookup, ctx, request.state.principal, email, known_size)


def _lookup(ctx: ServerContext, principal: Principal, email: str, known_size: int | None) -> Response:
    email = canonical_email(email)  # one normal form; look-alike and invisible characters refused (422)
    svc = log_service(ctx)
    with svc.read_engine.connect() as conn:  # two queries: the key with the log state, then the proof nodes
        params = (*org_lookup.join_params(principal, email), email_hash(email))
        if conn.dialect.name == "postgresql":  # a prepared statement on the driver connection (hotpath.driver_row)
            row = hotpath.driver_row(
                conn.connection.driver_connection, conn.dialect, conn.invalidate, _PG_LOOKUP, params, named=True
            )
        else:
            row = conn.exec_driver_sql(_LOOKUP.format(ph="?"), params).first()
        if row is None:
            raise Problem(404, "Not Found", "No key is published for this email address.", "no-key")
        if org_lookup.decide(row.t_status, row.t_org, row.t_policies, row.c_org, row.c_policies):
            extra_org = {"org": org_lookup.org_field(conn, row.t_org, row.t_name, row.t_policies)}
        else:
            extra_org = {}
        size = row.size
        if known_size is not None and known_size > size:
            raise Problem(
                409,
                "Log rolled back",
                f"You saw a tree of {known_size} entries; this log has {size}.",
                "log-rollback",
                tree_size=size,
            )
        cache = ctx.service("registry_proofs", _ProofCache)
        proof = cache.inclusion(row.log_index, size)
        consistency = None
        if proof is None or known_size is not None:
            proofs, consistency = svc.proofs(conn, size, [] if proof is not None else [row.log_index], known_size)
            if proof is None:
                proof = cache.keep(row.log_index, size, proofs[0])
    extra = (
        {} if consistency is None else {"known_size": known_size, "consistency_proof": [b64(h) for h in consistency]}
    )
    return _json(
        {
            "email": email.strip().lower(),
            "public_key": row.public_key,
            "fingerprint": row.fingerprint,
            "log_index": row.log_index,
            "entry": row.data,
            "tree_size": size,
            "checkpoint": svc.signed_checkpoint(size, bytes(row.root_hash)).decode("utf-8"),
            "inclusion_proof": proof,
            **extra,
            **extra_org,
        }
    )


@reads.get("/history", response_model=HistoryOut, summary="Every logged key change of an email")
async def history(
    ctx: ReadCtx,
    request: Request,
    email: Annotated[str, Query(max_length=320)],
    known_size: Annotated[int | None, Query(ge=0)] = None,
) -> Response:
    """All `key` entries of `email`, oldest first, each with its inclusion proof in the current tree."""
    return await _run(ctx, _history, ctx, request.state.principal, email, known_size)


def _history(ctx: ServerContext, principal: Principal, email: str, known_size: int | None) -> Response:
    email = canonical_email(email)
    svc = log_service(ctx)
    ehash = email_hash(email)
    with ctx.db.session() as s:
        org_lookup.check(s, principal, email)  # same organization rules as a lookup
        size, root = svc.state(s)
        rows = s.execute(
            select(LogEntry.idx, LogEntry.data)
            .where(LogEntry.subject == ehash, LogEntry.kind == "key", LogEntry.idx < size)
            .order_by(LogEntry.idx)
        ).all()
        extra = _proofs(known_size, size)
        proofs, consistency = svc.proofs(s, size, [i for i, _ in rows], extra.get("known_size"))
        items = [
            {"index": i, "entry": d, "inclusion_proof": [b64(h) for h in p]}
            for (i, d), p in zip(rows, proofs, strict=True)
        ]
        if consistency is not None:
            extra["consistency_proof"] = [b64(h) for h in consistency]
    return _json(
        {
            "email": email.strip().lower(),
            "tree_size": size,
            "checkpoint": svc.signed_checkpoint(size, root).decode("utf-8"),
            "entries": items,
            **extra,
        }
    )
