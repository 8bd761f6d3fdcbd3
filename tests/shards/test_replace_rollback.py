"""`keys replace` changes nothing when the new key cannot be published: the key archive stays readable by
the current key (old files keep opening) and the current cloud key stays in place."""

from __future__ import annotations

import pytest
from shardkit import verified_user

from c11 import files
from c11.client import Client
from c11.errors import AuthError
from c11.keys.identity import Identity


def _forbid_device_keys(server, admin_email: str, member_email: str) -> None:
    from c11.server.db import Database
    from c11.server.orgs.policies import OrgPolicies, dump
    from c11.server.orgs.service import add_member, create_organization

    db = Database(server.config.database_url)
    try:
        with db.session() as s:
            org, _ = create_organization(s, f"NoDevice {member_email}", admin_email)
            org.policies = dump(OrgPolicies(allow_device_keys=False))
            add_member(s, org, member_email, added_by=admin_email)
    finally:
        db.dispose()


def test_replace_rolls_back_when_publishing_is_refused(shard_env, tmp_path):
    server = shard_env.server
    user = verified_user(server, "rollback")
    with Client(server.url, user["token"]) as c:
        c.state_dir = tmp_path / "state"
        c.shards.password = user["password"]
        old = Identity.generate(user["email"])
        current = Identity.generate(user["email"])
        c.shards.create(current)
        c.registry.publish(current, user["email"], storage="cloud")
        c.shards.store_archive([old], current)  # a key replaced earlier
        blob = files.encrypt_bytes(b"to the old key", [old.public], old)
        _forbid_device_keys(server, f"admin-{user['email']}", user["email"])

        with pytest.raises(AuthError):
            c.shards.replace(current, Identity.generate(user["email"]), cloud=False)
        st = c.shards.status()
        assert st.fingerprint == current.fingerprint and st.archive_fingerprint == current.fingerprint
        assert c.registry.lookup(user["email"]).fingerprint == current.fingerprint
        restored = c.shards.archived(c.shards.fetch_identity())
        assert [k.fingerprint for k in restored] == [old.fingerprint]
        assert files.decrypt_bytes(blob, restored).plaintext == b"to the old key"
