"""The organization policy kept on the device (c11.client.org_policy.OrgPolicyStore): written 0600, bound to
its server and account, and a damaged copy is an error rather than "no organization"."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from c11.client.org_policy import CACHE, OrgPolicyStore
from c11.errors import FormatError
from c11.keys.publickey import PublicKey
from c11.orgrules import OrgPolicy

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "orgrules" / "orgrules.json").read_text("utf-8"))
KEY = PublicKey.parse(VECTORS["keys"]["rec_acme"]["public_key"])
SERVER = "https://c11.example.com"


def test_saved_policy_loads_for_its_server_and_account_only(tmp_path):
    store = OrgPolicyStore(tmp_path)
    policy = OrgPolicy("ACME", (KEY,), True, 30)
    store.save(SERVER + "/", "bob@example.com", policy, now=1_700_000_000)
    path = store.path(SERVER)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    got = store.load(SERVER, "bob@example.com")
    assert got is not None and got.policy == policy and got.source == CACHE and got.fetched_at == 1_700_000_000
    assert store.load(SERVER, None) == got  # a token login (no stored account) takes the server's copy
    assert store.load(SERVER, "eve@example.com") is None
    assert store.load("https://other.example.com", "bob@example.com") is None
    store.save(SERVER, "bob@example.com", None)  # no longer a member: that is remembered too
    left = store.load(SERVER, "bob@example.com")
    assert left is not None and left.policy is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: "not json",
        lambda d: json.dumps({**d, "version": 2}),
        lambda d: json.dumps({**d, "fetched_at": "yesterday"}),
        lambda d: json.dumps({**d, "policy": {**d["policy"], "recovery_keys": ["c11:x25519:AAAA"]}}),
        lambda d: json.dumps({**d, "policy": {**d["policy"], "extra": True}}),
    ],
)
def test_damaged_copy_is_an_error(tmp_path, damage):
    store = OrgPolicyStore(tmp_path)
    store.save(SERVER, "bob@example.com", OrgPolicy("ACME", (KEY,)))
    path = store.path(SERVER)
    path.write_text(damage(json.loads(path.read_text())))
    with pytest.raises(FormatError) as e:
        store.load(SERVER, "bob@example.com")
    assert str(path) in str(e.value) and "\n" not in str(e.value)
