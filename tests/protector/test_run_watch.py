"""`watch`'s incremental look: a listing compared with the state's ETags, or a backend's change feed from the cursor
saved in the state database (a folder with a feed made of modification times stands in for a delta API here)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from _run_helpers import file_rules, protector

from c11.keys.identity import Identity
from c11.protector import state as S
from c11.protector.storage import ObjectInfo
from c11.protector.storage._file import FileStorage
from c11.protector.watch import changed


class FeedStorage(FileStorage):
    """A folder whose change feed is "objects modified after the cursor (ns)", deletions included."""

    def __init__(self, root: Path, deleted: list[str]) -> None:
        super().__init__(root)
        self.deleted = deleted
        self.cursors: list[str | None] = []

    @property
    def supports_changes(self) -> bool:
        return True

    def changes(self, cursor: str | None) -> tuple[Iterator[ObjectInfo], str]:
        self.cursors.append(cursor)
        since = int(cursor or 0)
        items = [o for o in self.list() if o.mtime and int(o.mtime.timestamp() * 1e9) > since]
        new = max([since, *(int(o.mtime.timestamp() * 1e9) for o in items if o.mtime)])
        return iter([*items, *(ObjectInfo(k, 0, deleted=True) for k in self.deleted)]), str(new)


def _touch(p: Path, data: bytes, ns: int) -> None:
    p.write_bytes(data)
    os.utime(p, ns=(ns, ns))


def test_listing_compare_and_change_feed(tmp_path: Path) -> None:
    me, bob = Identity.generate("protector@example.com"), Identity.generate("bob@example.com")
    root = tmp_path / "r"
    root.mkdir()
    base = 1_700_000_000 * 10**9
    _touch(root / "a.txt", b"ssn 123-45-6789\n", base)
    _touch(root / "b.txt", b"nothing\n", base)
    db = S.open_state(f"sqlite:///{tmp_path / 's.db'}")
    p = protector(root, db, me, file_rules(bob))
    # listing compare: everything is new, then nothing, then only what changed
    assert sorted(o.key for o in changed(FileStorage(root), db, "docs")) == ["a.txt", "b.txt"]
    for o in changed(FileStorage(root), db, "docs"):
        p.process(o.key, o)
    assert list(changed(FileStorage(root), db, "docs")) == []
    _touch(root / "b.txt", b"now card 4111 1111 1111 1111\n", base + 5 * 10**9)
    assert [o.key for o in changed(FileStorage(root), db, "docs")] == ["b.txt"]
    # a change feed: read from the saved cursor; the cursor is saved once the feed is read to its end
    feed = FeedStorage(root, deleted=["gone.txt"])
    first = [o.key for o in changed(feed, db, "docs")]
    assert first == ["b.txt"] and feed.cursors == [None]  # a.txt.c11 is the protector's own; deletions skipped
    assert db.cursor("docs") == str(base + 5 * 10**9)
    _touch(root / "c.txt", b"ssn 987-65-4321\n", base + 9 * 10**9)
    assert [o.key for o in changed(feed, db, "docs")] == ["c.txt"] and feed.cursors[-1] == str(base + 5 * 10**9)
    db.close()
