"""`c11 keys upgrade`: a cloud key stored in shard format 1 (GF(2^128) shares, which browsers cannot combine)
is stored again as format 2 shards, the same key at the same places, with a new recovery shard; `c11 decrypt`
names the command while the key is in format 1 (docs/shards.md §2.1)."""

from __future__ import annotations

import json
from pathlib import Path

from shardkit import verified_user
from srvkit import PASSWORD, run_cli

from c11.client import Client
from c11.keys import cloudkey


def test_a_v1_cloud_key_is_upgraded_to_v2(shard_env, tmp_path):
    env = shard_env
    user = verified_user(env.server)
    cfg = tmp_path / "dev"
    run = lambda *a: run_cli(list(a), cfg, {"C11_PASSWORD": PASSWORD})  # noqa: E731
    r = run("login", "--server", env.server.url, "--email", user["email"])
    assert r.returncode == 0, r.stderr
    first = next((cfg / "recovery").glob("c11_recovery_*.shard"))
    assert cloudkey.dearmor(first.read_text()).version == 2  # new keys are format 2
    with Client(env.server.url, user["token"]) as c:  # the same key stored again as format 1, as before v2
        c.state_dir = tmp_path / "sdk"
        c.shards.password = user["password"]
        me = c.shards.fetch().identity
        old = c.shards.create(me, version=1)
        assert old.recovery is not None and old.recovery.version == 1
    plain = tmp_path / "note.txt"
    plain.write_text("upgrade me")
    r = run("encrypt", "-r", user["email"], "-o", str(tmp_path / "note.c11"), str(plain))
    assert r.returncode == 0, r.stderr
    r = run("decrypt", "-o", str(tmp_path / "out1"), str(tmp_path / "note.c11"))
    assert r.returncode == 0 and "c11 keys upgrade" in r.stderr, r.stderr

    r = run("keys", "upgrade", "--json")
    assert r.returncode == 0, r.stderr
    done = json.loads(r.stdout)
    assert done["upgraded"] is True and done["fingerprint"] == me.fingerprint
    fresh = cloudkey.dearmor(Path(done["recovery_file"]).read_text())
    assert fresh.version == 2 and fresh.fingerprint == me.fingerprint
    r = run("decrypt", "-o", str(tmp_path / "out2"), str(tmp_path / "note.c11"))
    assert r.returncode == 0 and "c11 keys upgrade" not in r.stderr, r.stderr
    assert (tmp_path / "out2").read_text() == "upgrade me"
    r = run("keys", "upgrade")
    assert r.returncode == 0 and "format 2 already" in r.stderr, r.stderr
