"""Regenerate tests/vectors/shares/v2_python.json (run by hand: python tests/vectors/shares/generate_v2.py).

Share format v2 (docs/shards.md §2.1.2) made by the Python library (horcrux 1.3.1, module `shamir`, through
`c11.keys.shares`): Shamir cases with every subset of two or more shares and whether it rebuilds the secret
(only subsets of at least `threshold` do), and version 2 cloud keys (§2.2) as three shards -> K, seeds, public
key. The browser (npm shamir-secret-sharing) checks them in tests/web/test_core_vectors.py; v2_js.json is the
other direction (generate_v2.mjs).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "src"))

import shamir  # noqa: E402

from c11.keys import cloudkey, shares  # noqa: E402
from c11.keys.identity import Identity  # noqa: E402

CASES = [(2, 3, 32), (2, 2, 32), (3, 5, 32), (5, 5, 32), (4, 6, 32), (2, 4, 1), (3, 3, 17)]


def seeded(n: int, size: int = 32) -> bytes:
    return hashlib.sha256(f"c11 shares v2 python vector {n}".encode()).digest()[:size]


def main() -> None:
    cases = []
    for n, (threshold, count, size) in enumerate(CASES):
        secret = seeded(n, size)
        made = [bytes(s) for s in shamir.split(secret, count, threshold)]
        if size == shares.SECRET_SIZE:  # c11's own wrapper gives the same layout
            made = [s for _, s in shares.split(secret, threshold, count)]
        subsets = []
        for m in range(2, count + 1):
            for subset in itertools.combinations(range(count), m):
                got = bytes(shamir.combine([bytearray(made[i]) for i in subset]))
                assert (got == secret) == (m >= threshold)
                subsets.append({"shares": list(subset), "rebuilds": got == secret})
        cases.append(
            {
                "threshold": threshold,
                "count": count,
                "secret": secret.hex(),
                "shares": [s.hex() for s in made],
                "subsets": subsets,
            }
        )
    cloud = []
    for n, kem in enumerate(["mlkem768x25519", "x25519"]):
        ident = Identity(f"v2vector{n}@example.com", kem, seeded(10 + n), seeded(20 + n), 1797000000 + n)
        user_id = hashlib.sha256(f"v2 user {n}".encode()).hexdigest()[:32]
        k, split_id, nonce = seeded(30 + n), seeded(40 + n)[:16], seeded(50 + n)[:12]
        found = cloudkey.make_shards(ident, user_id, k=k, split_id=split_id, nonce=nonce, version=2)
        cloud.append(
            {
                "user_id": user_id,
                "k": k.hex(),
                "split_id": split_id.hex(),
                "nonce": nonce.hex(),
                "label": ident.label,
                "kem": kem,
                "created": ident.created,
                "enc_seed": ident.enc_seed.hex(),
                "sig_seed": ident.sig_seed.hex(),
                "public_key": ident.public.line(),
                "fingerprint": ident.fingerprint,
                "shards": [s.b64() for s in found],
                "recovery_armor": cloudkey.armor(found[2]),
            }
        )
    doc = {
        "comment": "docs/shards.md §2.1.2 and §2.2 (version 2); regenerate with tests/vectors/shares/generate_v2.py",
        "library": f"horcrux {shamir.__version__} (PyPI, module shamir)",
        "cases": cases,
        "cloud_keys": cloud,
    }
    (HERE / "v2_python.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
