"""Regenerate the group key envelope vectors (docs/format.md §12): python tests/vectors/groups/generate.py

Identities come from fixed seeds, so the group key document (the wrap's plaintext) is deterministic; the
wraps themselves are c11 files (fresh HPKE ephemeral keys), so they are decryption vectors: with
`member.key`, a reader must get the recorded group key, or refuse with the recorded error.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "src"))

from c11 import (
    files,  # noqa: E402
    groupkey,  # noqa: E402
)
from c11.groupkey import GroupKeyRef  # noqa: E402
from c11.keys import keyfile  # noqa: E402
from c11.keys.identity import Identity  # noqa: E402

REF = {"org": "0123456789abcdef0123456789abcdef", "group": "finance", "version": 2}


def seeded(label: str, n: int) -> Identity:
    enc = hashlib.sha256(f"c11 group vector enc {n}".encode()).digest()
    sig = hashlib.sha256(f"c11 group vector sig {n}".encode()).digest()
    return Identity(label, "mlkem768x25519", enc, sig, 1795000000)


def main() -> None:
    member, other = seeded("member@example.com", 1), seeded("other@example.com", 2)
    wrapper = seeded("admin@example.com", 3)
    group = seeded("group:finance", 4)
    keyfile.write(HERE / "member.key", member, None, force=True)
    ref = GroupKeyRef(**REF)
    plaintext = groupkey.encode(group, ref)

    def sealed(data: bytes, to: Identity = member, media_type: str = groupkey.MEDIA_TYPE) -> str:
        blob = files.encrypt_bytes(data, [to.public], wrapper, include_sender=False, media_type=media_type)
        return base64.b64encode(blob).decode("ascii")

    doc = json.loads(plaintext)
    other_group = seeded("group:finance", 5)
    mismatched = dict(doc, public=other_group.public.line())
    cases = [
        {"name": "valid", "wrapped": groupkey.wrap(group, ref, member.public, wrapper), "ref": REF, "expect": "ok"},
        {
            "name": "wrong version asked",
            "wrapped": groupkey.wrap(group, ref, member.public, wrapper),
            "ref": dict(REF, version=3),
            "expect": "FormatError",
        },
        {
            "name": "another group asked",
            "wrapped": groupkey.wrap(group, ref, member.public, wrapper),
            "ref": dict(REF, group="legal"),
            "expect": "FormatError",
        },
        {
            "name": "for another member",
            "wrapped": groupkey.wrap(group, ref, other.public, wrapper),
            "ref": REF,
            "expect": "NoMatchingKeyError",
        },
        {
            "name": "not canonical JSON",
            "wrapped": sealed(json.dumps(doc, indent=1).encode()),
            "ref": REF,
            "expect": "FormatError",
        },
        {
            "name": "seeds do not derive the public key",
            "ref": REF,
            "expect": "FormatError",
            "wrapped": sealed(json.dumps(mismatched, sort_keys=True, separators=(",", ":")).encode()),
        },
        {
            "name": "not a group key (media type)",
            "wrapped": sealed(plaintext, media_type="text/plain"),
            "ref": REF,
            "expect": "FormatError",
        },
    ]
    out = {
        "member_key": "member.key",
        "wrapper_signing_fingerprint": wrapper.public.sig_fingerprint,
        "group": {
            "public": group.public.line(),
            "fingerprint": group.fingerprint,
            "enc_seed": group.enc_seed.hex(),
            "sig_seed": group.sig_seed.hex(),
        },
        "ref": REF,
        "plaintext": plaintext.decode("ascii"),
        "cases": cases,
    }
    (HERE / "groups.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
