"""Sends and share links (docs/sharing.md): records, per-recipient status, limits, revocation, emails, log entries.

A send (kind "send") has one version, an expiry and a download limit; a share link (kind "link") has versions (the
latest is served; `retention` are kept). The content of a version is an *envelope* (a c11 file for the recipients
that names the files and their blobs and carries the message) plus the blobs (complete uploads of the sender,
each a `.c11` file). Recipients are people (emails) who log in: the link carries no key and no capability.

Log entries (kind `send`, v2: the sender or recipient is named only in the opening): `create`, `open` (first
time per recipient), `download`, `update` (a new version of a link), `revoke`. The events indexer shows them as
usage events.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from c11.log.entries import email_hash, rfc3339
from c11.notify.outbox import DEAD, SENT
from c11.server.accounts.models import User
from c11.server.accounts.schemas import canonical_email
from c11.server.auth import Principal
from c11.server.context import ServerContext
from c11.server.db import new_id, utcnow
from c11.server.logsrv.service import log_service
from c11.server.outbox.models import OutboxMessage
from c11.server.outbox.service import notify
from c11.server.problems import Problem, not_found
from c11.server.sharing.models import Send, SendRecipient, SendVersion
from c11.server.storage import StorageError
from c11.server.uploads.models import COMPLETE, Upload
from c11.server.uploads.service import object_key, uploads

MAX_RECIPIENTS = 100
MAX_BLOBS = 1000
KINDS = ("send", "link")
#: A download may fetch its version's files (resumed ranges included) up to this many times their size in bytes.
DOWNLOAD_BUDGET = 2
#: Slack added to a download's byte budget (small files resumed a few times).
DOWNLOAD_SLACK = 16 << 10
#: Most sends and requests whose ciphertext one purge run deletes.
PURGE_BATCH = 50


def link_of(ctx: ServerContext, send_id: str) -> str:
    """The link a recipient gets: `<server>/r/<id>` (no key, no token: recipients log in)."""
    return f"{ctx.config.base_url}/r/{send_id}"


@dataclass(frozen=True)
class Blob:
    id: str
    size: int
    sha256: str


def _blobs(text: str) -> list[Blob]:
    return [Blob(b["id"], int(b["size"]), b["sha256"]) for b in json.loads(text)]


def _attach(s: Session, owner: str, ids: Sequence[str], send_id: str) -> list[Blob]:
    if len(ids) > MAX_BLOBS or len(set(ids)) != len(ids):
        raise Problem(422, "Bad blobs", f"Give at most {MAX_BLOBS} distinct uploads.", "bad-blobs")
    rows = {u.id: u for u in s.scalars(select(Upload).where(Upload.id.in_(list(ids)))).all()} if ids else {}
    found = []
    for i in ids:
        u = rows.get(i)
        if u is None or u.owner != owner or u.status != COMPLETE or u.attached_to is not None:
            raise Problem(
                422,
                "Upload not usable",
                f"Upload {i[:12]}… is not a complete upload of yours that no send uses yet.",
                "upload-not-usable",
            )
        found.append(Blob(u.id, u.length, u.sha256 or ""))
    if ids:
        s.execute(update(Upload).where(Upload.id.in_(list(ids))).values(attached_to=send_id))
    return found


def _dump(blobs: list[Blob]) -> str:
    return json.dumps([{"id": b.id, "size": b.size, "sha256": b.sha256} for b in blobs], separators=(",", ":"))


def create(
    ctx: ServerContext,
    who: Principal,
    *,
    kind: str,
    recipients: Sequence[str],
    envelope: bytes,
    blob_ids: Sequence[str],
    expires_at: datetime | None,
    max_downloads: int | None,
    retention: int | None,
    send_id: str | None = None,
) -> dict[str, Any]:
    """`send_id`: the ID the sender's client chose (it signs it into the envelope), or None for a new one."""
    if kind not in KINDS:
        raise Problem(422, "Bad kind", "kind is send or link.", "bad-kind")
    emails = list(dict.fromkeys(canonical_email(e) for e in recipients))
    if not emails or len(emails) > MAX_RECIPIENTS:
        raise Problem(422, "Bad recipients", f"Give 1 to {MAX_RECIPIENTS} recipients.", "bad-recipients")
    if expires_at is not None and expires_at <= utcnow():
        raise Problem(422, "Bad expiry", "The expiry is in the past.", "bad-expiry")
    if kind == "link" and max_downloads is not None:
        raise Problem(422, "Bad limit", "Share links have no download limit.", "bad-limit")
    keep = max(1, min(retention or ctx.config.share_retention, 100)) if kind == "link" else 1
    send_id = send_id or new_id()
    sender_hash = email_hash(who.email)
    with log_service(ctx).transaction() as (s, log):
        if s.get(Send, send_id) is not None:
            raise Problem(409, "ID in use", "A send with this ID exists; choose another random ID.", "send-id-in-use")
        blobs = _attach(s, f"user:{who.user_id}", blob_ids, send_id)
        index = log.append(
            "send",
            {
                "action": "create",
                "send": send_id,
                "link": kind == "link",
                "files": len(blobs),
                "size": sum(b.size for b in blobs),
                "recipients": len(emails),
            },
            subject=send_id,
            person=sender_hash,
            private={"to": [email_hash(e) for e in emails]},
        )
        s.add(
            Send(
                id=send_id,
                kind=kind,
                sender_id=who.user_id,
                expires_at=expires_at,
                max_downloads=max_downloads,
                downloads=0,
                version=1,
                retention=keep,
                log_index=index,
            )
        )
        s.flush()
        s.add(
            SendVersion(
                send_id=send_id, version=1, envelope=envelope, blobs=_dump(blobs), size=sum(b.size for b in blobs)
            )
        )
        link = link_of(ctx, send_id)
        for e in emails:
            outbox_id = notify(s, ctx.config.base_url, "document_shared", e, sender=who.email, link=link)
            s.add(
                SendRecipient(
                    send_id=send_id,
                    email=e,
                    email_hash=email_hash(e),
                    outbox_id=outbox_id,
                    emailed_at=utcnow(),
                    downloads=0,
                )
            )
    ctx.wake_delivery()
    return {"id": send_id, "link": link, "log_index": index}


def _own(s: Session, who: Principal, send_id: str) -> Send:
    row = s.get(Send, send_id)
    if row is None or row.sender_id != who.user_id:
        raise not_found("send")
    return row


def _status(send: Send, r: SendRecipient, mail: tuple[str, datetime | None] | None, now: datetime) -> str:
    """The recipient's latest step: revoked, expired, downloaded, opened, then the email's: delivered (the mail
    transport accepted it), undelivered (the outbox gave up on it) or emailed (queued)."""
    if send.revoked_at is not None:
        return "revoked"
    if send.expires_at is not None and send.expires_at <= now:
        return "expired"
    if r.downloads:
        return "downloaded"
    if r.opened_at is not None:
        return "opened"
    if mail is not None and mail[0] == SENT:
        return "delivered"
    if mail is not None and mail[0] == DEAD:
        return "undelivered"
    return "emailed"


def _summary(send: Send, now: datetime, recipients: int) -> dict[str, Any]:
    """The send's state; "used up" once every recipient used their `max_downloads`."""
    state = "active"
    if send.revoked_at is not None:
        state = "revoked"
    elif send.expires_at is not None and send.expires_at <= now:
        state = "expired"
    elif send.max_downloads is not None and send.downloads >= send.max_downloads * max(recipients, 1):
        state = "used up"
    return {
        "id": send.id,
        "kind": send.kind,
        "state": state,
        "created_at": rfc3339(send.created_at),
        "expires_at": rfc3339(send.expires_at) if send.expires_at else None,
        "max_downloads": send.max_downloads,
        "downloads": send.downloads,
        "version": send.version,
        "retention": send.retention,
        "revoked_at": rfc3339(send.revoked_at) if send.revoked_at else None,
        "revoked_log_index": send.revoked_log_index,
        "log_index": send.log_index,
    }


def listing(ctx: ServerContext, who: Principal, kind: str | None, limit: int = 200) -> list[dict[str, Any]]:
    now = utcnow()
    with ctx.db.session() as s:
        q = select(Send).where(Send.sender_id == who.user_id)
        if kind:
            q = q.where(Send.kind == kind)
        sends = s.scalars(q.order_by(Send.created_at.desc()).limit(limit)).all()
        counts: dict[str, int] = {}
        for sid in s.scalars(select(SendRecipient.send_id).where(SendRecipient.send_id.in_([x.id for x in sends]))):
            counts[sid] = counts.get(sid, 0) + 1
    return [
        {**_summary(x, now, counts.get(x.id, 0)), "link": link_of(ctx, x.id), "recipients": counts.get(x.id, 0)}
        for x in sends
    ]


def show(ctx: ServerContext, who: Principal, send_id: str) -> dict[str, Any]:
    now = utcnow()
    with ctx.db.session() as s:
        send = _own(s, who, send_id)
        rs = s.scalars(
            select(SendRecipient).where(SendRecipient.send_id == send_id).order_by(SendRecipient.email)
        ).all()
        ids = [r.outbox_id for r in rs if r.outbox_id]
        outbox: dict[str, tuple[str, datetime | None]] = {
            m: (status, sent)
            for m, status, sent in s.execute(
                select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.sent_at).where(OutboxMessage.id.in_(ids))
            ).all()
        }
        version = s.get(SendVersion, (send_id, send.version))
    return {
        **_summary(send, now, len(rs)),
        "link": link_of(ctx, send.id),
        "files": len(_blobs(version.blobs)) if version else 0,
        "size": version.size if version else 0,
        "recipients": [
            {
                "email": r.email,
                "status": _status(send, r, outbox.get(r.outbox_id or ""), now),
                "emailed_at": rfc3339(r.emailed_at) if r.emailed_at else None,
                "delivered_at": _delivered_at(outbox.get(r.outbox_id or "")),
                "opened_at": rfc3339(r.opened_at) if r.opened_at else None,
                "downloaded_at": rfc3339(r.downloaded_at) if r.downloaded_at else None,
                "downloads": r.downloads,
            }
            for r in rs
        ],
    }


def _delivered_at(mail: tuple[str, datetime | None] | None) -> str | None:
    """When the mail transport accepted the recipient's email, or None."""
    return rfc3339(mail[1]) if mail is not None and mail[0] == SENT and mail[1] is not None else None


def _delete_blobs(ctx: ServerContext, s: Session, blobs: list[Blob]) -> None:
    store = uploads(ctx).store
    for b in blobs:
        try:
            store.delete(object_key(b.id))
        except StorageError:
            pass  # the cleanup of unattached uploads retries
    if blobs:
        s.execute(delete(Upload).where(Upload.id.in_([b.id for b in blobs])))


def revoke(ctx: ServerContext, who: Principal, send_id: str) -> dict[str, Any]:
    """Revoke at once: recipients are refused from now on, the ciphertext is deleted, and a log entry proves it."""
    with log_service(ctx).transaction() as (s, log):
        send = _own(s, who, send_id)
        if send.revoked_at is None:
            index = log.append(
                "send",
                {"action": "revoke", "send": send_id, "link": send.kind == "link"},
                subject=send_id,
                person=email_hash(who.email),
                private={},
            )
            s.execute(update(Send).where(Send.id == send_id).values(revoked_at=utcnow(), revoked_log_index=index))
            blobs = [
                b for v in s.scalars(select(SendVersion).where(SendVersion.send_id == send_id)) for b in _blobs(v.blobs)
            ]
            _delete_blobs(ctx, s, blobs)
        s.flush()
        s.refresh(send)
        count = s.scalar(select(func.count()).select_from(SendRecipient).where(SendRecipient.send_id == send_id))
        return _summary(send, utcnow(), int(count or 0))


def add_version(
    ctx: ServerContext,
    who: Principal,
    send_id: str,
    envelope: bytes,
    blob_ids: Sequence[str],
    expected: int | None = None,
) -> dict[str, Any]:
    """A share link's new version; versions beyond its retention are deleted with their ciphertext. `expected`:
    the version number the sender's client signed into the envelope (refused unless it is the next one)."""
    with log_service(ctx).transaction() as (s, log):
        send = _own(s, who, send_id)
        if send.kind != "link":
            raise Problem(
                409, "Not a share link", "Only share links get new versions; send again instead.", "not-a-link"
            )
        _refuse_closed(send)
        version = send.version + 1
        if expected is not None and expected != version:
            raise Problem(
                409,
                "Version conflict",
                f"The link's next version is {version}, not {expected}: another update came first; update again.",
                "version-conflict",
            )
        blobs = _attach(s, f"user:{who.user_id}", blob_ids, send_id)
        s.add(
            SendVersion(
                send_id=send_id, version=version, envelope=envelope, blobs=_dump(blobs), size=sum(b.size for b in blobs)
            )
        )
        s.execute(update(Send).where(Send.id == send_id).values(version=version))
        old = s.scalars(
            select(SendVersion).where(SendVersion.send_id == send_id, SendVersion.version <= version - send.retention)
        ).all()
        _delete_blobs(ctx, s, [b for v in old for b in _blobs(v.blobs)])
        if old:
            s.execute(
                delete(SendVersion).where(
                    SendVersion.send_id == send_id, SendVersion.version <= version - send.retention
                )
            )
        index = log.append(
            "send",
            {
                "action": "update",
                "send": send_id,
                "version": version,
                "files": len(blobs),
                "size": sum(b.size for b in blobs),
            },
            subject=send_id,
            person=email_hash(who.email),
            private={},
        )
    return {"id": send_id, "version": version, "log_index": index, "link": link_of(ctx, send_id)}


# -- recipients ---------------------------------------------------------------------------------------------


def _refuse_closed(send: Send) -> None:
    if send.revoked_at is not None:
        raise Problem(
            410,
            "Revoked",
            f"The sender revoked this {'share link' if send.kind == 'link' else 'send'} on {rfc3339(send.revoked_at)}.",
            "send-revoked",
        )
    if send.expires_at is not None and send.expires_at <= utcnow():
        raise Problem(410, "Expired", f"This link expired on {rfc3339(send.expires_at)}.", "send-expired")


def _recipient(s: Session, who: Principal, send_id: str) -> tuple[Send, SendRecipient]:
    send = s.get(Send, send_id)
    r = (
        s.scalars(
            select(SendRecipient).where(
                SendRecipient.send_id == send_id, SendRecipient.email_hash == email_hash(who.email)
            )
        ).first()
        if send is not None
        else None
    )
    if send is None or r is None or not who.email_verified:
        raise Problem(
            404,
            "Not Found",
            "No such send for this account: log in with the email address the link was sent to.",
            "not-found",
        )
    return send, r


def latest(ctx: ServerContext, who: Principal, send_id: str) -> dict[str, Any]:
    """A recipient's cheap look at a link (an open page asks it often): its current version, or the 410 that
    `receive` would answer. Read only: no log entry, no envelope."""
    with ctx.db.session() as s:
        send, r = _recipient(s, who, send_id)
        _refuse_closed(send)
        if send.max_downloads is not None and r.downloads >= send.max_downloads:
            raise _used_up()
        return {"id": send.id, "kind": send.kind, "version": send.version}


def receive(ctx: ServerContext, who: Principal, send_id: str) -> dict[str, Any]:
    """What a recipient sees: the sender, the latest envelope and its blobs (the first time: an `open` entry)."""
    with log_service(ctx).transaction() as (s, log):
        send, r = _recipient(s, who, send_id)
        _refuse_closed(send)
        if send.max_downloads is not None and r.downloads >= send.max_downloads:
            raise _used_up()
        if r.opened_at is None:
            log.append("send", {"action": "open", "send": send_id}, subject=send_id, person=r.email_hash, private={})
            s.execute(update(SendRecipient).where(SendRecipient.id == r.id).values(opened_at=utcnow()))
        version = s.get(SendVersion, (send_id, send.version))
        sender = s.get(User, send.sender_id)
        assert version is not None and sender is not None
        return {
            "id": send.id,
            "kind": send.kind,
            "sender": sender.email,
            "version": send.version,
            "envelope": version.envelope,
            "blobs": [{"id": b.id, "size": b.size, "sha256": b.sha256} for b in _blobs(version.blobs)],
            "expires_at": rfc3339(send.expires_at) if send.expires_at else None,
            "max_downloads": send.max_downloads,
            "downloads": r.downloads,  # this recipient's (the limit is per recipient)
        }


def _used_up() -> Problem:
    return Problem(410, "Download limit reached", "You reached this send's download limit.", "send-used-up")


def _key(download_id: str) -> str:
    return hashlib.sha256(download_id.encode()).hexdigest()


def download(
    ctx: ServerContext,
    who: Principal,
    send_id: str,
    blob_id: str,
    start: int,
    end: int | None,
    download_id: str | None = None,
) -> tuple[int, Iterator[bytes], str | None]:
    """A blob of a retained version for a recipient: (size, bytes [start, end), the new download's ID or None).

    Without `download_id` (the `X-C11-Download` header), reading any blob from byte 0 starts a *download*: one of
    the recipient's `max_downloads`, for the files of the version holding that blob, with a byte budget of
    DOWNLOAD_BUDGET times their size (plus slack); its ID (answered once, stored as a SHA-256) then fetches the
    other files and resumed ranges. A newer download replaces the older one."""
    with log_service(ctx).transaction() as (s, log):
        send, r = _recipient(s, who, send_id)
        _refuse_closed(send)
        versions = s.scalars(select(SendVersion).where(SendVersion.send_id == send_id)).all()
        found = [
            (v.version, bs, b) for v, bs in ((v, _blobs(v.blobs)) for v in versions) for b in bs if b.id == blob_id
        ]
        if not found:
            raise not_found("file in this send")
        version, files, blob = max(found, key=lambda x: x[0])
        if start >= blob.size and blob.size:
            raise Problem(416, "Range Not Satisfiable", f"The file has {blob.size} bytes.", "bad-range")
        length = (blob.size if end is None else min(end, blob.size)) - start
        made: str | None = None
        if download_id is None:
            if start:
                raise Problem(
                    409,
                    "Not part of a download",
                    "A range resumes a download: send its X-C11-Download ID (a download starts at byte 0).",
                    "download-order",
                )
            if send.max_downloads is not None:
                done = s.execute(
                    update(SendRecipient)
                    .where(SendRecipient.id == r.id, SendRecipient.downloads < send.max_downloads)
                    .values(downloads=SendRecipient.downloads + 1)
                ).rowcount
                if not done:
                    raise _used_up()
            else:
                s.execute(
                    update(SendRecipient).where(SendRecipient.id == r.id).values(downloads=SendRecipient.downloads + 1)
                )
            made = secrets.token_urlsafe(24)
            budget = DOWNLOAD_BUDGET * sum(b.size for b in files) + DOWNLOAD_SLACK - length
            s.execute(
                update(SendRecipient)
                .where(SendRecipient.id == r.id)
                .values(downloaded_at=utcnow(), download_key=_key(made), download_version=version, download_left=budget)
            )
            s.execute(update(Send).where(Send.id == send_id).values(downloads=Send.downloads + 1))
            log.append(
                "send", {"action": "download", "send": send_id}, subject=send_id, person=r.email_hash, private={}
            )
        else:
            if (
                r.download_key is None
                or not hmac.compare_digest(r.download_key, _key(download_id))
                or r.download_version != version
            ):
                raise Problem(
                    409,
                    "Not part of this download",
                    "This download ID is unknown, replaced by a newer download, or for other files: start again.",
                    "download-unknown",
                )
            if not s.execute(
                update(SendRecipient)
                .where(SendRecipient.id == r.id, SendRecipient.download_left >= length)
                .values(download_left=SendRecipient.download_left - length)
            ).rowcount:
                raise Problem(
                    409,
                    "Download finished",
                    "This download fetched its files' bytes already: start a new download.",
                    "download-unknown",
                )
    return blob.size, uploads(ctx).read(blob_id, start, end), made


# -- purge --------------------------------------------------------------------------------------------------


def purge(ctx: ServerContext, limit: int = PURGE_BATCH) -> int:
    """Delete the ciphertext of up to `limit` expired or revoked sends (their versions keep no blob); a
    revocation deletes at once, this catches expiries and deletions that failed. Returns how many sends."""
    now = utcnow()
    with ctx.db.session() as s:
        ids = s.scalars(
            select(SendVersion.send_id)
            .join(Send, Send.id == SendVersion.send_id)
            .where(
                SendVersion.blobs != "[]",
                or_(Send.revoked_at.is_not(None), Send.expires_at <= now),
            )
            .distinct()
            .limit(limit)
        ).all()
    for send_id in ids:
        with ctx.db.session() as s:
            versions = s.scalars(select(SendVersion).where(SendVersion.send_id == send_id)).all()
            _delete_blobs(ctx, s, [b for v in versions for b in _blobs(v.blobs)])
            s.execute(update(SendVersion).where(SendVersion.send_id == send_id).values(blobs="[]"))
    return len(ids)
