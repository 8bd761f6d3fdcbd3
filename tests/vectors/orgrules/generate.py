"""Writes tests/vectors/orgrules/orgrules.json: the organization rules (docs/organizations.md, "Organization
rules") as cases a TypeScript client checks too. Expected outputs are written here by hand, by key name, not
computed by c11.orgrules: run `python tests/vectors/orgrules/generate.py` after changing a case."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from c11.keys.publickey import PublicKey

NAMES = ("alice", "bob", "carol", "rec_acme", "rec_acme2", "rec_globex")


def _key(name: str) -> PublicKey:
    """A fixed X25519 public key derived from its name (the private half is never used)."""
    seed = hashlib.sha256(b"c11 orgrules vector " + name.encode()).digest()
    raw = X25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return PublicKey("x25519", raw)


def _org(name: str, keys: list[str], online: bool = False, days: int | None = None) -> dict:
    return {"name": name, "recovery_keys": keys, "require_online": online, "default_expiry_days": days}


def _out(
    recipients: list[str],
    added: list[tuple[str, str]],
    online: bool = False,
    required: list[str] | None = None,
    expires: str | None = None,
    days: int | None = None,
) -> dict:
    return {
        "recipients": recipients,
        "added_recovery_keys": [{"org": o, "key": k} for o, k in added],
        "online": online,
        "online_required_by": required or [],
        "expires": expires,
        "default_expiry_days": days,
    }


ACME = _org("ACME", ["rec_acme"])
CASES = [
    (
        "no organization: recipients unchanged, duplicates dropped (first kept)",
        [],
        ["bob", "carol", "bob"],
        False,
        None,
        _out(["bob", "carol"], []),
    ),
    (
        "the sender's organization adds its recovery key after the recipients",
        [ACME],
        ["bob"],
        False,
        None,
        _out(["bob", "rec_acme"], [("ACME", "rec_acme")]),
    ),
    (
        "no recipients (only the sender): the recovery key is still added",
        [ACME],
        [],
        False,
        None,
        _out(["rec_acme"], [("ACME", "rec_acme")]),
    ),
    (
        "a recovery key already among the recipients is not added again",
        [ACME],
        ["rec_acme", "bob"],
        False,
        None,
        _out(["rec_acme", "bob"], []),
    ),
    (
        "two organizations: keys in policy order; a key both list is added once, for the first",
        [_org("ACME", ["rec_acme", "rec_acme2"]), _org("Globex", ["rec_globex", "rec_acme2"])],
        ["alice"],
        False,
        None,
        _out(
            ["alice", "rec_acme", "rec_acme2", "rec_globex"],
            [("ACME", "rec_acme"), ("ACME", "rec_acme2"), ("Globex", "rec_globex")],
        ),
    ),
    (
        "the same organization twice: the first policy counts",
        [ACME, _org("ACME", ["rec_globex"], True, 5)],
        ["bob"],
        False,
        None,
        _out(["bob", "rec_acme"], [("ACME", "rec_acme")]),
    ),
    (
        "require_online turns the online policy on",
        [_org("ACME", [], True)],
        ["bob"],
        False,
        None,
        _out(["bob"], [], True, ["ACME"]),
    ),
    (
        "require_online with a default expiry: the expiry is set",
        [_org("ACME", ["rec_acme"], True, 30)],
        ["bob"],
        False,
        None,
        _out(["bob", "rec_acme"], [("ACME", "rec_acme")], True, ["ACME"], "30d", 30),
    ),
    (
        "a default expiry applies only to online items",
        [_org("ACME", [], False, 30)],
        ["bob"],
        False,
        None,
        _out(["bob"], []),
    ),
    (
        "a default expiry applies when the sender asked for online",
        [_org("ACME", [], False, 30)],
        ["bob"],
        True,
        None,
        _out(["bob"], [], True, [], "30d", 30),
    ),
    (
        "an expiry the sender gave wins over the default",
        [_org("ACME", [], True, 30)],
        ["bob"],
        False,
        "2026-12-31",
        _out(["bob"], [], True, ["ACME"], "2026-12-31"),
    ),
    (
        "several defaults: the shortest applies; every organization requiring online is named",
        [_org("ACME", [], True, 30), _org("Globex", [], True, 7)],
        ["bob"],
        False,
        None,
        _out(["bob"], [], True, ["ACME", "Globex"], "7d", 7),
    ),
    (
        "a recipient's organization requires online although the sender's does not",
        [_org("ACME", []), _org("Globex", ["rec_globex"], True)],
        ["bob"],
        False,
        None,
        _out(["bob", "rec_globex"], [("Globex", "rec_globex")], True, ["Globex"]),
    ),
]
ERRORS = [
    ("an expiry without an online policy is refused", [ACME], ["bob"], False, "7d", "expiry-without-online"),
]


def main() -> None:
    keys = {n: _key(n) for n in NAMES}
    line = {n: k.line() for n, k in keys.items()}
    fp = {n: k.fingerprint for n, k in keys.items()}

    def org(o: dict) -> dict:
        return {**o, "recovery_keys": [line[k] for k in o["recovery_keys"]]}

    def case(desc: str, orgs: list, recips: list, online: bool, expires: str | None) -> dict:
        return {
            "description": desc,
            "policies": [org(o) for o in orgs],
            "recipients": [line[r] for r in recips],
            "options": {"online": online, "expires": expires},
        }

    cases = []
    for desc, orgs, recips, online, expires, out in CASES:
        expect = {
            **out,
            "recipients": [fp[r] for r in out["recipients"]],
            "added_recovery_keys": [{"org": a["org"], "fingerprint": fp[a["key"]]} for a in out["added_recovery_keys"]],
        }
        cases.append({**case(desc, orgs, recips, online, expires), "expect": expect})
    for desc, orgs, recips, online, expires, err in ERRORS:
        cases.append({**case(desc, orgs, recips, online, expires), "error": err})
    doc = {
        "description": "c11 organization rules (docs/organizations.md, Organization rules); recipients and "
        "added keys are compared by fingerprint, in order",
        "keys": {n: {"public_key": line[n], "fingerprint": fp[n]} for n in NAMES},
        "cases": cases,
    }
    path = Path(__file__).with_name("orgrules.json")
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path} ({len(cases)} cases)")


if __name__ == "__main__":
    main()
