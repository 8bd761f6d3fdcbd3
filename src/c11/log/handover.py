"""Log key hand-over statements: the old log key names the new one (docs/log.md section 9).

A hand-over is a signed note whose text is four lines (tag, origin, old verifier key, new verifier key), signed
by the old key *and* the new key; every failure to open one raises ``ProofError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from c11.errors import ProofError
from c11.log._note import NoteSigner, NoteVerifier, open_note, sign_note

__all__ = ["HANDOVER_TAG", "MAX_HANDOVER_BYTES", "Handover", "follow_handovers", "open_handover", "sign_handover"]

#: First line of every hand-over statement (the format's name and version).
HANDOVER_TAG = "c11-log-key-handover/v1"
#: A hand-over note is a few hundred bytes; anything longer is refused before parsing.
MAX_HANDOVER_BYTES = 2048


@dataclass(frozen=True)
class Handover:
    """An opened hand-over: the log's origin, the old key and the key that replaces it."""

    origin: str
    old: NoteVerifier
    new: NoteVerifier

    def to_text(self) -> str:
        """The statement's note text: tag, origin, old key, new key, each line ending in a newline."""
        return f"{HANDOVER_TAG}\n{self.origin}\n{self.old}\n{self.new}\n"


def sign_handover(old: NoteSigner, new: NoteSigner) -> bytes:
    """The hand-over note from log key `old` to `new` (same name, the log's origin), signed by both.

    ValueError if the names differ or the keys are the same."""
    if old.name != new.name:
        raise ValueError(f"the new log key must keep the log's name {old.name!r}, not {new.name!r}")
    if old.key_id == new.key_id or old.verifier.public_key == new.verifier.public_key:
        raise ValueError("the new log key is the old one")
    return sign_note(Handover(old.name, old.verifier, new.verifier).to_text(), [old, new])


def open_handover(message: bytes, old: NoteVerifier) -> Handover:
    """Check that `message` is a hand-over from the log key `old`, signed by `old` and by the new key it
    names; returns it. ProofError otherwise (a statement about another key, a missing or bad signature)."""
    if not isinstance(message, (bytes, bytearray)) or len(message) > MAX_HANDOVER_BYTES:
        raise ProofError("malformed hand-over: not bytes, or longer than 2048 bytes")
    split = bytes(message).rfind(b"\n\n")
    if split < 0:
        raise ProofError("malformed hand-over: no blank line before the signatures")
    try:
        lines = bytes(message)[: split + 1].decode("utf-8")[:-1].split("\n")
    except UnicodeDecodeError:
        raise ProofError("malformed hand-over: not UTF-8") from None
    if len(lines) != 4 or lines[0] != HANDOVER_TAG:
        raise ProofError(f"malformed hand-over: expected the four lines of {HANDOVER_TAG}")
    _, origin, old_text, new_text = lines
    try:
        stated_old, new = NoteVerifier.parse(old_text), NoteVerifier.parse(new_text)
    except (ProofError, ValueError) as e:
        raise ProofError(f"malformed hand-over: bad key line ({e})") from None
    if str(stated_old) != str(old):
        raise ProofError(f"the hand-over is from {_short(stated_old)}, not from the pinned key {_short(old)}")
    if origin != old.name or new.name != old.name:
        raise ProofError(f"the hand-over names another log ({origin!r}, {new.name!r}) than {old.name!r}")
    if new.key_id == old.key_id:
        raise ProofError("the hand-over names the same key twice")
    note = open_note(bytes(message), [old, new])
    signed = {(s.name, s.key_id) for s in note.signatures}
    for key, who in ((old, "old"), (new, "new")):
        if (key.name, key.key_id) not in signed:
            raise ProofError(f"the hand-over is not signed by the {who} key {_short(key)}")
    return Handover(origin, old, new)


def follow_handovers(pinned: NoteVerifier, notes: Sequence[bytes]) -> list[Handover]:
    """The chain of hand-overs, in log order, that starts at `pinned`: each one must be signed by the key the
    previous one handed over to. Hand-overs before the pinned key are skipped; one from the current key that
    does not open is a ProofError (a forged hand-over is never skipped over)."""
    chain: list[Handover] = []
    current = pinned
    for message in notes:
        stated = _stated_old(message)
        if stated != str(current):
            continue
        step = open_handover(message, current)
        chain.append(step)
        current = step.new
    return chain


def _stated_old(message: bytes) -> str | None:
    try:
        lines = bytes(message)[:MAX_HANDOVER_BYTES].decode("utf-8").split("\n")
    except (UnicodeDecodeError, TypeError):
        return None
    return lines[2] if len(lines) > 3 and lines[0] == HANDOVER_TAG else None


def _short(key: NoteVerifier) -> str:
    return f"{key.name}+{key.key_id:08x}"
