"""Share format v2 (docs/shards.md §2.1.2, Vault's GF(2^8) byte-wise Shamir) across the two libraries: the
shares the browser's library made (v2_js.json, npm shamir-secret-sharing) combine in Python (horcrux, through
c11.keys.shares) exactly as recorded, and Python's own vectors (v2_python.json, checked in Chromium by
tests/web/test_core_vectors.py) hold; version 2 cloud keys rebuild, and v1 keys still do."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import shamir

from c11.errors import FormatError, IntegrityError
from c11.keys import cloudkey, shares
from c11.keys.identity import Identity

HERE = Path(__file__).resolve().parents[1] / "vectors" / "shares"
JS = json.loads((HERE / "v2_js.json").read_text())
PY = json.loads((HERE / "v2_python.json").read_text())


def _cases():  # type: ignore[no-untyped-def]
    return [
        pytest.param(c, id=f"{src}-{c['threshold']}of{c['count']}")
        for src, d in (("js", JS), ("py", PY))
        for c in d["cases"]
    ]


@pytest.mark.parametrize("case", _cases())
def test_v2_shamir_vectors_combine_in_python(case):
    secret = bytes.fromhex(case["secret"])
    made = [bytes.fromhex(s) for s in case["shares"]]
    xs = [s[-1] for s in made]
    assert all(len(s) == len(secret) + 1 for s in made) and 0 not in xs and len(set(xs)) == len(xs)
    assert len(case["subsets"]) == 2 ** case["count"] - 1 - case["count"]  # every subset of two or more
    for sub in case["subsets"]:
        got = bytes(shamir.combine([bytearray(made[i]) for i in sub["shares"]]))
        assert (got == secret) is sub["rebuilds"] is (len(sub["shares"]) >= case["threshold"]), sub
        if len(secret) == shares.SECRET_SIZE and len(sub["shares"]) >= case["threshold"]:
            indexed = [(i + 1, made[i]) for i in sub["shares"]]
            assert shares.combine(indexed, case["threshold"], version=2) == secret
    # duplicates: the library refuses a repeated x; c11 refuses two shards with one coordinate
    with pytest.raises(ValueError):
        shamir.combine([bytearray(made[0]), bytearray(made[0])])
    if len(secret) == shares.SECRET_SIZE:
        with pytest.raises(FormatError):
            shares.combine([(1, made[0]), (2, made[0])], 2, version=2)
        with pytest.raises(FormatError):  # x = 0 would be the secret itself: never a share
            shares.combine([(1, made[0][:-1] + b"\0"), (2, made[1])], 2, version=2)
        with pytest.raises(FormatError):
            shares.combine([(1, made[0])], 2, version=2)


def test_v2_split_thresholds_and_layout():
    secret = bytes(range(32))
    for threshold in range(2, 6):
        made = shares.split(secret, threshold, 5)
        assert [i for i, _ in made] == [1, 2, 3, 4, 5] and {len(s) for _, s in made} == {33}
        for subset in itertools.combinations(made, threshold):
            assert shares.combine(list(subset), threshold, version=2) == secret
        if threshold > 2:  # fewer than threshold: a wrong value, which is why the rebuilt K is authenticated
            assert bytes(shamir.combine([bytearray(s) for _, s in made[: threshold - 1]])) != secret


@pytest.mark.parametrize("case", PY["cloud_keys"], ids=lambda c: c["kem"])
def test_v2_cloud_key_vectors(case):
    found = [cloudkey.Shard.from_b64(s) for s in case["shards"]]
    assert {s.version for s in found} == {2} and [s.index for s in found] == [1, 2, 3]
    for pair in itertools.permutations(found, 2):
        ident = cloudkey.rebuild(list(pair), case["user_id"])
        assert ident.enc_seed.hex() == case["enc_seed"] and ident.sig_seed.hex() == case["sig_seed"]
        assert ident.public.line() == case["public_key"] and ident.created == case["created"]
    assert shares.combine([(s.index, s.share) for s in found[1:]], 2, version=2).hex() == case["k"]
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
    )
    assert again[0].version == 2 and again[0].sealed == found[0].sealed
    assert cloudkey.dearmor(case["recovery_armor"]).encode() == found[2].encode()
    # a v2 shard read as v1 (magic swapped) does not open: the version is bound into the seal
    raw = found[0].encode()
    with pytest.raises(FormatError):
        cloudkey.Shard.parse(cloudkey.MAGIC + raw[len(cloudkey.MAGIC) :])  # 33-byte share: bad sizes as v1
    bad = bytearray(found[1].encode())
    bad[len(cloudkey.MAGIC) + 3] ^= 1
    with pytest.raises(IntegrityError):
        cloudkey.rebuild([found[0], cloudkey.Shard.parse(bytes(bad))])
    old = json.loads((HERE / "shares.json").read_text())["cloud_keys"][0]
    v1 = [cloudkey.Shard.from_b64(s) for s in old["shards"]]
    with pytest.raises(IntegrityError):  # v1 and v2 shards never mix
        cloudkey.rebuild([v1[0], found[1]])


def test_new_cloud_keys_are_v2_and_v1_still_rebuilds():
    ident = Identity.generate("v2@example.com", "x25519")
    found = cloudkey.make_shards(ident, "u" * 32)
    assert {s.version for s in found} == {2} and found[0].encode().startswith(b"c11-shard/v2\x00")
    assert cloudkey.rebuild(found[::2], "u" * 32).sig_seed == ident.sig_seed
    old = cloudkey.make_shards(ident, "u" * 32, version=1)
    assert cloudkey.rebuild(old[1:], "u" * 32).sig_seed == ident.sig_seed
