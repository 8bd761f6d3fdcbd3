"""Group membership changes made through SCIM, done the way the groups service does them.

Joining adds the row (a holder's client then wraps the group key for the newcomer: the groups service's
pending wraps); leaving deletes the row and the member's wraps, and marks the current group key for rotation.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from c11.server.groups import service as groups
from c11.server.orgs.models import OrgGroupMember


def join_group(s: Session, group_id: str, member_id: str) -> bool:
    """Add `member_id` to `group_id`; False if already in."""
    if s.get(OrgGroupMember, (group_id, member_id)) is not None:
        return False
    s.add(OrgGroupMember(group_id=group_id, member_id=member_id))
    return True


def leave_group(s: Session, group_id: str, member_id: str) -> bool:
    """Remove `member_id` from `group_id` (wraps dropped, key due for rotation); False if not in."""
    row = s.get(OrgGroupMember, (group_id, member_id))
    if row is None:
        return False
    s.delete(row)
    groups.drop_wraps(s, group_id, member_id)
    key = groups.current_key(s, group_id)
    if key is not None:
        key.rotation_due = True
    return True
