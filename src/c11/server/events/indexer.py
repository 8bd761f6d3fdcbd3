"""The events indexer: reads new log entries and derives each organization's usage events from them.

Incremental and idempotent: `usage_index_state.next_idx` is the next entry to read; each batch of entries,
its events and the new position commit together, under a lock on the state row (`SELECT ... FOR UPDATE`
on PostgreSQL, SQLite's write lock), so two server processes never index an entry twice. Events are
inserted with "on conflict do nothing", so re-reading entries (after resetting the state) changes nothing;
the rows actually inserted are counted into the per-day rollups (`events.rollup`) in the same transaction.

Which organization an event belongs to: the actor's, when the actor's email hash is the hash of a member's
email and the member consented (`consented_at`; an invitation is not consent) before the entry; and, for
document events (open, refused open, revoke, share...), the organization that protected the document (its
`protect` event). Admin entries name theirs.

v2 entries (docs/log.md section 7) name nobody publicly: the indexer reads their openings (`log_openings`,
one query per batch) and sees them as the v1 entry they replace (`_v1_view`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from c11.log.entries import email_hash
from c11.log.openings import is_v2
from c11.server.context import ServerContext
from c11.server.db import utcnow
from c11.server.events import rollup
from c11.server.events.models import UsageEvent, UsageIndexState
from c11.server.logsrv.models import LogEntry, LogOpening, LogState
from c11.server.orgs.models import Organization, OrgMember

#: Log entries read (and committed with their events) per transaction.
BATCH = 5000
#: Every action an event can have.
ACTIONS = (
    "protect",
    "open",
    "refused_open",
    "share",
    "revoke",
    "restore",
    "expiry",
    "invite",
    "key_change",
    "admin",
    "shard",
)
#: Actions of `send` entries (sends and share links) as usage events (a new send is a `protect`, so the later events
#: of its recipients belong to the sender's organization too); `op` in the detail keeps the entry's.
_SEND_ACTIONS = {"create": "protect", "update": "share", "open": "open", "download": "open", "revoke": "revoke"}
#: Actions of `request` entries (Secure Document Request) as usage event actions (`op` keeps the entry's).
_REQUEST_ACTIONS = {"create": "share", "open": "open", "submit": "share", "download": "open", "cancel": "revoke"}
#: An `encrypt` entry this soon after the same person's online `protect` describes that same encryption.
_MERGE_WINDOW = timedelta(minutes=10)
_MAX_LIST = 50
_ADMIN_FIELDS = ("action", "actor", "doc", "org", "target", "kind", "time")


@dataclass
class _Member:
    id: str
    org_id: str
    added_at: datetime


@dataclass
class _Batch:
    """What one batch needs besides its entries: members by email hash, documents' organizations."""

    members: dict[str, _Member]
    orgs: set[str]
    doc_orgs: dict[str, set[str]] = field(default_factory=dict)
    rows: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    #: (org, actor) -> their latest protect event in this batch (an `encrypt` entry may describe it).
    last_protect: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


class Indexer:
    """One per application (`indexer(ctx)`): email-hash cache and the in-process lock."""

    def __init__(self, ctx: ServerContext) -> None:
        self.db = ctx.db
        self._hashes: dict[str, str] = {}
        self._lock = threading.Lock()
        self._postgres = self.db.engine.dialect.name == "postgresql"

    # -- running ------------------------------------------------------------------------------------------

    def pending(self, s: Session | None = None) -> tuple[int, int]:
        """(next entry to index, log size): one query (in `s`, or in a session of its own)."""
        if s is None:
            with self.db.session() as own:
                return self.pending(own)
        done, size = s.execute(
            select(
                select(UsageIndexState.next_idx).where(UsageIndexState.id == 1).scalar_subquery(),
                select(LogState.size).where(LogState.id == 1).scalar_subquery(),
            )
        ).one()
        return done or 0, size or 0

    def run(self) -> int:
        """Index every log entry not yet indexed; returns how many entries were read (0: up to date)."""
        return self.catch_up()[1]

    def catch_up(self, s: Session | None = None) -> tuple[int, int]:
        """Index what is new; (entries indexed in all, entries read now). When up to date, one query (in
        `s` if given: a read-only session)."""
        done, size = self.pending(s)
        if done >= size:
            return done, 0
        read = 0
        with self._lock:
            while True:
                done, n = self._one_batch()
                read += n
                if n < BATCH:
                    return done, read

    def _one_batch(self) -> tuple[int, int]:
        with self.db.session() as s:
            start = self._lock_state(s)
            entries = s.execute(
                select(LogEntry.idx, LogEntry.kind, LogEntry.data, LogEntry.created_at)
                .where(LogEntry.idx >= start)
                .order_by(LogEntry.idx)
                .limit(BATCH)
            ).all()
            if not entries:
                return start, 0
            self._index(s, entries)
            s.execute(
                update(UsageIndexState)
                .where(UsageIndexState.id == 1)
                .values(next_idx=entries[-1].idx + 1, updated_at=utcnow())
            )
            return entries[-1].idx + 1, len(entries)

    def _lock_state(self, s: Session) -> int:
        """The next index, with the state row locked until the transaction ends (created when missing)."""
        if not self._postgres:  # SQLite: take the database write lock first, then read
            s.execute(update(UsageIndexState).where(UsageIndexState.id == 1).values(next_idx=UsageIndexState.next_idx))
        found = s.execute(select(UsageIndexState.next_idx).where(UsageIndexState.id == 1).with_for_update()).scalar()
        if found is not None:
            return found
        s.execute(self._insert_ignore(UsageIndexState).values(id=1, next_idx=0, updated_at=utcnow()))
        return s.execute(select(UsageIndexState.next_idx).where(UsageIndexState.id == 1).with_for_update()).scalar_one()

    def _insert_ignore(self, table: Any) -> Any:
        ins = postgresql.insert(table) if self._postgres else sqlite.insert(table)
        return ins.on_conflict_do_nothing()

    # -- deriving events ----------------------------------------------------------------------------------

    def _hash(self, email: str) -> str:
        h = self._hashes.get(email)
        if h is None:
            h = self._hashes[email] = email_hash(email)
        return h

    def _members(self, s: Session) -> dict[str, _Member]:
        return {
            self._hash(email): _Member(mid, org, added)
            for mid, org, email, added in s.execute(
                select(
                    OrgMember.id,
                    OrgMember.org_id,
                    OrgMember.email,
                    func.coalesce(OrgMember.consented_at, OrgMember.added_at),
                ).where(OrgMember.consent.is_not(None))
            )
        }  # invited, not accepted: not the org's to see

    def _index(self, s: Session, entries: Iterable[Any]) -> None:
        entries = list(entries)
        batch = _Batch(self._members(s), set(s.scalars(select(Organization.id))))
        docs = set()
        parsed = []
        for e in entries:
            try:
                d = json.loads(e.data)
            except ValueError:
                continue
            if not isinstance(d, dict):
                continue
            parsed.append((e, d))
            if isinstance(d.get("doc"), str):
                docs.add(d["doc"])
        sealed = [e.idx for e, d in parsed if is_v2(d)]
        if sealed:
            openings = dict(
                s.execute(
                    select(LogOpening.log_index, LogOpening.private).where(
                        LogOpening.log_index >= sealed[0], LogOpening.log_index <= sealed[-1]
                    )
                ).all()
            )
            parsed = [(e, _v1_view(e.kind, d, openings.get(e.idx)) if is_v2(d) else d) for e, d in parsed]
        if docs:
            for doc, org in s.execute(
                select(UsageEvent.doc_id, UsageEvent.org_id).where(
                    UsageEvent.doc_id.in_(sorted(docs)), UsageEvent.action == "protect"
                )
            ):
                batch.doc_orgs.setdefault(doc, set()).add(org)
        for e, d in parsed:
            _derive(s, batch, e.idx, e.kind, d, e.created_at)
        if batch.rows:
            inserted = s.execute(
                self._insert_ignore(UsageEvent).returning(UsageEvent.org_id, UsageEvent.log_index),
                list(batch.rows.values()),
            ).all()  # only rows not there before (entries read again after a reset add nothing)
            rollup.add(s, (batch.rows[(org, idx)] for org, idx in inserted), self._postgres)


#: Where a v1 entry of each kind named the person a v2 entry's opening names (`person`).
_PERSON_FIELD = {"release": "who", "shard": "who", "policy": "author", "encrypt": "author"}


def _v1_view(kind: str, d: dict[str, Any], private: str | None) -> dict[str, Any]:
    """A v2 entry with its opening merged in, as the v1 entry it replaces (no opening: nobody named)."""
    try:
        hidden = json.loads(private) if private is not None else {}
    except ValueError:
        hidden = {}
    if not isinstance(hidden, dict):
        hidden = {}
    person = hidden.pop("person", None)
    if kind == "admin":  # the actor is `by` in the opening (log.openings.admin_parts)
        actor = hidden.pop("by", None)
        return {**{k: v for k, v in d.items() if k not in ("actor", "v")}, **hidden, "actor": actor}
    field = _PERSON_FIELD.get(kind) or ("by" if d.get("action") == "create" else "email_hash")
    return {**{k: v for k, v in d.items() if k not in ("actor", "v")}, **hidden, field: person}


def _small(v: Any) -> bool:
    """A value an admin entry may carry into an event's detail: a number, a flag or a short string."""
    return isinstance(v, (bool, int)) or (isinstance(v, str) and len(v) <= 64)


def _str(v: Any, limit: int = 64) -> str | None:
    return v[:limit] if isinstance(v, str) and v else None


def _org_of(batch: _Batch, ehash: str | None, at: datetime) -> _Member | None:
    m = batch.members.get(ehash) if ehash else None
    return m if m is not None and m.added_at <= at else None


def _derive(s: Session, batch: _Batch, idx: int, kind: str, d: dict[str, Any], at: datetime) -> None:
    """Add the events of entry `idx` to `batch.rows` (by org)."""
    action = d.get("action")
    if kind == "release":
        ev = (
            "open" if d.get("result") == "allowed" else "refused_open",
            _str(d.get("who")),
            _str(d.get("doc")),
            None,
            {"key": _str(d.get("key"), 32)},
        )
    elif kind == "policy":
        ev = _policy_event(action, d)
    elif kind == "encrypt":
        _encrypt_event(s, batch, idx, d, at)
        return
    elif kind == "key" and action in ("publish", "change", "remove"):
        ev = ("key_change", _str(d.get("email_hash")), None, None, {"op": action, **_fingerprint(d)})
    elif kind == "tempkey" and action in ("create", "release", "expire"):
        op = {"create": "create", "release": "accept", "expire": "expire"}[action]
        actor = _str(d.get("by")) if action == "create" else _str(d.get("email_hash")) if action == "release" else None
        ev = ("invite", actor, None, _str(d.get("email_hash")), {"op": op})
        if actor is None:  # an expiry (or an old entry without `by`): the invitee's organization
            m = _org_of(batch, ev[3], at)
            if m is not None:
                _add(batch, m.org_id, idx, at, ev, None, _target_member(batch, m.org_id, ev[3]))
            return
    elif kind == "admin":
        org = _str(d.get("org"), 32)
        if org is None or org not in batch.orgs:
            return
        extra = {k: v for k, v in d.items() if k not in _ADMIN_FIELDS and _small(v)}
        ev = (
            "admin",
            _str(d.get("actor")),
            _str(d.get("doc")),
            _str(d.get("target")),
            {"op": _str(action, 48), **extra},
        )
        m = _org_of(batch, ev[1], at)
        _add(
            batch,
            org,
            idx,
            at,
            ev,
            m.id if m is not None and m.org_id == org else None,
            _target_member(batch, org, ev[3]),
        )
        return
    elif kind == "send" and action in _SEND_ACTIONS:  # sends and share links (docs/sharing.md)
        actor = _str(d.get("by")) if action == "create" else _str(d.get("email_hash"))
        detail = {"op": action, "via": "link" if d.get("link") else "send"}
        detail.update({k: d[k] for k in ("files", "size", "recipients", "version") if isinstance(d.get(k), int)})
        ev = (_SEND_ACTIONS[action], actor, _str(d.get("send")), None, detail)
    elif kind == "request" and action in _REQUEST_ACTIONS:  # document requests (docs/sharing.md): the requester's
        actor = _str(d.get("by")) or _str(d.get("email_hash"))
        ev = (_REQUEST_ACTIONS[action], actor, _str(d.get("request")), None, {"op": action, "via": "request"})
    elif kind == "shard":
        actor = _str(d.get("who")) or _str(d.get("email_hash"))
        ev = ("shard", actor, None, None, {"op": _str(action, 48), "store": _str(d.get("store"), 200)})
    else:
        return
    if ev is None:
        return
    _spread(batch, idx, at, ev)


def _policy_event(action: Any, d: dict[str, Any]) -> tuple | None:
    doc, author = _str(d.get("doc")), _str(d.get("author"))
    if action == "register":
        return "protect", author, doc, None, {"online": True}
    if action == "revoke":
        return "revoke", author, doc, None, {}
    if action == "restore":
        return "restore", author, doc, None, {}
    if action == "expire":
        return "expiry", author, doc, None, {"expires": d.get("expires") if isinstance(d.get("expires"), str) else None}
    if action == "recipients":
        add = [r for r in d.get("add") or [] if isinstance(r, dict)]
        remove = [r for r in d.get("remove") or [] if isinstance(r, dict)]
        people = [r.get("email") for r in (add or remove) if isinstance(r.get("email"), str)]
        target = people[0] if len(add or remove) == 1 and people else None
        detail = {
            "added": len(add),
            "removed": len(remove),
            "add": [_recipient(r) for r in add[:_MAX_LIST]],
            "remove": [_recipient(r) for r in remove[:_MAX_LIST]],
        }
        return ("share" if add else "revoke"), author, doc, target, detail
    return None


def _recipient(r: dict[str, Any]) -> dict[str, str | None]:
    return {"email_hash": _str(r.get("email")), "key": _str(r.get("key"), 32)}


def _fingerprint(d: dict[str, Any]) -> dict[str, str]:
    line = d.get("public_key")
    if not isinstance(line, str):
        return {}
    try:
        from c11.keys.publickey import PublicKey

        return {"key": PublicKey.parse(line).fingerprint}
    except Exception:  # an entry we cannot read is still a key change
        return {}


def _target_member(batch: _Batch, org: str, target: str | None) -> str | None:
    m = batch.members.get(target) if target else None
    return m.id if m is not None and m.org_id == org else None


def _add(
    batch: _Batch, org: str, idx: int, at: datetime, ev: tuple, member_id: str | None, target_member_id: str | None
) -> dict[str, Any]:
    action, actor, doc, target, detail = ev
    row = {
        "org_id": org,
        "log_index": idx,
        "at": at,
        "action": action,
        "actor": actor,
        "member_id": member_id,
        "doc_id": doc,
        "target": target,
        "target_member_id": target_member_id,
        "detail": json.dumps(detail, sort_keys=True, separators=(",", ":")),
    }
    batch.rows[(org, idx)] = row
    if action == "protect":
        if doc is not None:
            batch.doc_orgs.setdefault(doc, set()).add(org)
        if actor is not None:
            batch.last_protect[(org, actor)] = row
    return row


def _spread(batch: _Batch, idx: int, at: datetime, ev: tuple) -> None:
    """Add `ev` to the actor's organization and to the organization(s) that protected its document."""
    actor, doc, target = ev[1], ev[2], ev[3]
    m = _org_of(batch, actor, at)
    orgs = {m.org_id} if m is not None else set()
    if doc is not None and ev[0] != "protect":
        orgs |= batch.doc_orgs.get(doc, set())
    for org in orgs:
        detail = ev[4] if m is not None and m.org_id == org else {**ev[4], "outside": True}
        _add(
            batch,
            org,
            idx,
            at,
            (*ev[:4], detail),
            m.id if m is not None and m.org_id == org else None,
            _target_member(batch, org, target),
        )


def _encrypt_event(s: Session, batch: _Batch, idx: int, d: dict[str, Any], at: datetime) -> None:
    """An encryption recorded as a policy: a `protect` event, or the details of the online `protect` the
    same person logged just before (the CLI registers the online policy, then records the recipient set).
    A merged event names the `encrypt` entry (`policy_entry`), so indexing it again changes nothing."""
    actor = _str(d.get("author"))
    m = _org_of(batch, actor, at)
    if m is None:
        return
    detail = {
        "recipients": d.get("recipients") if isinstance(d.get("recipients"), int) else None,
        "new_set": d.get("new") is True,
    }
    key = (m.org_id, actor)
    prev = batch.last_protect[key] if key in batch.last_protect else _last_protect(s, m.org_id, actor, idx)
    if prev is not None and prev["doc_id"] is not None:
        before = json.loads(prev["detail"] or "{}")
        if before.get("policy_entry") == idx:
            return  # merged when this entry was indexed before
        if "policy_entry" not in before and timedelta(0) <= at - prev["at"] <= _MERGE_WINDOW:
            prev["detail"] = json.dumps(
                {**before, **detail, "policy_entry": idx}, sort_keys=True, separators=(",", ":")
            )
            if (prev["org_id"], prev["log_index"]) not in batch.rows:  # committed earlier: update it in place
                s.execute(
                    update(UsageEvent)
                    .where(UsageEvent.org_id == prev["org_id"], UsageEvent.log_index == prev["log_index"])
                    .values(detail=prev["detail"])
                )
            return
    _add(batch, m.org_id, idx, at, ("protect", actor, None, None, {"online": False, **detail}), m.id, None)


def _last_protect(s: Session, org: str, actor: str | None, before: int) -> dict[str, Any] | None:
    """The person's latest protect event before log entry `before` (None if there is none)."""
    row = s.execute(
        select(UsageEvent.org_id, UsageEvent.log_index, UsageEvent.at, UsageEvent.doc_id, UsageEvent.detail)
        .where(
            UsageEvent.org_id == org,
            UsageEvent.actor == actor,
            UsageEvent.action == "protect",
            UsageEvent.log_index < before,
        )
        .order_by(UsageEvent.at.desc(), UsageEvent.log_index.desc())
        .limit(1)
    ).first()
    return dict(row._mapping) if row is not None else None


def indexer(ctx: ServerContext) -> Indexer:
    """The application's events indexer (created on first use)."""
    return ctx.service("events_indexer", Indexer)
