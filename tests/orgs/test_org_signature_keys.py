"""Members' signature keys (crud:signature-keys-org): the admin sees who signs with which key, and withdraws
a member's published key (lost device): lookups stop serving it, the log records it."""

from __future__ import annotations

import json

import pytest
from orgkit import cli, client, create_org, login_cli, ok, signup

from c11.errors import AuthError, NoKeyPublishedError, ServerError
from c11.keys.identity import Identity


def test_list_and_withdraw_signature_keys(org_server, tmp_path):
    server = org_server
    root = signup(server, "root")
    create_org(server, root, tmp_path / "op")
    admin = client(server, root, tmp_path / "root-sdk")
    bob = signup(server, "bob")
    outsider = signup(server, "outsider")
    admin.org.add_members([bob])
    bob_c = client(server, bob, tmp_path / "bob-sdk")
    bob_key = Identity.generate(bob)
    bob_c.publish(bob_key)

    rows = {r["email"]: r for r in admin.org.signature_keys()}
    assert rows[bob]["signing_key_id"] == bob_key.public.sig_fingerprint
    assert rows[bob]["fingerprint"] == bob_key.public.fingerprint and rows[root]["signing_key_id"] is None
    assert outsider not in rows

    # CLI, with --json, and refusals: an outsider's key is not the admin's business; a plain member may not
    acfg = login_cli(server, root, tmp_path / "root")
    listed = json.loads(ok(cli(acfg, "org", "signature-keys", "list", "--json")).stdout)
    assert {r["email"] for r in listed} == {root, bob}
    r = cli(acfg, "org", "signature-keys", "withdraw", outsider)
    assert r.returncode != 0 and "no member" in r.stderr and "Traceback" not in r.stderr
    with pytest.raises(AuthError) as refused:
        bob_c.org.signature_keys()
    assert refused.value.problem["type"].endswith("missing-permission")

    size = admin.log.verify().current.size
    out = ok(cli(acfg, "org", "signature-keys", "withdraw", bob)).stdout
    assert "withdrawn" in out
    with pytest.raises(NoKeyPublishedError):
        admin.lookup(bob)
    kinds = [json.loads(text)["kind"] for _, text in admin.log.entries(size)]
    assert kinds[:2] == ["key", "admin"]
    with pytest.raises(ServerError) as gone:
        admin.org.withdraw_key(bob)
    assert gone.value.status == 404
