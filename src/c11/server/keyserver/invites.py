"""Invitations and temporary keys (docs/keyserver.md): invite people who have no account, so that anyone can
encrypt for them at once; hand the temporary private key to them, once, when they have their own key.

The temporary identity's seeds are sealed (HPKE) to the key server's own key before they reach the database,
so the database alone holds no usable key. Every creation, release and expiry is a `tempkey` log entry.
See docs/keyserver.md.
"""

from __future__ import annotations

import base64
import time
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from c11.errors import C11Error, RecipientError
from c11.keys.identity import Identity
from c11.keys.publickey import PublicKey
from c11.log.entries import canonical_json, email_hash, rfc3339
from c11.server.accounts.models import User
from c11.server.accounts.router import deliver_later
from c11.server.accounts.schemas import EmailAddress, canonical_email
from c11.server.auth import Principal, require_scope, require_user
from c11.server.context import Ctx, ServerContext
from c11.server.db import utcnow
from c11.server.keyserver.models import Invitation
from c11.server.keyserver.service import keyserver
from c11.server.logsrv.models import LogEntry
from c11.server.logsrv.router import b64
from c11.server.logsrv.service import log_service
from c11.server.orgs import lookup as org_lookup
from c11.server.outbox.service import notify
from c11.server.problems import Problem, not_found, responses
from c11.server.registry.models import RegistryKey

router = APIRouter(
    prefix="/api/v1/invitations",
    tags=["invitations"],
    dependencies=[Depends(require_user)],
    responses=responses(401, 403, 404, 409, 422),
)
KeyReader = Annotated[Principal, Depends(require_scope("keys:read"))]
KeyWriter = Annotated[Principal, Depends(require_scope("keys:write"))]
MAX_EMAILS = 100
_SECRET_INFO = b"c11/v1 temporary key\x00"
_RELEASE_INFO = b"c11/v1 temporary key release\x00"


def _json(obj: object, status: int = 200) -> Response:
    return Response(canonical_json(obj), status_code=status, media_type="application/json")


class InviteIn(BaseModel):
    emails: list[EmailAddress] = Field(min_length=1, max_length=MAX_EMAILS)


class InvitationOut(BaseModel):
    id: str | None
    email: str
    status: str
    public_key: str | None
    fingerprint: str | None
    created_at: str | None
    expires_at: str | None
    send_count: int = 0


class TemporaryKeyOut(BaseModel):
    """A temporary key with what proves it is in the log; `zero_trust` is always false."""

    email: str
    public_key: str
    fingerprint: str
    temporary: bool
    zero_trust: bool
    expires_at: str
    log_index: int
    entry: str
    tree_size: int
    checkpoint: str
    inclusion_proof: list[str]
    org: dict[str, Any] | None = None


class ClaimIn(BaseModel):
    public_key: str = Field(max_length=8192, description="Your published public key line (the answer is sealed to it)")


class ClaimOut(BaseModel):
    email: str
    public_key: str
    fingerprint: str
    sealed: str


def _ttl(ctx: ServerContext) -> timedelta:
    return timedelta(days=int(getattr(ctx.config, "invitation_ttl_days", 30)))


def _out(inv: Invitation) -> dict[str, Any]:
    return {
        "id": inv.id,
        "email": inv.email,
        "status": inv.status,
        "public_key": inv.public_key,
        "fingerprint": inv.fingerprint,
        "created_at": rfc3339(inv.created_at),
        "expires_at": rfc3339(inv.expires_at),
        "send_count": inv.send_count,
    }


def _invitation_email(s: Session, ctx: ServerContext, inviter: str, to: str, inv_id: str, expires: Any) -> None:
    """Queue the invitation (rendered from its template) in the caller's transaction."""
    from c11.server.shards.service import shard_service

    base = ctx.config.base_url
    notify(
        s,
        base,
        "invitation",
        to,
        inviter=inviter,
        link=f"{base}/invite#invitation={inv_id}",  # the app's invitation page (web/src/app/pages/Invite.tsx)
        signup_command=f"c11 signup --server {base} --email {to}",
        expires=expires,
        shard_stores=len(shard_service(ctx).stores),  # the key storage this server really offers
        secret=inv_id,
    )  # the link is erased from the outbox once delivered


def expire_old(ctx: ServerContext) -> int:
    """Mark pending invitations past their expiry as expired and destroy their temporary private keys."""
    now = utcnow()
    with ctx.db.session() as s:
        ids = s.execute(
            select(Invitation.id, Invitation.email_hash, Invitation.fingerprint).where(
                Invitation.status == "pending", Invitation.expires_at <= now
            )
        ).all()
    if not ids:
        return 0
    with log_service(ctx).transaction() as (s, log):
        for inv_id, ehash, fp in ids:
            done = s.execute(
                update(Invitation)
                .where(Invitation.id == inv_id, Invitation.status == "pending")
                .values(status="expired", sealed_secret=None)
            ).rowcount
            if done:
                log.append("tempkey", {"action": "expire", "email_hash": ehash, "fingerprint": fp}, subject=ehash)
    return len(ids)


def create_invitations(
    ctx: ServerContext,
    s: Session,
    log: Any,
    inviter_id: str,
    inviter_email: str,
    emails: list[str],
    *,
    send: bool = True,
) -> list[dict[str, Any]]:
    """In the caller's log transaction: for each email without an account or key, a temporary key and (with
    `send`) an invitation email; a pending invitation is reused; registered people get status `registered`.
    Also used by organization admins (members added, or pre-loaded with keys and no email)."""
    ks = keyserver(ctx)
    out = []
    now = utcnow()
    for email in dict.fromkeys(canonical_email(e) for e in emails):
        ehash = email_hash(email)
        registered = s.execute(select(RegistryKey.user_id).where(RegistryKey.email_hash == ehash)).first()
        if (
            registered is not None
            or s.execute(
                select(User.id).where(  # an unverified sign-up may be a squatter's
                    User.email == email, User.email_verified_at.is_not(None)
                )
            ).first()
        ):
            out.append(
                {
                    "id": None,
                    "email": email,
                    "status": "registered",
                    "public_key": None,
                    "fingerprint": None,
                    "created_at": None,
                    "expires_at": None,
                    "send_count": 0,
                }
            )
            continue
        inv = s.execute(
            select(Invitation).where(Invitation.email_hash == ehash, Invitation.status == "pending")
        ).scalar()
        if inv is None:
            temp = Identity.generate(f"{email} (temporary)", created=int(time.time()))
            sealed = ks.public_seal(temp.enc_seed + temp.sig_seed, _SECRET_INFO + ehash.encode())
            line = temp.public.line()
            # v2: the invitee's hash and key stay public (anyone encrypting to them must verify them); the
            # inviter is hidden in the actor commitment (their opening; usage events read it, docs/organizations.md)
            index = log.append(
                "tempkey",
                {"action": "create", "email_hash": ehash, "public_key": line},
                subject=ehash,
                person=email_hash(inviter_email),
                private={},
            )
            inv = Invitation(
                email=email,
                email_hash=ehash,
                inviter_id=inviter_id,
                status="pending",
                public_key=line,
                fingerprint=temp.fingerprint,
                sealed_secret=sealed,
                log_index=index,
                created_at=now,
                expires_at=now + _ttl(ctx),
                last_sent_at=now,
                send_count=1 if send else 0,
            )
            s.add(inv)
            s.flush()
            if send:
                _invitation_email(s, ctx, inviter_email, email, inv.id, inv.expires_at)
        out.append(_out(inv))
    return out


def send_again(ctx: ServerContext, s: Session, inv: Invitation, inviter_email: str) -> dict[str, Any]:
    """Email a pending invitation again and extend its expiry (in the caller's transaction)."""
    now = utcnow()
    inv.last_sent_at, inv.send_count, inv.expires_at = now, inv.send_count + 1, now + _ttl(ctx)
    _invitation_email(s, ctx, inviter_email, inv.email, inv.id, inv.expires_at)
    return _out(inv)


@router.post("", response_model=list[InvitationOut], summary="Invite people by email")
def invite(body: InviteIn, principal: KeyWriter, ctx: Ctx, tasks: BackgroundTasks) -> Response:
    """For each email without an account or key: a temporary key (held by the key server) and an
    invitation email. Already invited (pending): the same invitation, no new email (see resend).
    Registered people: status `registered`, nothing is created."""
    if not principal.email_verified:
        raise Problem(
            403, "Email not verified", "Verify your email address before inviting people.", "email-unverified"
        )
    expire_old(ctx)
    with log_service(ctx).transaction() as (s, log):
        out = create_invitations(ctx, s, log, principal.user_id, principal.email, body.emails)
    deliver_later(tasks, ctx)
    return _json(out)


@router.get("", response_model=list[InvitationOut], summary="Invitations you sent")
def list_invitations(principal: KeyReader, ctx: Ctx) -> Response:
    expire_old(ctx)
    with ctx.db.session() as s:
        rows = (
            s.execute(
                select(Invitation)
                .where(Invitation.inviter_id == principal.user_id)
                .order_by(Invitation.created_at, Invitation.id)
            )
            .scalars()
            .all()
        )
        return _json([_out(r) for r in rows])


@router.post("/{invitation_id}/resend", response_model=InvitationOut, summary="Send an invitation again")
def resend(invitation_id: str, principal: KeyWriter, ctx: Ctx, tasks: BackgroundTasks) -> Response:
    """Email the invitation again and extend its expiry (pending invitations you sent)."""
    expire_old(ctx)
    with ctx.db.session() as s:
        inv = s.get(Invitation, invitation_id)
        if inv is None or inv.inviter_id != principal.user_id:
            raise not_found("invitation")
        if inv.status != "pending":
            raise Problem(409, "Conflict", f"This invitation is {inv.status}.", "invitation-not-pending")
        out = send_again(ctx, s, inv, principal.email)
    deliver_later(tasks, ctx)
    return _json(out)


@router.get("/key", response_model=TemporaryKeyOut, summary="The temporary key of an invited email")
def temporary_key(principal: KeyReader, ctx: Ctx, email: Annotated[str, Query(max_length=320)]) -> Response:
    """The temporary key of a pending invitation (404 when there is none, or the person has their own key),
    with its `tempkey` log entry, inclusion proof and the signed checkpoint. Not zero-trust: the key server
    holds its private key until the person registers."""
    expire_old(ctx)
    email = canonical_email(email)
    ehash = email_hash(email)
    svc = log_service(ctx)
    with ctx.db.session() as s:
        if s.execute(select(RegistryKey.user_id).where(RegistryKey.email_hash == ehash)).first() is not None:
            raise Problem(404, "Not Found", "This person has their own key: look it up in the registry.", "no-key")
        org = org_lookup.check(s, principal, email)  # deactivated members, cross-organization policy
        row = s.execute(
            select(Invitation, LogEntry.data)
            .join(LogEntry, LogEntry.idx == Invitation.log_index)
            .where(Invitation.email_hash == ehash, Invitation.status == "pending")
        ).first()
        if row is None:
            raise Problem(404, "Not Found", "No pending invitation for this email address.", "no-key")
        inv, data = row
        size, root = svc.state(s)
        proof = svc.inclusion_proof(s, inv.log_index, size)
    return _json(
        {
            "email": inv.email,
            "public_key": inv.public_key,
            "fingerprint": inv.fingerprint,
            "temporary": True,
            "zero_trust": False,
            "expires_at": rfc3339(inv.expires_at),
            "log_index": inv.log_index,
            "entry": data,
            "tree_size": size,
            "checkpoint": svc.signed_checkpoint(size, root).decode(),
            "inclusion_proof": [b64(h) for h in proof],
            **({"org": org} if org is not None else {}),
        }
    )


@router.post("/claim", response_model=ClaimOut, summary="Receive your temporary private key, once")
def claim(body: ClaimIn, principal: KeyWriter, ctx: Ctx) -> Response:
    """For an invited person who now has an account (verified email) and a published key: the temporary
    private key sealed to that published key. It is then destroyed; a second claim finds nothing (404)."""
    if not principal.email_verified:
        raise Problem(403, "Email not verified", "Verify your email address first.", "email-unverified")
    try:
        key = PublicKey.parse(body.public_key)
    except RecipientError as e:
        raise Problem(422, "Bad public key", str(e), "bad-public-key") from None
    expire_old(ctx)
    ehash = email_hash(principal.email)
    ks = keyserver(ctx)
    with log_service(ctx).transaction() as (s, log):
        published = s.execute(select(RegistryKey.public_key).where(RegistryKey.user_id == principal.user_id)).scalar()
        if published is None or PublicKey.parse(published).key_id != key.key_id:
            raise Problem(
                409,
                "Publish your key first",
                "The temporary key is released only to your published registry key.",
                "key-not-published",
            )
        inv = s.execute(
            select(Invitation)
            .where(
                Invitation.email_hash == ehash, Invitation.status == "pending", Invitation.sealed_secret.is_not(None)
            )
            .with_for_update()
        ).scalar()
        if inv is None:
            raise not_found("temporary key")
        try:
            seeds = ks.private_open(inv.sealed_secret, _SECRET_INFO + ehash.encode())
        except C11Error:
            raise Problem(500, "Internal Server Error", "The temporary key does not open.") from None
        sealed = ks.public_seal(seeds, _RELEASE_INFO + ehash.encode() + key.key_id, to=key)
        inv.sealed_secret, inv.status, inv.accepted_at = None, "accepted", utcnow()
        log.append(
            "tempkey",
            {"action": "release"},
            person=ehash,
            private={"fingerprint": inv.fingerprint, "to": key.fingerprint},
        )
        out = {
            "email": inv.email,
            "public_key": inv.public_key,
            "fingerprint": inv.fingerprint,
            "sealed": base64.b64encode(sealed).decode(),
        }
    return _json(out)
