"""Regenerate the enterprise unwrap vectors (by hand: .venv/bin/python tests/vectors/enterprise-unwrap/generate.py).

HPKE is randomized, so these are decryption vectors: the member's seeds open the request's stanza to `file_key`,
the client's seed opens `answer` to `file_key`, and `answer_info` is deterministic (docs/enterprise.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2] / "src"))

from c11.crypto.kem import HYBRID, kem_type  # noqa: E402
from c11.format import envelope  # noqa: E402
from c11.format.enterprise import UnwrapRequest, answer_info, seal_answer  # noqa: E402
from c11.keys.identity import Identity  # noqa: E402


def main() -> None:
    member = Identity("member@corp.example", HYBRID, bytes(range(32)), bytes(range(32, 64)), 1_700_000_000)
    author = Identity("author@example.com", HYBRID, bytes([7]) * 32, bytes([8]) * 32, 1_700_000_000)
    header, file_key = envelope.seal(
        recipients=[member.public, author.public],
        sender=author,
        file_key=bytes([0x11]) * 32,
        nonce=bytes([0x22]) * 16,
        doc_id=bytes([0x33]) * 16,
        created=1_700_000_000,
    )
    out = {}
    for kem, seed in (("x25519", bytes([0x44]) * 32), (HYBRID, bytes([0x55]) * 32)):
        client_pub = kem_type(kem).public_bytes(seed)
        req = UnwrapRequest(header.encode(), member.public.key_id, kem, client_pub)
        out[kem] = {
            "client_seed": seed.hex(),
            "request": req.to_json().decode(),
            "answer_info": answer_info(header.doc_id, member.public.key_id, req.client_key_id).hex(),
            "answer": seal_answer(req, header.doc_id, file_key).decode(),
        }
    doc = {
        "comment": "docs/enterprise.md, Protocol. Member X-Wing seed, Ed25519 seed; decryption vectors.",
        "member_label": member.label,
        "member_enc_seed": member.enc_seed.hex(),
        "member_sig_seed": member.sig_seed.hex(),
        "member_key_id": member.public.key_id.hex(),
        "doc_id": header.doc_id.hex(),
        "file_key": file_key.hex(),
        "clients": out,
    }
    (HERE / "vectors.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
