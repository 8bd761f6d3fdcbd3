"""Cloud-stored keys end to end through the SDK, on SQLite and PostgreSQL: a real c11 server and a real
`c11 shard-store serve` process on loopback."""

from __future__ import annotations

import base64
import json

import pytest
from shardkit import verified_user

from c11 import files
from c11.client import Client
from c11.errors import AuthError, CloudKeyError, ServerError
from c11.keys.cloudkey import Shard
from c11.keys.identity import Identity
from c11.log.entries import email_hash


def test_create_fetch_rebuild_in_memory(shard_env, tmp_path):
    env = shard_env
    user = verified_user(env.server)
    store = env.stores[0].url
    with Client(env.server.url, user["token"]) as c:
        c.state_dir = tmp_path / "device1"
        c.shards.password = user["password"]
        assert c.shards.stores() == [store]
        me = Identity.generate(user["email"])
        created = c.shards.create(me)
        assert [(p.index, p.where, p.url) for p in created.placements] == [
            (1, "server", None),
            (2, "store", store),
            (3, "recovery", None),
        ]
        assert created.recovery is not None and created.recovery.index == 3
        c.registry.publish(me, user["email"])
        st = c.shards.status()
        assert st.kind == "cloud" and st.fingerprint == me.fingerprint
        blob = files.encrypt_bytes(b"for me", [me.public], Identity.generate("sender@example.com"))
    # a second device: a fresh client state, only the login and the password (the store's OPAQUE login)
    with Client(env.server.url, user["token"]) as c2:
        c2.state_dir = tmp_path / "device2"
        c2.shards.password = user["password"]
        fetched = c2.shards.fetch()
        assert fetched.identity.enc_seed == me.enc_seed and fetched.identity.sig_seed == me.sig_seed
        assert fetched.sources == (env.server.url, store)
        assert files.decrypt_bytes(blob, [fetched.identity]).plaintext == b"for me"
        # every fetch is in the log, proven against the pinned log key
        for index, source in zip(fetched.log_indexes, fetched.sources, strict=True):
            proven = c2.log.prove(index)
            entry = json.loads(proven.entry)
            assert entry["kind"] == "shard" and entry["action"] == "fetch" and entry["store"] == source
            # v2 (docs/log.md section 8): the person and key are hidden; the user's own opening names them
            assert "who" not in entry and email_hash(user["email"]) not in proven.entry
            assert user["email"] not in proven.entry and me.fingerprint not in proven.entry
            opened = {o.index: o for o in c2.log.openings(user["email"])}[index]
            assert opened.person == email_hash(user["email"]) and opened.fields["key"] == me.fingerprint
        # with a recovery shard but no store, the key rebuilds too; the recovery shard alone does not
        assert c2.shards.fetch(recovery=created.recovery).identity.fingerprint == me.fingerprint


def test_second_key_is_refused_and_delete_removes_every_shard(shard_env, tmp_path):
    env = shard_env
    user = verified_user(env.server)
    with Client(env.server.url, user["token"]) as c:
        c.state_dir = tmp_path
        c.shards.password = user["password"]
        me = Identity.generate(user["email"])
        c.shards.create(me)
        with pytest.raises(CloudKeyError):
            c.shards.create(Identity.generate(user["email"]))
        assert len(c.shards.delete()) == 2
        assert c.shards.status().kind == "none"
        with pytest.raises(CloudKeyError):
            c.shards.fetch()


def test_machine_tokens_never_reach_shards(shard_env, tmp_path):
    env = shard_env
    user = verified_user(env.server)
    with Client(env.server.url, user["token"]) as c:
        c.state_dir = tmp_path
        c.shards.password = user["password"]
        c.shards.create(Identity.generate(user["email"]))
        machine = c.tokens.create("robot", ["keys:read", "keys:write", "documents:read"], 1).token
    with Client(env.server.url, machine) as m:
        m.state_dir = tmp_path
        for call in (m.shards.status, m.shards.fetch):
            with pytest.raises(AuthError) as e:
                call()
            assert e.value.status == 403


def test_bad_shards_are_refused(shard_env, tmp_path):
    env = shard_env
    user, other = verified_user(env.server), verified_user(env.server, "other")
    with Client(env.server.url, other["token"]) as o:
        other_id = o.shards.status().user_id
    with Client(env.server.url, user["token"]) as c:
        from c11.keys import cloudkey

        foreign = cloudkey.make_shards(Identity.generate("x@example.com"), other_id)
        places = [
            {"index": 1, "where": "server"},
            {"index": 2, "where": "store", "url": env.stores[0].url},
            {"index": 3, "where": "recovery"},
        ]
        for body in (
            {"shard": foreign[0].b64(), "placements": places},
            {"shard": base64.b64encode(b"junk").decode(), "placements": places},
            {"shard": "***", "placements": places},
        ):
            with pytest.raises(ServerError) as e:
                c._core.request("PUT", "/api/v1/shards/shard", body)
            assert e.value.status == 422
        assert isinstance(foreign[0], Shard)
