"""Log key hand-over statements (docs/log.md section 9): the committed vectors, and every refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from c11.errors import ProofError
from c11.log._note import NoteSigner
from c11.log.checkpoint import NoteVerifier
from c11.log.handover import HANDOVER_TAG, follow_handovers, open_handover, sign_handover

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "log-handover" / "vectors.json").read_text("utf-8"))


def test_vector_bytes_are_reproduced() -> None:
    old, new = NoteSigner.parse(VECTORS["old_signer"]), NoteSigner.parse(VECTORS["new_signer"])
    assert str(old.verifier) == VECTORS["old_verifier"] and str(new.verifier) == VECTORS["new_verifier"]
    note = sign_handover(old, new)
    assert note.decode("utf-8") == VECTORS["note"]  # Ed25519 is deterministic: a second implementation matches
    assert VECTORS["text"] == f"{HANDOVER_TAG}\n{VECTORS['origin']}\n{old.verifier}\n{new.verifier}\n"
    assert note.startswith(VECTORS["text"].encode() + b"\n")
    h = open_handover(note, NoteVerifier.parse(VECTORS["old_verifier"]))
    assert (h.origin, str(h.old), str(h.new)) == (VECTORS["origin"], VECTORS["old_verifier"], VECTORS["new_verifier"])


@pytest.mark.parametrize("case", VECTORS["invalid"], ids=lambda c: c["why"])
def test_invalid_vectors_are_refused(case: dict[str, str]) -> None:
    with pytest.raises(ProofError):
        open_handover(case["note"].encode("utf-8"), NoteVerifier.parse(VECTORS["old_verifier"]))


def test_a_flipped_byte_anywhere_is_refused() -> None:
    note = VECTORS["note"].encode("utf-8")
    old = NoteVerifier.parse(VECTORS["old_verifier"])
    for i in range(0, len(note), 7):
        bad = bytearray(note)
        bad[i] ^= 0x01
        try:
            h = open_handover(bytes(bad), old)
        except ProofError:
            continue
        pytest.fail(f"flipping byte {i} still opened: {h}")


def test_keys_must_share_the_name_and_differ() -> None:
    a = NoteSigner.generate("a.example/log")
    with pytest.raises(ValueError, match="name"):
        sign_handover(a, NoteSigner.generate("b.example/log"))
    with pytest.raises(ValueError, match="old one"):
        sign_handover(a, a)
    with pytest.raises(ProofError, match="longer"):
        open_handover(b"x" * 5000, a.verifier)


def test_follow_a_chain_and_skip_older_links() -> None:
    k1, k2, k3 = (NoteSigner.generate("c11.example/log") for _ in range(3))
    h12, h23 = sign_handover(k1, k2), sign_handover(k2, k3)
    chain = follow_handovers(k1.verifier, [h12, h23])
    assert [str(h.new) for h in chain] == [str(k2.verifier), str(k3.verifier)]
    # a client that pinned k2 skips the first hand-over
    assert [str(h.new) for h in follow_handovers(k2.verifier, [h12, h23])] == [str(k3.verifier)]
    # a key nobody handed over to: no chain
    assert follow_handovers(NoteSigner.generate("c11.example/log").verifier, [h12, h23]) == []


def test_a_forged_link_from_the_pinned_key_is_an_error_not_skipped() -> None:
    k1, k2, evil = (NoteSigner.generate("c11.example/log") for _ in range(3))
    # the attacker (no k1 secret) writes a statement naming k1 as old, signed by the attacker and the new key
    from c11.log._note import sign_note
    from c11.log.handover import Handover

    forged = sign_note(Handover(k1.name, k1.verifier, evil.verifier).to_text(), [evil])
    with pytest.raises(ProofError):
        follow_handovers(k1.verifier, [forged, sign_handover(k1, k2)])
