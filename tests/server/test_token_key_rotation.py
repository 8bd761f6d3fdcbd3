"""Rotation of the shard store token key (`c11 db rotate-token-key`): new tokens use the new key, tokens of the old
key stay valid until they expire (and no longer: a leaked old key mints nothing after the grace), and a shard store
that pinned the old key follows the hand-over the old key signed — never one it did not."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import OKPKey
from srvkit import run_cli, server_config, start_server

from c11._web import shard_tokens as tokens
from c11.server.context import ServerContext
from c11.server.shards.service import ShardService
from c11.shardstore.config import StoreConfig
from c11.shardstore.trust import ServerTrust

STORE = "http://127.0.0.1:8100"


def _service(data_dir: Path, config: Any = None) -> ShardService:
    config = config or server_config(data_dir, f"sqlite:///{data_dir / 'c11.db'}")
    return ShardService(ServerContext(config=config, db=None, passwords=None))  # type: ignore[arg-type]


def _forge(key: OKPKey, issuer: str, iat: int, kid: str | None = None) -> str:
    claims = {"iss": issuer, "sub": "u1", "aud": STORE, "act": "get", "iat": iat, "exp": iat + 300, "jti": "a" * 32}
    header = {"alg": tokens.ALG, "typ": "JWT", "kid": kid or key.thumbprint()}
    return str(jwt.encode(header, claims, key, algorithms=[tokens.ALG]))


def test_old_tokens_stay_valid_until_they_expire_new_ones_use_the_new_key(tmp_path: Path) -> None:
    svc = _service(tmp_path / "data")
    old_key = svc.key
    before = svc.issue("u1", STORE, "get")
    done = run_cli(["db", "rotate-token-key", "--data-dir", str(tmp_path / "data"), "--json"], tmp_path / "cli")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["old"] == old_key.thumbprint() and out["new"] != out["old"]
    after = svc.issue("u1", STORE, "get")  # the running service picked up the new key file
    assert tokens.token_kid(after.token) == out["new"] and tokens.token_kid(before.token) == out["old"]
    for t in (before, after):
        assert tokens.verify(t.token, svc.keys, issuer=svc.issuer, audience=STORE)["jti"] == t.jti
    # the old key verifies only tokens presented within the longest lifetime after the hand-over
    late = out["at"] + tokens.RETIRED_GRACE + 1
    forged = _forge(old_key, svc.issuer, iat=out["at"])  # issued at the hand-over: still in grace
    assert tokens.verify(forged, svc.keys, issuer=svc.issuer, audience=STORE, now=out["at"] + 200)
    with pytest.raises(tokens.TokenError, match="retired key"):
        tokens.verify(forged, svc.keys, issuer=svc.issuer, audience=STORE, now=late)
    # the retired key (perhaps leaked) mints nothing issued after its hand-over, even within the grace
    minted = _forge(old_key, svc.issuer, iat=out["at"] + 1)
    with pytest.raises(tokens.TokenError, match="after its hand-over"):
        tokens.verify(minted, svc.keys, issuer=svc.issuer, audience=STORE, now=out["at"] + 2)
    # a key nobody handed over to, even under a known kid, is refused
    stranger = OKPKey.generate_key("Ed25519")
    with pytest.raises(tokens.TokenError):
        tokens.verify(
            _forge(stranger, svc.issuer, int(time.time()), out["new"]), svc.keys, issuer=svc.issuer, audience=None
        )
    with pytest.raises(tokens.TokenError, match="unknown key"):
        tokens.verify(_forge(stranger, svc.issuer, int(time.time())), svc.keys, issuer=svc.issuer, audience=None)
    # a second rotation chains: the first key's tokens are still known (within their grace)
    tokens.rotate_key(svc.secrets)
    assert [k.thumbprint() for k, _ in svc.keys.retired] == [out["old"], out["new"]]


def test_a_store_follows_the_hand_over_and_refuses_a_forged_one(tmp_path: Path) -> None:
    server = start_server(server_config(tmp_path / "data", f"sqlite:///{tmp_path / 'c11.db'}"), "sqlite")
    svc = _service(server.data_dir, server.config)  # the same issuer (URL) and secrets as the server
    trust = ServerTrust(StoreConfig(data_dir=tmp_path / "store", server=server.url, port=8100))
    try:
        first = svc.issue("u1", STORE, "get")
        assert trust.verify(first.token, "get")["jti"] == first.jti  # pins the first key
        pinned = json.loads((tmp_path / "store" / "server-key.json").read_text())["jwk"]["kid"]
        handover = tokens.rotate_key(server.data_dir / "secrets")
        second = svc.issue("u1", STORE, "get")
        assert trust.verify(second.token, "get")["jti"] == second.jti  # followed the signed hand-over
        saved = json.loads((tmp_path / "store" / "server-key.json").read_text())
        assert saved["jwk"]["kid"] == handover.new_kid and [r["jwk"]["kid"] for r in saved["retired"]] == [pinned]
        assert trust.verify(first.token, "get")["jti"] == first.jti  # old tokens: valid until they expire
        # a hand-over the pinned (now new) key did not sign: appended by someone with the secrets folder but not
        # the key; the store does not follow it
        evil, evil_next = OKPKey.generate_key("Ed25519"), OKPKey.generate_key("Ed25519")
        forged = tokens.sign_handover(evil, evil_next, int(time.time()))
        path = server.data_dir / "secrets" / tokens.HANDOVERS_FILE
        path.write_text(json.dumps([*json.loads(path.read_text()), forged]))
        trust._followed = -1e9  # no 30 s wait in the test
        with pytest.raises(tokens.TokenError):
            trust.verify(_forge(evil_next, trust.config.server_url, int(time.time())), "get")
        assert json.loads((tmp_path / "store" / "server-key.json").read_text())["jwk"]["kid"] == handover.new_kid
    finally:
        trust.close()
        server.stop()


def test_hand_over_statement_checks(tmp_path: Path) -> None:
    a, b, c = (OKPKey.generate_key("Ed25519") for _ in range(3))
    h = tokens.sign_handover(a, b, 1000)
    assert tokens.open_handover(h, a).new_kid == b.thumbprint()
    with pytest.raises(tokens.TokenError):
        tokens.open_handover(h, c)  # not by this key
    head, body, sig = h.split(".")
    with pytest.raises(tokens.TokenError):
        tokens.open_handover(f"{head}.{body}.{('B' if sig[0] == 'A' else 'A')}{sig[1:]}", a)  # first 6 bits changed
    with pytest.raises(tokens.TokenError):
        tokens.open_handover("x" * 5000, a)
    assert tokens.follow_handovers(c, [h]) == []


def test_revoke_now_leaves_the_old_key_nothing(tmp_path: Path) -> None:
    """`rotate-token-key --revoke-now` (the old key leaked): tokens it signed stop verifying at once; a store
    following the hand-over learns the same (the back-dated hand-over time is signed)."""
    svc = _service(tmp_path / "data")
    old_key = svc.key
    before = svc.issue("u1", STORE, "get")
    assert tokens.verify(before.token, svc.keys, issuer=svc.issuer, audience=STORE)
    done = run_cli(
        ["db", "rotate-token-key", "--data-dir", str(tmp_path / "data"), "--revoke-now", "--json"], tmp_path / "cli"
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["revoked"] is True and out["at"] < time.time() - tokens.RETIRED_GRACE
    svc.issue("u1", STORE, "get")  # picks up the new key file
    with pytest.raises(tokens.TokenError, match="retired key"):
        tokens.verify(before.token, svc.keys, issuer=svc.issuer, audience=STORE)
    with pytest.raises(tokens.TokenError):
        tokens.verify(_forge(old_key, svc.issuer, int(time.time())), svc.keys, issuer=svc.issuer, audience=STORE)
    chain = tokens.follow_handovers(old_key, tokens.load_handovers(tmp_path / "data" / "secrets"))
    assert [h.at for h in chain] == [out["at"]]
