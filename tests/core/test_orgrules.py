"""Organization rules (c11.orgrules) against the committed vectors tests/vectors/orgrules/orgrules.json, which
a TypeScript client checks too, and the strict reading of a policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from c11.errors import FormatError, UsageError
from c11.keys.publickey import PublicKey
from c11.orgrules import OrgPolicy, SendOptions, apply

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "orgrules" / "orgrules.json").read_text("utf-8"))
ERRORS = {"expiry-without-online": UsageError}


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["description"][:60])
def test_vector(case):
    policies = [OrgPolicy.from_json(p) for p in case["policies"]]
    recipients = [PublicKey.parse(r) for r in case["recipients"]]
    options = SendOptions(case["options"]["online"], case["options"]["expires"])
    if "error" in case:
        with pytest.raises(ERRORS[case["error"]]):
            apply(policies, recipients, options)
        return
    plan = apply(policies, recipients, options)
    assert plan.to_json() == case["expect"]
    by_fp = {v["fingerprint"]: v["public_key"] for v in VECTORS["keys"].values()}
    assert [k.line() for k in plan.recipients] == [by_fp[f] for f in case["expect"]["recipients"]]


def test_vectors_cover_every_rule():
    kinds = {json.dumps(sorted(k for k, v in c.get("expect", {}).items() if v)) for c in VECTORS["cases"]}
    assert len(VECTORS["cases"]) >= 14 and len(kinds) >= 4
    assert any(c.get("error") for c in VECTORS["cases"])


def test_policy_round_trip_and_strictness():
    key = PublicKey.parse(VECTORS["keys"]["rec_acme"]["public_key"])
    p = OrgPolicy("ACME", (key,), True, 30)
    assert OrgPolicy.from_json(p.to_json()) == p
    for bad in (
        {**p.to_json(), "extra": 1},
        {**p.to_json(), "default_expiry_days": 0},
        {**p.to_json(), "default_expiry_days": True},
        {**p.to_json(), "require_online": "yes"},
        {**p.to_json(), "recovery_keys": [7]},
        [],
        None,
    ):
        with pytest.raises(FormatError):
            OrgPolicy.from_json(bad)
