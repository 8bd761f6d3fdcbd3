"""The organization's policy as a log-backed object (docs/organizations.md, "The signed policy").

What clients apply (`c11.orgrules`: name, current recovery keys, require_online, default_expiry_days) is one
canonical document per change, `c11.orgrules.PolicyDocument` with a sequence number 1, 2, ...; every change
appends an `orgpolicy` entry `{"digest", "org", "seq"}` (subject: the organization ID) in the same transaction
as the change. `GET /api/v1/org` serves the newest document with its entry's inclusion proof and the signed
checkpoint, so a client applies only a policy the log commits to.

The document is not stored: it is rebuilt from the organization's rows with the newest entry's `seq`, and
served when its digest is the entry's. When it is not (an organization made before this, or rows changed
outside the routes, such as by the operator in the database), `ensure` appends the current state as the
next number before answering.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from c11.log.entries import ORG_POLICY_KIND, org_policy_digest
from c11.orgrules import document_text
from c11.server.context import ServerContext
from c11.server.groups.recovery import recovery_public_keys
from c11.server.logsrv.models import LogEntry
from c11.server.logsrv.proven import entry_proof
from c11.server.logsrv.service import LogWriter, log_service
from c11.server.orgs.models import Organization
from c11.server.orgs.policies import load
from c11.server.problems import Problem


def document(s: Session, org: Organization, seq: int) -> str:
    """The canonical policy document of `org`'s rows now, numbered `seq`."""
    p = load(org.policies)  # key lines are stored as `PublicKey.line()` gives them (groups.recovery.add)
    return document_text(
        org.id, seq, org.name, recovery_public_keys(s, org.id), p.require_online, p.default_expiry_days
    )


def latest(s: Session, org_id: str) -> tuple[int, int, str] | None:
    """(log index, seq, digest) of `org_id`'s newest committed policy entry, or None."""
    row = s.execute(
        select(LogEntry.idx, LogEntry.data)
        .where(LogEntry.subject == org_id, LogEntry.kind == ORG_POLICY_KIND)
        .order_by(LogEntry.idx.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    d = json.loads(row.data)
    return row.idx, int(d["seq"]), str(d["digest"])


def record(s: Session, log: LogWriter, org: Organization) -> int | None:
    """After a change in this transaction: append the next policy entry when the document changed; returns
    its (future) index, or None when what clients apply is unchanged."""
    s.flush()
    last = latest(s, org.id)
    if last is not None and org_policy_digest(document(s, org, last[1])) == last[2]:
        return None
    seq = 1 if last is None else last[1] + 1
    return log.append(
        ORG_POLICY_KIND, {"digest": org_policy_digest(document(s, org, seq)), "org": org.id, "seq": seq}, org.id
    )


def ensure(ctx: ServerContext, org_id: str) -> None:
    """Make sure the newest policy entry of `org_id` commits to its rows now (appends one when not)."""
    with ctx.db.session() as s:
        org = s.get(Organization, org_id)
        if org is None:
            return
        last = latest(s, org_id)
        if last is not None and org_policy_digest(document(s, org, last[1])) == last[2]:
            return
    with log_service(ctx).transaction() as (s, log):  # checked again under the log's write lock
        org = s.get(Organization, org_id)
        if org is not None:
            record(s, log, org)


def proven(ctx: ServerContext, org_id: str, known_size: int | None) -> dict[str, Any]:
    """`{"document", "log_index", "entry", "tree_size", "checkpoint", "inclusion_proof"[, "known_size",
    "consistency_proof"]}` of `org_id`'s current policy (appended first if the log lacks it)."""
    ensure(ctx, org_id)
    svc = log_service(ctx)
    with ctx.db.session() as s:
        org = s.get(Organization, org_id)
        last = latest(s, org_id)
        size, root = svc.state(s)  # read after the entry: it is in this tree
        if org is None or last is None:
            raise Problem(403, "Forbidden", "You are not a member of an organization.", "not-a-member")
        index, seq, digest = last
        text = document(s, org, seq)
        if org_policy_digest(text) != digest:  # changed between ensure() and now: the client asks again
            raise Problem(409, "Conflict", "The organization's policy changed meanwhile; ask again.", "policy-changed")
        return {"document": text, **entry_proof(s, svc, index, size, root, known_size)}
