"""Regenerate the desktop update-feed vector (docs/desktop.md#updates): `python generate.py` in this folder.

The signing key is a fixed, published TEST key (seed below): it signs nothing but this vector."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HERE = Path(__file__).resolve().parent
SEED = bytes(range(32))  # test only
DOMAIN = b"c11-desktop-feed/v1\x00"

feed = (
    json.dumps(
        {
            "format": "c11-desktop-feed/v1",
            "version": "1.2.3",
            "released": "2026-12-01",
            "url": "https://c11.example.com/releases/1.2.3",
            "notes": "Test release for the vector.",
        },
        indent=2,
    )
    + "\n"
).encode()
key = Ed25519PrivateKey.from_private_bytes(SEED)
(HERE / "feed.json").write_bytes(feed)
(HERE / "feed.json.sig").write_text(base64.b64encode(key.sign(DOMAIN + feed)).decode() + "\n")
public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
(HERE / "key.json").write_text(json.dumps({"seed": SEED.hex(), "public_key": public.hex()}, indent=2) + "\n")
