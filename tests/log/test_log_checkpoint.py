"""Signed notes and tlog checkpoints: cross-implementation vectors from Go, round trips, and refusals.

Vectors in ``vectors/`` name their source (golang.org/x/mod sumdb/note, google/trillian-examples).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from c11.errors import ProofError
from c11.log.checkpoint import (
    Checkpoint,
    NoteSigner,
    NoteVerifier,
    generate_log_key,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
    verify_checkpoint_consistency,
    verify_checkpoint_inclusion,
)
from c11.log.merkle import EMPTY_ROOT, MemoryHashStore, MerkleTree, leaf_hash

VECTORS = Path(__file__).resolve().parent / "vectors"
NOTE = json.loads((VECTORS / "go-sumdb-note.json").read_text(encoding="utf-8"))
CP = json.loads((VECTORS / "trillian-examples-checkpoint.json").read_text(encoding="utf-8"))
ORIGIN = "c11.example/log"


# --- Go sumdb/note vectors ---


def test_go_keys_parse_and_match() -> None:
    signer = NoteSigner.parse(NOTE["peter_signer_key"])
    verifier = NoteVerifier.parse(NOTE["peter_verifier_key"])
    assert (signer.name, signer.key_id) == ("PeterNeumann", 0xC74F20A3)
    assert signer.verifier == verifier
    assert str(verifier) == NOTE["peter_verifier_key"]
    assert signer.signer_key() == NOTE["peter_signer_key"]


def test_go_signature_is_byte_identical() -> None:
    signer = NoteSigner.parse(NOTE["peter_signer_key"])
    assert sign_note(NOTE["text"], [signer]).decode("utf-8") == NOTE["peter_signed"]


def test_go_open_one_known_one_unknown() -> None:
    peter = NoteVerifier.parse(NOTE["peter_verifier_key"])
    enoch = NoteVerifier.parse(NOTE["enoch_verifier_key"])
    msg = (NOTE["text"] + "\n" + NOTE["peter_signature_line"] + NOTE["enoch_signature_line"]).encode()
    note = open_note(msg, [peter])
    assert note.text == NOTE["text"]
    assert [(s.name, s.key_id) for s in note.signatures] == [("PeterNeumann", 0xC74F20A3)]
    assert [(s.name, s.key_id) for s in note.unverified] == [("EnochRoot", 0xAF0CFE78)]
    both = open_note(msg, [peter, enoch])
    assert len(both.signatures) == 2 and not both.unverified
    with pytest.raises(ProofError, match="no signature from a known key"):
        open_note(msg, [])


@pytest.mark.parametrize(
    "msg",
    [m.encode() for m in NOTE["malformed_notes"]]
    + [b"\xff" + (NOTE["text"] + "\n" + NOTE["peter_signature_line"]).encode()],
)
def test_go_malformed_notes(msg: bytes) -> None:
    peter = NoteVerifier.parse(NOTE["peter_verifier_key"])
    with pytest.raises(ProofError, match="malformed note"):
        open_note(msg, [peter])


def test_go_too_many_and_invalid_signatures() -> None:
    peter = NoteVerifier.parse(NOTE["peter_verifier_key"])
    line = NOTE["peter_signature_line"]
    assert open_note((NOTE["text"] + "\n" + line * 100).encode(), [peter]).signatures
    with pytest.raises(ProofError, match="more than 100"):
        open_note((NOTE["text"] + "\n" + line * 101).encode(), [peter])
    with pytest.raises(ProofError, match="invalid signature"):
        open_note((NOTE["text"] + "\n" + line[:60] + "ABCD" + line[60:]).encode(), [peter])


@pytest.mark.parametrize("key", NOTE["bad_verifier_keys"])
def test_go_bad_verifier_keys(key: str) -> None:
    with pytest.raises(ProofError):
        NoteVerifier.parse(key)


def test_go_key_manglings_are_refused() -> None:
    """As the Go tests do: every proper substring and every single-byte change must be refused."""
    for key, parse, err in [
        (NOTE["peter_verifier_key"], NoteVerifier.parse, ProofError),
        (NOTE["peter_signer_key"], NoteSigner.parse, ValueError),
    ]:
        b = key.encode()
        for i in range(len(b) + 1):
            for j in range(i + 1, len(b) + 1):
                if (i, j) != (0, len(b)):
                    with pytest.raises(err):
                        parse(b[i:j].decode("latin-1"))
        for i in range(len(b)):
            changed = b[:i] + bytes([b[i] + 1]) + b[i + 1 :]
            with pytest.raises(err):
                parse(changed.decode("latin-1"))


# --- real checkpoints signed by Go code ---


def test_sum_golang_org_checkpoint() -> None:
    cp = open_checkpoint(CP["sumdb_checkpoint"].encode(), CP["sumdb_verifier_key"], origin=CP["sumdb_origin"])
    assert cp.size == CP["sumdb_size"] and cp.origin == "go.sum database tree"
    assert base64.b64encode(cp.root_hash).decode() == "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk="
    with pytest.raises(ProofError, match="origin"):
        open_checkpoint(CP["sumdb_checkpoint"].encode(), CP["sumdb_verifier_key"])  # origin != key name
    with pytest.raises(ProofError):
        open_checkpoint(
            CP["sumdb_checkpoint"].replace("6476701", "6476702").encode(),
            CP["sumdb_verifier_key"],
            origin=CP["sumdb_origin"],
        )


def test_go_keys_sign_checkpoints_with_witnesses() -> None:
    keys = CP["keys"]
    cp = Checkpoint("Log", 42, leaf_hash(b"x"))
    msg = sign_checkpoint(
        cp, keys["log_signer"], NoteSigner.parse(keys["known1_signer"]), NoteSigner.parse(keys["unknown_signer"])
    )
    assert open_checkpoint(msg, keys["log_verifier"]) == cp
    assert open_checkpoint(msg, keys["log_verifier"], others=[NoteVerifier.parse(keys["known1_verifier"])]) == cp
    only_witness = sign_checkpoint(cp, keys["known1_signer"])
    with pytest.raises(ProofError):
        open_checkpoint(only_witness, keys["log_verifier"], origin="Log")


# --- c11 checkpoints ---


@pytest.fixture(scope="module")
def log_key() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)


def test_checkpoint_text_format() -> None:
    cp = Checkpoint(ORIGIN, 20852163, bytes(range(32)), ("ext one",))
    text = cp.to_text()
    assert text == f"{ORIGIN}\n20852163\n{base64.b64encode(bytes(range(32))).decode()}\next one\n"
    assert Checkpoint.from_text(text) == cp
    assert Checkpoint.from_text(Checkpoint(ORIGIN, 0, EMPTY_ROOT).to_text()).size == 0


def test_round_trip_and_signature_line(log_key: NoteSigner) -> None:
    cp = Checkpoint(ORIGIN, 7, leaf_hash(b"seven"))
    msg = sign_checkpoint(cp, log_key)
    body, sig = msg.decode().split("\n\n")
    assert body + "\n" == cp.to_text()
    assert sig.startswith("\u2014 c11.example/log ") and sig.endswith("\n") and sig.count("\n") == 1
    raw = base64.b64decode(sig.split(" ")[2])
    assert int.from_bytes(raw[:4], "big") == log_key.key_id and len(raw) == 68
    assert open_checkpoint(msg, log_key.verifier) == cp
    assert open_checkpoint(msg, str(log_key.verifier)) == cp


def test_generate_log_key_strings() -> None:
    skey, vkey = generate_log_key("c11.test/log")
    assert skey.startswith("PRIVATE+KEY+c11.test/log+") and vkey.startswith("c11.test/log+")
    assert NoteSigner.parse(skey).verifier == NoteVerifier.parse(vkey)


def test_open_checkpoint_refusals(log_key: NoteSigner) -> None:
    cp = Checkpoint(ORIGIN, 3, leaf_hash(b"three"))
    msg = sign_checkpoint(cp, log_key)
    other = NoteSigner.generate(ORIGIN)  # same name, different key: an unknown key
    cases = {
        "unknown key": sign_checkpoint(cp, other),
        "bad signature": msg.replace(b"\n3\n", b"\n4\n"),
        "tampered signature": msg[:-10] + (b"A" if msg[-10:-9] != b"A" else b"B") + msg[-9:],
        "no signatures": cp.to_text().encode() + b"\n",
        "no trailing newline": msg[:-1],
        "garbage after signatures": msg + b"garbage\n",
        "too many signatures": msg + msg.split(b"\n\n")[1] * 100,
        "control character": msg.replace(b"c11.example/log\n3", b"c11.example/log\t\n3", 1),
        "not UTF-8": b"\xc0" + msg,
        "wrong origin": sign_checkpoint(Checkpoint("c11.other/log", 3, cp.root_hash), NoteSigner(ORIGIN, b"\x01" * 32)),
    }
    for what, bad in cases.items():
        with pytest.raises(ProofError):
            open_checkpoint(bad, log_key.verifier)
            pytest.fail(what)
    with pytest.raises(ProofError):
        open_checkpoint("not bytes", "not a key")  # type: ignore[arg-type]
    with pytest.raises(ProofError):
        open_checkpoint(msg, log_key.verifier, origin="c11.other/log")


def test_signed_bad_bodies_are_refused(log_key: NoteSigner) -> None:
    root = base64.b64encode(EMPTY_ROOT).decode()
    bodies = [
        f"{ORIGIN}\n0\n",  # too few lines
        f"{ORIGIN}\n007\n{root}\n",  # leading zeros
        f"{ORIGIN}\n-1\n{root}\n",
        f"{ORIGIN}\n+1\n{root}\n",
        f"{ORIGIN}\n1_0\n{root}\n",
        f"{ORIGIN}\n\u0661\n{root}\n",  # non-ASCII digit
        f"{ORIGIN}\n{2**64}\n{root}\n",  # beyond uint64
        f"{ORIGIN}\n1\n{root[:-1]}\n",  # bad padding
        f"{ORIGIN}\n1\n{base64.b64encode(b'short').decode()}\n",
        f"{ORIGIN}\n1\n{root}\n\nextension after an empty line\n",
        f"\n1\n{root}\n",  # empty origin
        f"{ORIGIN}\n1\n {root}\n",
    ]
    for body in bodies:
        msg = sign_note(body, [log_key])
        with pytest.raises(ProofError):
            open_checkpoint(msg, log_key.verifier)
            pytest.fail(body)


@pytest.mark.parametrize("text", [b"", b"a\n1\n", "x\n1\n" + base64.b64encode(bytes(32)).decode(), 5, b"\xff\n"])
def test_from_text_refusals(text: object) -> None:
    with pytest.raises(ProofError):
        Checkpoint.from_text(text)  # type: ignore[arg-type]


def test_signing_argument_errors(log_key: NoteSigner) -> None:
    for bad in [
        Checkpoint("", 1, EMPTY_ROOT),
        Checkpoint(ORIGIN, -1, EMPTY_ROOT),
        Checkpoint(ORIGIN, 1, b"x"),
        Checkpoint(ORIGIN, 1, EMPTY_ROOT, ("",)),
        Checkpoint("a\nb", 1, EMPTY_ROOT),
    ]:
        with pytest.raises(ValueError):
            sign_checkpoint(bad, log_key)
    for text in ["no newline", "tab\t\n"]:
        with pytest.raises(ValueError):
            sign_note(text, [log_key])
    with pytest.raises(ValueError):
        sign_note("x\n", [log_key, log_key])
    with pytest.raises(ValueError):
        sign_note("x\n", [])
    for name in ["", "a b", "a+b", "a\u3000b"]:
        with pytest.raises(ValueError):
            NoteSigner.generate(name)


def test_duplicate_and_ambiguous_verifiers(log_key: NoteSigner) -> None:
    msg = sign_checkpoint(Checkpoint(ORIGIN, 1, leaf_hash(b"a")), log_key)
    assert open_note(msg, [log_key.verifier, log_key.verifier]).signatures
    impostor = NoteVerifier(ORIGIN, log_key.key_id, bytes(32))
    with pytest.raises(ProofError, match="ambiguous"):
        open_note(msg, [log_key.verifier, impostor])


# --- checkpoints and proofs together ---


def test_checkpoint_consistency_and_inclusion(log_key: NoteSigner) -> None:
    tree = MerkleTree(MemoryHashStore())
    tree.append(f"e{i}".encode() for i in range(10))
    old = open_checkpoint(sign_checkpoint(Checkpoint(ORIGIN, tree.size, tree.root()), log_key), log_key.verifier)
    tree.append(f"e{i}".encode() for i in range(10, 25))
    new = open_checkpoint(sign_checkpoint(Checkpoint(ORIGIN, tree.size, tree.root()), log_key), log_key.verifier)
    verify_checkpoint_consistency(old, new, tree.consistency_proof(10, 25))
    verify_checkpoint_consistency(Checkpoint(ORIGIN, 0, EMPTY_ROOT), new, [])
    verify_checkpoint_consistency(new, new, [])
    verify_checkpoint_inclusion(new, leaf_hash(b"e17"), 17, tree.inclusion_proof(17))
    with pytest.raises(ProofError):
        verify_checkpoint_consistency(new, old, tree.consistency_proof(10, 25))
    with pytest.raises(ProofError):
        verify_checkpoint_consistency(
            old, Checkpoint("c11.other/log", new.size, new.root_hash), tree.consistency_proof(10, 25)
        )
    forked = Checkpoint(ORIGIN, 25, leaf_hash(b"fork"))
    with pytest.raises(ProofError):
        verify_checkpoint_consistency(old, forked, tree.consistency_proof(10, 25))
    with pytest.raises(ProofError):
        verify_checkpoint_inclusion(new, leaf_hash(b"e17"), 16, tree.inclusion_proof(17))
    with pytest.raises(ProofError):
        verify_checkpoint_consistency(old, "new", [])  # type: ignore[arg-type]
