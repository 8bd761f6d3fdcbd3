"""Writes tests/vectors/orgpolicy/vectors.json: organization policy documents and their `orgpolicy` log entries
(docs/organizations.md, "The signed policy"), byte for byte. Computed here with json and hashlib only, not by
c11's code, which tests/core/test_org_policy_vectors.py and the browser test check against them:
`python tests/vectors/orgpolicy/generate.py` after changing a case."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).parent
KEYS = json.loads((HERE.parent / "orgrules" / "orgrules.json").read_text("utf-8"))["keys"]


def canonical(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def case(org: str, seq: int, name: str, keys: list[str], online: bool, days: int | None, time: str) -> dict:
    fields = {
        "default_expiry_days": days,
        "name": name,
        "org": org,
        "recovery_keys": [KEYS[k]["public_key"] for k in keys],
        "require_online": online,
        "seq": seq,
        "type": "c11-org-policy/v1",
    }
    document = canonical(fields)
    digest = hashlib.sha256(b"c11/v1 org policy\x00" + document.encode("ascii")).hexdigest()
    entry = canonical({"digest": digest, "kind": "orgpolicy", "org": org, "seq": seq, "time": time})
    return {
        "fields": fields,
        "document": document,
        "digest": digest,
        "entry": entry,
        "leaf_hash": hashlib.sha256(b"\x00" + entry.encode("ascii")).hexdigest(),
    }


def main() -> None:
    good = [
        case("8d1f3a0c9b2e4f6a8d1f3a0c9b2e4f6a", 1, "ACME", ["rec_acme"], True, 30, "2026-12-01T10:00:00Z"),
        case(
            "8d1f3a0c9b2e4f6a8d1f3a0c9b2e4f6a",
            2,
            "ACME",
            ["rec_acme", "rec_acme2"],
            False,
            None,
            "2026-12-02T11:30:00Z",
        ),
        case(
            "c0ffee00c0ffee00c0ffee00c0ffee00",
            7,
            "Soci\u00e9t\u00e9 \u00c9xample",
            [],
            False,
            365,
            "2026-12-03T00:00:00Z",
        ),
    ]
    base = good[0]["fields"]
    bad_documents = [
        {"why": "not canonical (spaces)", "document": json.dumps(base, sort_keys=True)},
        {"why": "keys out of order", "document": json.dumps(dict(reversed(base.items())), separators=(",", ":"))},
        {"why": "another type", "document": canonical({**base, "type": "c11-org-policy/v2"})},
        {"why": "sequence number 0", "document": canonical({**base, "seq": 0})},
        {"why": "sequence number true", "document": canonical({**base, "seq": True})},
        {"why": "a field missing", "document": canonical({k: v for k, v in base.items() if k != "require_online"})},
        {"why": "an extra field", "document": canonical({**base, "allow_device_keys": True})},
        {"why": "expiry 0 days", "document": canonical({**base, "default_expiry_days": 0})},
        {"why": "a malformed recovery key", "document": canonical({**base, "recovery_keys": ["c11:x25519:AAAA"]})},
    ]
    e = json.loads(good[0]["entry"])
    bad_entries = [
        {"why": "not canonical", "entry": json.dumps(e)},
        {"why": "another kind", "entry": canonical({**e, "kind": "admin"})},
        {"why": "an extra field", "entry": canonical({**e, "name": "ACME"})},
        {"why": "digest not hex", "entry": canonical({**e, "digest": "Z" * 64})},
        {"why": "digest uppercase", "entry": canonical({**e, "digest": e["digest"].upper()})},
        {"why": "sequence number 0", "entry": canonical({**e, "seq": 0})},
        {"why": "no time", "entry": canonical({k: v for k, v in e.items() if k != "time"})},
    ]
    out = {
        "description": "Organization policy documents (type c11-org-policy/v1) and their orgpolicy log entries: "
        'document = canonical JSON of the fields; digest = hex SHA-256("c11/v1 org policy" || 0x00 || document); '
        "entry = canonical JSON {digest, kind: orgpolicy, org, seq, time}; leaf_hash = hex SHA-256(0x00 || entry). "
        "bad_documents and bad_entries must be refused. docs/organizations.md, The signed policy.",
        "cases": good,
        "bad_documents": bad_documents,
        "bad_entries": bad_entries,
    }
    (HERE / "vectors.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", "utf-8")


if __name__ == "__main__":
    main()
