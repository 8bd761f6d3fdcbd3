"""Group keys as log-backed objects (docs/organizations.md, "Group keys in the log").

Every key version an admin sets appends a `groupkey` entry `{"digest", "group", "kind", "org", "time",
"version"}` (subject: the group ID) in the same transaction, committing to the record
`c11.groupkey.GroupKeyRecord` (organization, group ID and name, version, public key line).
`GET /api/v1/org/groups/{name}/key` serves the current version's record with its entry's inclusion proof and
the signed checkpoint, so a client encrypts only to a key the log commits to: a server that substitutes its own
key must log it, where the organization's admins see it.

A key version set before this (or a row changed outside the routes) has no entry committing to it; `ensure`
appends one before answering, as `orgs.policylog` does for policies.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from c11.groupkey import GroupKeyRecord
from c11.keys.publickey import PublicKey
from c11.log.entries import GROUP_KEY_KIND, group_key_digest
from c11.server.context import ServerContext
from c11.server.groups import service
from c11.server.groups.models import OrgGroupKey
from c11.server.logsrv.models import LogEntry
from c11.server.logsrv.proven import entry_proof
from c11.server.logsrv.service import LogWriter, log_service
from c11.server.orgs.models import OrgGroup
from c11.server.problems import Problem


def record_text(group: OrgGroup, key: OrgGroupKey) -> str:
    """The canonical record of `key` (a version of `group`)."""
    return GroupKeyRecord(group.org_id, group.id, group.name, key.version, PublicKey.parse(key.public_key)).to_text()


def _entry_for(s: Session, group: OrgGroup, key: OrgGroupKey) -> int | None:
    """Log index of the newest `groupkey` entry committing to `key` as it is now, or None."""
    digest = group_key_digest(record_text(group, key))
    rows = s.execute(
        select(LogEntry.idx, LogEntry.data)
        .where(LogEntry.subject == group.id, LogEntry.kind == GROUP_KEY_KIND)
        .order_by(LogEntry.idx.desc())
    )
    for idx, data in rows:
        d = json.loads(data)
        if d.get("version") == key.version and d.get("digest") == digest:
            return int(idx)
    return None


def record(s: Session, log: LogWriter, group: OrgGroup, key: OrgGroupKey) -> int:
    """Append the entry of a key version just set in this transaction; returns its (future) index."""
    s.flush()
    fields = {
        "digest": group_key_digest(record_text(group, key)),
        "group": group.id,
        "org": group.org_id,
        "version": key.version,
    }
    return log.append(GROUP_KEY_KIND, fields, group.id)


def ensure(ctx: ServerContext, org_id: str, name: str) -> None:
    """Make sure the log has an entry committing to the group's current key (appends one when not)."""
    with ctx.db.session() as s:
        g = service.group_named(s, org_id, name)
        key = service.current_key(s, g.id)
        if key is None or _entry_for(s, g, key) is not None:
            return
    with log_service(ctx).transaction() as (s, log):  # checked again under the log's write lock
        g = service.group_named(s, org_id, name)
        key = service.current_key(s, g.id)
        if key is not None and _entry_for(s, g, key) is None:
            record(s, log, g, key)


def proven(ctx: ServerContext, org_id: str, name: str, known_size: int | None) -> dict[str, Any]:
    """The group's current key with `{"record", "log_index", "entry", "tree_size", "checkpoint",
    "inclusion_proof"[, "known_size", "consistency_proof"]}` in `proof`."""
    ensure(ctx, org_id, name)
    svc = log_service(ctx)
    with ctx.db.session() as s:
        g = service.group_named(s, org_id, name)
        key = service.current_key(s, g.id)
        if key is None:
            raise Problem(
                404,
                "Not Found",
                f"The group {g.name!r} has no key yet: an admin runs `c11 org groups sync`.",
                "no-group-key",
            )
        index = _entry_for(s, g, key)
        size, root = svc.state(s)  # read after the entry: it is in this tree
        if index is None or index >= size:  # the key changed between ensure() and now: the client asks again
            raise Problem(409, "Conflict", "The group's key changed meanwhile; ask again.", "group-key-changed")
        answer = {"org_id": org_id, "group": g.name, "group_id": g.id, **(service.key_json(key) or {})}
        answer["proof"] = {"record": record_text(g, key), **entry_proof(s, svc, index, size, root, known_size)}
    return answer
