"""The committed secret-sharing and cloud-key vectors (tests/vectors/shares/, docs/shards.md §2), checked
with c11's code and with an independent implementation of the documented GF(2^128) arithmetic."""

from __future__ import annotations

import base64
import itertools
import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from c11.errors import FormatError, IntegrityError
from c11.keys import cloudkey, shares
from c11.keys.identity import Identity

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "shares" / "shares.json").read_text())
_POLY = (1 << 128) | 0x87  # 1 + x + x^2 + x^7 + x^128; bit i = coefficient of x^i


def _gf_mul(a: int, b: int) -> int:
    out = 0
    while b:
        if b & 1:
            out ^= a
        b >>= 1
        a <<= 1
        if a >> 128:
            a ^= _POLY
    return out


def _gf_inv(a: int) -> int:
    result, power, e = 1, a, (1 << 128) - 2  # a^(2^128 - 2)
    while e:
        if e & 1:
            result = _gf_mul(result, power)
        power = _gf_mul(power, power)
        e >>= 1
    return result


def _lagrange_at_zero(points: list[tuple[int, int]]) -> int:
    """The documented reconstruction, written from docs/shards.md alone."""
    total = 0
    for j, (xj, yj) in enumerate(points):
        num, den = 1, 1
        for m, (xm, _) in enumerate(points):
            if m != j:
                num = _gf_mul(num, xm)
                den = _gf_mul(den, xj ^ xm)
        total ^= _gf_mul(yj, _gf_mul(num, _gf_inv(den)))
    return total


def _independent_combine(found: list[tuple[int, bytes]]) -> bytes:
    out = b""
    for half in (slice(0, 16), slice(16, 32)):
        out += _lagrange_at_zero([(i, int.from_bytes(s[half], "big")) for i, s in found]).to_bytes(16, "big")
    return out


@pytest.mark.parametrize("case", VECTORS["shamir"], ids=lambda c: f"{c['threshold']}of{c['count']}")
def test_shamir_vectors(case):
    found = [(i, bytes.fromhex(s)) for i, s in case["shares"]]
    secret = bytes.fromhex(case["secret"])
    for subset in itertools.combinations(found, case["threshold"]):
        assert shares.combine(list(subset), case["threshold"]) == secret
        assert _independent_combine(list(subset)) == secret
    for subset in itertools.combinations(found, case["threshold"] - 1):
        with pytest.raises(FormatError):
            shares.combine(list(subset), case["threshold"])
        if subset:  # fewer shares interpolate another polynomial: not the secret
            assert _independent_combine(list(subset)) != secret


@pytest.mark.parametrize("case", VECTORS["cloud_keys"], ids=lambda c: c["kem"])
def test_cloud_key_vectors(case):
    found = [cloudkey.Shard.from_b64(s) for s in case["shards"]]
    assert [s.index for s in found] == [1, 2, 3]
    for pair in itertools.combinations(found, 2):
        ident = cloudkey.rebuild(list(pair), case["user_id"])
        assert ident.enc_seed.hex() == case["enc_seed"] and ident.sig_seed.hex() == case["sig_seed"]
        assert ident.fingerprint == case["fingerprint"] and ident.public.line() == case["public_key"]
        assert ident.label == case["label"] and ident.created == case["created"]
    # K from any two shares, then the seal opened as docs/shards.md says, without c11.keys.cloudkey
    k = _independent_combine([(s.index, s.share) for s in found[::2]])
    assert k.hex() == case["k"]
    raw = base64.b64decode(case["shards"][0])
    context = raw[len(cloudkey.MAGIC) + 1 + 32 : -(12 + 80)]
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=bytes.fromhex(case["split_id"]), info=b"c11/v1 cloud key"
    ).derive(k)
    seeds = AESGCM(key).decrypt(bytes.fromhex(case["nonce"]), raw[-80:], b"c11/v1 cloud key\x00" + context)
    assert seeds.hex() == case["enc_seed"] + case["sig_seed"]
    # the same inputs seal to the same bytes (the seal is deterministic given K, split ID and nonce)
    again = cloudkey.make_shards(
        Identity(
            case["label"],
            case["kem"],
            bytes.fromhex(case["enc_seed"]),
            bytes.fromhex(case["sig_seed"]),
            case["created"],
        ),
        case["user_id"],
        k=bytes.fromhex(case["k"]),
        split_id=bytes.fromhex(case["split_id"]),
        nonce=bytes.fromhex(case["nonce"]),
        version=1,
    )
    assert again[0].sealed == found[0].sealed and again[0].context() == found[0].context()
    assert cloudkey.dearmor(case["recovery_armor"]).encode() == found[2].encode()


def test_one_shard_is_not_enough_and_tampering_is_detected():
    case = VECTORS["cloud_keys"][1]
    found = [cloudkey.Shard.from_b64(s) for s in case["shards"]]
    with pytest.raises(FormatError):
        cloudkey.rebuild([found[0]])
    with pytest.raises(FormatError):
        cloudkey.rebuild([found[0], found[0]])  # the same shard twice
    with pytest.raises(IntegrityError):
        cloudkey.rebuild(found[:2], "another-user")
    bad = bytearray(found[1].encode())
    bad[len(cloudkey.MAGIC) + 5] ^= 1  # a bit of the share
    with pytest.raises(IntegrityError):
        cloudkey.rebuild([found[0], cloudkey.Shard.parse(bytes(bad))])
    other = cloudkey.make_shards(Identity.generate("x@example.com"), case["user_id"])
    with pytest.raises(IntegrityError):
        cloudkey.rebuild([found[0], other[1]])  # shards of two splits do not mix
    for junk in (b"", b"c11-shard/v1\x00", os.urandom(200), found[0].encode()[:-1]):
        with pytest.raises(FormatError):
            cloudkey.Shard.parse(junk)
    with pytest.raises(FormatError):
        cloudkey.dearmor("not armor")


def test_fresh_split_round_trip():
    ident = Identity.generate("fresh@example.com")
    found = cloudkey.make_shards(ident, "u" * 32)
    assert len({s.share for s in found}) == 3
    for pair in itertools.permutations(found, 2):
        assert cloudkey.rebuild(list(pair), "u" * 32).enc_seed == ident.enc_seed
    assert "enc_seed" not in repr(found[0]) and ident.enc_seed.hex() not in repr(found)
