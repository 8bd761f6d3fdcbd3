"""Reading the openings of v2 log entries (docs/log.md section 7): a person's own, an admin's members'.

Each page comes with the signed checkpoint it was read in and one inclusion proof per entry, so the
reader checks everything against the public log: the entry is in the tree, and the opening matches its
`actor` commitment. Only a *verified* email names a person; an admin sees the entries of their
organization's members written after each member consented (the rule of the events indexer).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from c11.log.entries import email_hash
from c11.server.logsrv.models import LogEntry, LogOpening
from c11.server.logsrv.service import LogService
from c11.server.orgs.models import OrgMember

#: Most openings one page returns.
MAX_PAGE = 500


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")


def _page(svc: LogService, s: Session, rows: list[Any], scanned: int, limit: int) -> dict[str, Any]:
    """The JSON page of `rows` (index, kind, entry, nonce, private), proven in the current tree."""
    size, root = svc.state(s)  # read after the rows: every row's entry is in this tree
    proofs, _ = svc.proofs(s, size, [r.log_index for r in rows])
    items = [
        {
            "index": r.log_index,
            "kind": r.kind,
            "entry": r.data,
            "nonce": _b64(bytes(r.nonce)),
            "private": r.private,
            "inclusion_proof": [_b64(h) for h in proof],
        }
        for r, proof in zip(rows, proofs, strict=True)
    ]
    return {
        "tree_size": size,
        "checkpoint": svc.signed_checkpoint(size, root).decode(),
        "openings": items,
        "next_after": scanned if scanned >= 0 else None,
    }


def _select(persons: Iterable[str], after: int, limit: int, also: Any = None) -> Any:
    named = LogOpening.person.in_(list(persons))
    return (
        select(
            LogOpening.log_index,
            LogOpening.person,
            LogOpening.nonce,
            LogOpening.private,
            LogEntry.kind,
            LogEntry.data,
            LogEntry.created_at,
            LogEntry.subject,
        )
        .join(LogEntry, LogEntry.idx == LogOpening.log_index)
        .where(named if also is None else or_(named, also), LogOpening.log_index > after)
        .order_by(LogOpening.log_index)
        .limit(limit)
    )


def own(svc: LogService, email: str, after: int, limit: int) -> dict[str, Any]:
    """The openings naming `email` (the caller's verified email), oldest first, after index `after`."""
    with svc.db.session() as s:
        rows = s.execute(_select([email_hash(email)], after, limit)).all()
        return _page(svc, s, rows, rows[-1].log_index if len(rows) == limit else -1, limit)


def of_org(svc: LogService, org_id: str, after: int, limit: int) -> dict[str, Any]:
    """The openings naming members of `org_id`, each written after that member consented (not invited), and
    those of the organization's `admin` entries (subject `org_id`)."""
    with svc.db.session() as s:
        added: dict[str, datetime] = {}
        for mail, at in s.execute(
            select(OrgMember.email, func.coalesce(OrgMember.consented_at, OrgMember.added_at)).where(
                OrgMember.org_id == org_id, OrgMember.consent.is_not(None)
            )
        ):
            h = email_hash(mail)  # invitees who did not accept: none; those who did: from their acceptance on
            added[h] = min(at, added.get(h, at))
        ours = and_(LogEntry.kind == "admin", LogEntry.subject == org_id)  # its admins' actions, by anyone
        rows = s.execute(_select(added, after, limit, also=ours)).all()
        kept = [
            r
            for r in rows
            if (r.kind == "admin" and r.subject == org_id) or (r.person in added and r.created_at >= added[r.person])
        ]
        return _page(svc, s, kept, rows[-1].log_index if len(rows) == limit else -1, limit)
