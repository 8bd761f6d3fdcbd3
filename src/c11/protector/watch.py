"""Incremental re-scans (`c11 protector watch`): which objects of a connection are new or changed since the
protector last looked, from the backend's change feed where it has one (`Storage.changes`, its cursor kept in
the state database), else from a listing compared with the ETags the state database holds."""

from __future__ import annotations

from collections.abc import Iterator

from c11.protector.protection import ignored
from c11.protector.state import FINAL, StateDB
from c11.protector.storage import ObjectInfo, Storage


def _changed(state: StateDB, connection: str, info: ObjectInfo) -> bool:
    if ignored(info.key) or info.deleted:
        return False
    row = state.get(connection, info.key)
    if row is None or row.status not in FINAL or info.etag is None:
        return True
    return info.etag not in (row.etag, row.target_etag)


def changed(storage: Storage, state: StateDB, connection: str, prefix: str = "") -> Iterator[ObjectInfo]:
    """The objects to look at again (as listed); a change feed's new cursor is saved once the feed is read to its end."""
    if storage.supports_changes:
        items, cursor = storage.changes(state.cursor(connection))
        for info in items:
            if info.key.startswith(prefix) and _changed(state, connection, info):
                yield info
        state.set_cursor(connection, cursor)
        return
    for info in storage.list(prefix):
        if _changed(state, connection, info):
            yield info
