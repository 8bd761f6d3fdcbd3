"""Regenerate the secret-sharing and cloud-key vectors (run by hand: python tests/vectors/shares/generate.py).

Shamir's split draws random polynomials, so these are combination vectors: given these shares, a reader
must rebuild the recorded secret (and, for cloud keys, the recorded identity). Format: docs/shards.md §2.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "src"))

from c11.keys import cloudkey, shares  # noqa: E402
from c11.keys.identity import Identity  # noqa: E402


def seeded(n: int) -> bytes:
    return hashlib.sha256(f"c11 shares vector {n}".encode()).digest()


def main() -> None:
    shamir = []
    for n, (threshold, count) in enumerate([(2, 3), (2, 2), (3, 5)]):
        secret = seeded(100 + n)
        shamir.append(
            {
                "threshold": threshold,
                "count": count,
                "secret": secret.hex(),
                "shares": [[i, s.hex()] for i, s in shares.split(secret, threshold, count, version=1)],
            }
        )
    cloud = []
    for n, kem in enumerate(["mlkem768x25519", "x25519"]):
        ident = Identity(f"vector{n}@example.com", kem, seeded(10 + n), seeded(20 + n), 1795000000 + n)
        user_id = hashlib.sha256(f"user {n}".encode()).hexdigest()[:32]
        k, split_id, nonce = seeded(30 + n), seeded(40 + n)[:16], seeded(50 + n)[:12]
        found = cloudkey.make_shards(ident, user_id, k=k, split_id=split_id, nonce=nonce, version=1)
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
        "comment": "docs/shards.md §2; regenerate with tests/vectors/shares/generate.py",
        "shamir": shamir,
        "cloud_keys": cloud,
    }
    (HERE / "shares.json").write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
