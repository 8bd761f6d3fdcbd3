"""The c11 server's database alone (every row of every table) cannot rebuild any cloud-stored private key; nor
can it with the server's secrets folder and signing keys: the store tokens it mints release no shard, since a
store hands a shard only to a session got by the person's own OPAQUE login there (docs/shards.md §7, §8)."""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets

import httpx
import pytest
import sqlalchemy as sa
from shardkit import verified_user

from c11 import files
from c11.client import Client
from c11.errors import C11Error, FormatError, IntegrityError
from c11.keys import cloudkey, keyfile
from c11.keys.cloudkey import Shard
from c11.keys.identity import Identity


def _dump(url: str) -> list[bytes]:
    """Every value of every row of every table, as bytes (text also base64-decoded when it is base64)."""
    engine = sa.create_engine(url)
    values: list[bytes] = []
    try:
        with engine.connect() as c:
            meta = sa.MetaData()
            meta.reflect(c)
            assert {"cloud_keys", "key_archives", "shard_token_uses", "log_entries", "users"} <= set(meta.tables)
            for table in meta.sorted_tables:
                for row in c.execute(sa.select(table)):
                    for v in row:
                        if isinstance(v, (bytes, bytearray, memoryview)):
                            values.append(bytes(v))
                        elif isinstance(v, str):
                            values.append(v.encode())
                            try:
                                values.append(base64.b64decode(v, validate=True))
                            except (binascii.Error, ValueError):
                                pass
    finally:
        engine.dispose()
    return values


def _shards(values: list[bytes]) -> list[Shard]:
    found = []
    for v in values:
        try:
            found.append(Shard.parse(v))
        except FormatError:
            continue
    return found


def test_database_alone_cannot_rebuild_cloud_keys(shard_env, tmp_path):
    env = shard_env
    keys: dict[str, Identity] = {}
    passwords: list[str] = []
    for n in range(3):
        user = verified_user(env.server, f"victim{n}", secrets.token_urlsafe(18))  # strong passwords
        with Client(env.server.url, user["token"]) as c:
            c.state_dir = tmp_path / str(n)
            c.shards.password = user["password"]
            me = Identity.generate(user["email"])
            c.shards.create(me)
            c.shards.fetch()  # fetches and store tokens leave rows and log entries too
            if n == 0:  # an archive of an old key, encrypted to the current one
                c.shards.store_archive([Identity.generate(user["email"])], me)
            keys[me.fingerprint] = me
            passwords.append(user["password"])
    values = _dump(env.server.config.database_url)
    shards = _shards(values)
    assert {s.fingerprint for s in shards} >= set(keys)
    tried = 0
    for fp, _me in keys.items():
        mine = [s for s in shards if s.fingerprint == fp]
        assert {s.index for s in mine} == {1}, "the server keeps one shard per key, never two"
        # every pair of shards found in the database
        for a, b in itertools.product(mine, repeat=2):
            with pytest.raises((FormatError, IntegrityError)):
                cloudkey.rebuild([a, b])
        # every row value, taken as the missing share at index 2 or 3 (format 2: its y bytes, with an x byte
        # other than the server shard's)
        x = b"\x01" if mine[0].share[-1] != 1 else b"\x02"
        for v in values:
            if len(v) < 32:
                continue
            for index in (2, 3):
                guess = Shard(
                    index,
                    mine[0].threshold,
                    mine[0].count,
                    mine[0].split_id,
                    v[:32] + x if mine[0].version == 2 else v[:32],
                    mine[0].created,
                    mine[0].label,
                    mine[0].public_line,
                    mine[0].user_id,
                    mine[0].nonce,
                    mine[0].sealed,
                    mine[0].version,
                )
                with pytest.raises(IntegrityError):
                    cloudkey.rebuild([mine[0], guess])
                tried += 1
    assert tried > 100

    # the secrets folder holds the key server's key and two signing keys (and the server's own OPAQUE setup once
    # someone used the OPAQUE login): none opens the archive
    secrets_dir = env.server.data_dir / "secrets"
    names = sorted(p.name for p in secrets_dir.iterdir())
    assert (
        {"keyserver.key", "log.key", "shard-token.key"}
        <= set(names)
        <= {"keyserver.key", "log.key", "shard-token.key", "opaque-setup.key"}
    )
    server_identity = keyfile.load(secrets_dir / "keyserver.key").unlock()
    archives = [v for v in values if v.startswith(b"\x89C11")]
    assert archives
    for blob in archives:
        with pytest.raises(C11Error):
            files.decrypt_bytes(blob, [server_identity])

    # with the token signing key the attacker mints store tokens for every victim, and asks the store for the
    # missing shard, or registers its own password there (the victim has one): nothing is released
    from c11._web import shard_tokens as store_tokens

    key = store_tokens.load_or_create_key(secrets_dir)
    store = env.stores[0].url
    for me in keys.values():
        held = next(s for s in shards if s.fingerprint == me.fingerprint)  # the server's shard names the user
        for action, method, body in (
            ("get", "GET", None),
            ("delete", "DELETE", None),
            ("put", "PUT", {"shard": held.b64(), "registration": "AAAA"}),
        ):
            minted = store_tokens.issue(
                key, issuer=env.server.url, user_id=held.user_id, store=store, action=action, ttl=60
            )
            r = httpx.request(
                method, store + "/v1/shard", json=body, timeout=30, headers={"authorization": f"Bearer {minted.token}"}
            )
            assert r.status_code == 401 and "shard" not in r.json(), (action, r.text)
            assert r.json()["type"].endswith(":store-login-required")
        minted = store_tokens.issue(key, issuer=env.server.url, user_id=held.user_id, store=store, action="put", ttl=60)
        r = httpx.post(
            store + "/v1/opaque/register",
            json={"request": "AAAA"},
            timeout=30,
            headers={"authorization": f"Bearer {minted.token}"},
        )
        assert r.status_code == 401

    # the store's login needs the password, which no row holds; accounts made by OPAQUE sign-up have no
    # Argon2id hash at all (docs/server.md "Password flows (OPAQUE)")
    emails = ", ".join(f"'{me.label}'" for me in keys.values())
    engine = sa.create_engine(env.server.config.database_url)
    with engine.connect() as c:  # the victims' hashes (the shared server has other test users too)
        hashes = [r[0] for r in c.execute(sa.text(f"SELECT password_hash FROM users WHERE email IN ({emails})"))]
    engine.dispose()
    assert hashes == [None, None, None]
    for v in values:
        assert not any(pw.encode() in v for pw in passwords)

    # control: with the store's shard (not in the server's database) the same code does rebuild the key
    store_db = sa.create_engine(f"sqlite:///{env.stores[0].data_dir / 'shard-store.db'}")
    with store_db.connect() as c:
        store_shards = [Shard.parse(bytes(r[0])) for r in c.execute(sa.text("SELECT shard FROM shards"))]
    store_db.dispose()
    for fp, me in keys.items():
        theirs = next(s for s in store_shards if s.fingerprint == fp)
        server_one = next(s for s in shards if s.fingerprint == fp)
        assert cloudkey.rebuild([server_one, theirs]).enc_seed == me.enc_seed
