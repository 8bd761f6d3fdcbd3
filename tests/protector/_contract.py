"""The behaviour every `Storage` backend must show, run by each backend's test against its real server."""

from __future__ import annotations

import io

import pytest

from c11.protector.storage import (
    InvalidKey,
    NotFound,
    ObjectInfo,
    PreconditionFailed,
    Storage,
    read_all,
)


def check_storage(s: Storage) -> None:
    """Write, list (paged), stat, read, conditional write and delete, key checks."""
    assert isinstance(s, Storage)
    assert list(s.list()) == []
    a = s.write("a.txt", b"alpha", content_type="text/plain")
    assert isinstance(a, ObjectInfo) and a.key == "a.txt" and a.size == 5 and a.etag
    s.write("docs/b.csv", io.BytesIO(b"x,y\n1,2\n"))
    for i in range(5):
        s.write(f"docs/deep/c{i}.md", f"# {i}\n".encode())
    s.write("docsx/d.json", b"{}")

    keys = sorted(o.key for o in s.list(page_size=2))
    assert keys == ["a.txt", "docs/b.csv", *(f"docs/deep/c{i}.md" for i in range(5)), "docsx/d.json"]
    assert sorted(o.key for o in s.list("docs/", page_size=2)) == [
        "docs/b.csv",
        *(f"docs/deep/c{i}.md" for i in range(5)),
    ]
    assert sorted(o.key for o in s.list("docs", page_size=3)) == sorted(k for k in keys if k.startswith("docs"))
    assert list(s.list("nothing/")) == []
    for o in s.list(page_size=2):  # a listing's etag is the one stat gives, to hand back as if_match
        st = s.stat(o.key)
        assert (st.etag, st.size) == (o.etag, o.size), o.key

    st = s.stat("docs/b.csv")
    assert st.size == 8 and st.mtime is not None and st.mtime.tzinfo is not None
    assert read_all(s, "docs/b.csv", limit=100) == b"x,y\n1,2\n"
    with s.open_read("a.txt") as f:
        assert f.read() == b"alpha"

    with pytest.raises(NotFound):
        s.stat("missing.txt")
    with pytest.raises(NotFound):
        s.open_read("missing.txt")
    for bad in ("", "/abs", "../up", "a/../b", "a//b", "a/./b"):
        with pytest.raises(InvalidKey):
            s.stat(bad)

    # conditional writes: the etag from stat wins once, then is stale
    etag = s.stat("a.txt").etag
    assert etag is not None
    with pytest.raises(PreconditionFailed):
        s.write("a.txt", b"other", if_none_match=True)
    new = s.write("a.txt", b"alpha2", if_match=etag)
    assert new.etag != etag and read_all(s, "a.txt", limit=100) == b"alpha2"
    with pytest.raises(PreconditionFailed):
        s.write("a.txt", b"lost update", if_match=etag)
    assert read_all(s, "a.txt", limit=100) == b"alpha2"
    created = s.write("new.bin", b"\x00" * 10, if_none_match=True)
    assert created.size == 10

    with pytest.raises(PreconditionFailed):
        s.delete("a.txt", if_match=etag)
    s.delete("a.txt", if_match=new.etag)
    with pytest.raises(NotFound):
        s.stat("a.txt")
    with pytest.raises(NotFound):
        s.delete("a.txt")
    assert "a.txt" not in {o.key for o in s.list()}
    assert isinstance(s.versioning_enabled(), bool)


#: planted secrets: none of them may appear in clear in a report
PLANTED = {
    "hr/staff.csv": b"name,ssn\nJo,536-22-8726\nAl,412-55-7398\n",
    "hr/contacts.md": b"# Contacts\nwrite to jane.doe@example.org\n",
    "finance/pay.txt": b"card 4111 1111 1111 1111 and IBAN DE89 3704 0044 0532 0130 00\n",
    "deploy/id_ed25519": b"not even a key, but the name says what it is",
    "notes/clean.txt": b"nothing to see: order 1234-5678, version 1.2.3, 2024-01-15\n",
    "notes/done.txt.c11": b"a protected file is never classified: 536-22-8726",
}
CLEAR = ("536-22-8726", "412-55-7398", "jane.doe@example.org", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00")


def plant(s: Storage) -> None:
    for k, v in PLANTED.items():
        s.write(k, v)


def check_scan(s: Storage) -> None:
    """A scan of the planted objects counts each detector and folder, and shows nothing in clear."""
    import json

    from c11.protector.detect import DetectRules
    from c11.protector.scan import scan

    plant(s)
    r = scan(s, "t", rules=DetectRules(), key=b"k" * 32, jobs=3)
    doc = r.to_json()
    assert doc["objects"] == len(PLANTED) and doc["files_with_findings"] == 4
    assert doc["detectors"] == {
        "email": {"matches": 1, "files": 1},
        "iban": {"matches": 1, "files": 1},
        "key_file": {"matches": 1, "files": 1},
        "payment_card": {"matches": 1, "files": 1},
        "us_ssn": {"matches": 2, "files": 1},
    }
    assert doc["folders"] == {
        "deploy": {"key_file": 1},
        "finance": {"iban": 1, "payment_card": 1},
        "hr": {"email": 1, "us_ssn": 1},
    }
    assert doc["skipped"] == {"skip pattern": 1}
    text = json.dumps(doc)
    for secret in CLEAR:
        assert secret not in text and secret.replace(" ", "") not in text
