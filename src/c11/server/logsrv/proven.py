"""The proof of a log-backed object: what `GET /api/v1/org` (the organization's policy, `orgs.policylog`) and
`GET /api/v1/org/groups/{name}/key` (a group's key, `groups.keylog`) serve beside the object's canonical record.

Both answer with the entry committing to the record, its inclusion proof in the tree the signed checkpoint
names, and (when the client says which tree it saw) a consistency proof from that tree; a client that saw a
larger tree than the log's is told the log rolled back (docs/organizations.md).
"""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from c11.server.logsrv.models import LogEntry
from c11.server.logsrv.service import LogService
from c11.server.problems import Problem


def entry_proof(
    s: Session, svc: LogService, index: int, size: int, root: bytes, known_size: int | None
) -> dict[str, Any]:
    """`{"log_index", "entry", "tree_size", "checkpoint", "inclusion_proof"[, "known_size",
    "consistency_proof"]}` of entry `index` in the tree (`size`, `root`); a 409 `log-rollback` problem when the
    client saw a larger tree (`known_size`)."""
    if known_size is not None and known_size > size:
        raise Problem(
            409,
            "Log rolled back",
            f"You saw a tree of {known_size} entries; this log has {size}.",
            "log-rollback",
            tree_size=size,
        )
    entry = s.scalar(select(LogEntry.data).where(LogEntry.idx == index))
    [proof], consistency = svc.proofs(s, size, [index], known_size)
    return {
        "log_index": index,
        "entry": entry,
        "tree_size": size,
        "checkpoint": svc.signed_checkpoint(size, root).decode("utf-8"),
        "inclusion_proof": [b64(h) for h in proof],
        **(
            {}
            if consistency is None
            else {"known_size": known_size, "consistency_proof": [b64(h) for h in consistency]}
        ),
    }


def b64(h: bytes) -> str:
    return base64.b64encode(h).decode("ascii")
