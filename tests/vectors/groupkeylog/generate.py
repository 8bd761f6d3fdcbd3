"""Writes tests/vectors/groupkeylog/vectors.json: group key records and their `groupkey` log entries
(docs/organizations.md, "Group keys in the log"), byte for byte. Computed here with json and hashlib only, not by
c11's code, which tests/core/test_group_key_log_vectors.py and the browser test check against them:
`python tests/vectors/groupkeylog/generate.py` after changing a case."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).parent
KEYS = json.loads((HERE.parent / "orgrules" / "orgrules.json").read_text("utf-8"))["keys"]


def canonical(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def case(org: str, group: str, name: str, version: int, key: str, time: str) -> dict:
    fields = {
        "group": group,
        "name": name,
        "org": org,
        "public_key": KEYS[key]["public_key"],
        "type": "c11-group-key-record/v1",
        "version": version,
    }
    record = canonical(fields)
    digest = hashlib.sha256(b"c11/v1 group key\x00" + record.encode("ascii")).hexdigest()
    entry = canonical({"digest": digest, "group": group, "kind": "groupkey", "org": org, "time": time,
                       "version": version})  # fmt: skip
    return {
        "fields": fields,
        "record": record,
        "digest": digest,
        "entry": entry,
        "leaf_hash": hashlib.sha256(b"\x00" + entry.encode("ascii")).hexdigest(),
    }


def main() -> None:
    org, group = "8d1f3a0c9b2e4f6a8d1f3a0c9b2e4f6a", "5e0b7c1d2a3f4e5d6c7b8a9f0e1d2c3b"
    good = [
        case(org, group, "finance", 1, "rec_acme", "2026-12-01T10:00:00Z"),
        case(org, group, "finance", 2, "rec_acme2", "2026-12-02T11:30:00Z"),
        case(
            "c0ffee00c0ffee00c0ffee00c0ffee00",
            "0123456789abcdef0123456789abcdef",
            "R\u00e9gion \u00c9st",
            7,
            "rec_acme",
            "2026-12-03T00:00:00Z",
        ),  # fmt: skip
    ]
    base = good[0]["fields"]
    bad_records = [
        {"why": "not canonical (spaces)", "record": json.dumps(base, sort_keys=True)},
        {"why": "keys out of order", "record": json.dumps(dict(reversed(base.items())), separators=(",", ":"))},
        {"why": "another type", "record": canonical({**base, "type": "c11-group-key-record/v2"})},
        {"why": "version 0", "record": canonical({**base, "version": 0})},
        {"why": "version true", "record": canonical({**base, "version": True})},
        {"why": "a field missing", "record": canonical({k: v for k, v in base.items() if k != "name"})},
        {"why": "an extra field", "record": canonical({**base, "members": []})},
        {"why": "an empty name", "record": canonical({**base, "name": ""})},
        {"why": "a malformed public key", "record": canonical({**base, "public_key": "c11:x25519:AAAA"})},
    ]
    e = json.loads(good[0]["entry"])
    bad_entries = [
        {"why": "not canonical", "entry": json.dumps(e)},
        {"why": "another kind", "entry": canonical({**e, "kind": "orgpolicy"})},
        {"why": "an extra field", "entry": canonical({**e, "name": "finance"})},
        {"why": "digest not hex", "entry": canonical({**e, "digest": "Z" * 64})},
        {"why": "digest uppercase", "entry": canonical({**e, "digest": e["digest"].upper()})},
        {"why": "version 0", "entry": canonical({**e, "version": 0})},
        {"why": "no group", "entry": canonical({k: v for k, v in e.items() if k != "group"})},
        {"why": "no time", "entry": canonical({k: v for k, v in e.items() if k != "time"})},
    ]
    out = {
        "description": "Group key records (type c11-group-key-record/v1) and their groupkey log entries: "
        'record = canonical JSON of the fields; digest = hex SHA-256("c11/v1 group key" || 0x00 || record); '
        "entry = canonical JSON {digest, group, kind: groupkey, org, time, version}; leaf_hash = hex "
        "SHA-256(0x00 || entry). bad_records and bad_entries must be refused. docs/organizations.md, "
        "Group keys in the log.",
        "cases": good,
        "bad_records": bad_records,
        "bad_entries": bad_entries,
    }
    (HERE / "vectors.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
