"""C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint) signed with Ed25519 signed notes.

Create, sign, open and verify checkpoints; every verification failure raises ``ProofError``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from c11.errors import ProofError
from c11.log._hashing import HASH_SIZE
from c11.log._note import (
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    _b64decode,
    _b64encode,
    is_valid_key_name,
    key_id,
    open_note,
    sign_note,
)
from c11.log.merkle import MAX_TREE_SIZE, verify_consistency, verify_inclusion

__all__ = [
    "MAX_SIGNATURES",
    "Checkpoint",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "generate_log_key",
    "is_valid_key_name",
    "key_id",
    "open_checkpoint",
    "open_note",
    "sign_checkpoint",
    "sign_note",
    "verify_checkpoint_consistency",
    "verify_checkpoint_inclusion",
]

_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_CONTROL = re.compile(r"[\x00-\x1f]")


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin, tree size, root hash, and optional extension lines.

    ``to_text()`` gives the note text; ``from_text()`` parses one strictly (ProofError).
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def to_text(self) -> str:
        """The checkpoint body: origin, decimal size, base64 root hash, extensions, each ending in a newline."""
        if not isinstance(self.origin, str) or not self.origin or _CONTROL.search(self.origin):
            raise ValueError("origin must be a non-empty line")
        if type(self.size) is not int or not 0 <= self.size <= MAX_TREE_SIZE:
            raise ValueError("tree size must be an integer between 0 and 2**64-1")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            raise ValueError("root hash must be 32 bytes")
        for ext in self.extensions:
            if not isinstance(ext, str) or not ext or _CONTROL.search(ext):
                raise ValueError("extension lines must be non-empty lines")
        lines = [self.origin, str(self.size), _b64encode(self.root_hash), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def from_text(cls, text: str | bytes) -> Checkpoint:
        """Parse a checkpoint body; raise ProofError unless it is exactly in the C2SP format."""
        if isinstance(text, (bytes, bytearray)):
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError:
                raise ProofError("malformed checkpoint: not valid UTF-8") from None
        if not isinstance(text, str):
            raise ProofError("checkpoint must be text")
        if not text.endswith("\n"):
            raise ProofError("malformed checkpoint: body must end in a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise ProofError("malformed checkpoint: fewer than three lines")
        if any(not line for line in lines):
            raise ProofError("malformed checkpoint: empty line")
        if any(_CONTROL.search(line) for line in lines):
            raise ProofError("malformed checkpoint: control character")
        origin, size_text, root_text, *extensions = lines
        if not _DECIMAL.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
            raise ProofError("malformed checkpoint: tree size is not a canonical decimal number")
        try:
            root = _b64decode(root_text)
        except ProofError:
            raise ProofError("malformed checkpoint: root hash is not base64") from None
        if len(root) != HASH_SIZE:
            raise ProofError("malformed checkpoint: root hash is not 32 bytes")
        return cls(origin, int(size_text), root, tuple(extensions))


def generate_log_key(origin: str) -> tuple[str, str]:
    """A new Ed25519 log key named after ``origin``: (signer key string, verifier key string)."""
    signer = NoteSigner.generate(origin)
    return signer.signer_key(), str(signer.verifier)


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner | str, *cosigners: NoteSigner) -> bytes:
    """Encode ``checkpoint`` as a signed note, signed by the log key (then any cosigners).

    The log key's name should equal the origin; ValueError on bad arguments.
    """
    if isinstance(signer, str):
        signer = NoteSigner.parse(signer)
    return sign_note(checkpoint.to_text(), [signer, *cosigners])


def open_checkpoint(
    message: bytes,
    verifier: NoteVerifier | str,
    *,
    origin: str | None = None,
    others: Sequence[NoteVerifier] = (),
) -> Checkpoint:
    """Verify a signed checkpoint against the log's verifier key and parse it.

    The origin line must equal ``origin`` (default: the key's name). Signatures of other, unknown keys
    are ignored; those of ``others`` (e.g. witnesses) must verify if present. Raises ProofError.
    """
    if isinstance(verifier, str):
        verifier = NoteVerifier.parse(verifier)
    if not isinstance(verifier, NoteVerifier):
        raise ProofError("verifier must be a NoteVerifier or a verifier key string")
    note = open_note(message, [verifier, *others])
    if not any((s.name, s.key_id) == (verifier.name, verifier.key_id) for s in note.signatures):
        raise ProofError(f"checkpoint is not signed by the log key {verifier.name}+{verifier.key_id:08x}")
    checkpoint = Checkpoint.from_text(note.text)
    expected = verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise ProofError(f"checkpoint origin {checkpoint.origin!r} is not {expected!r}")
    return checkpoint


def verify_checkpoint_consistency(old: Checkpoint, new: Checkpoint, proof: list[bytes]) -> None:
    """Check that checkpoint ``new`` extends checkpoint ``old`` of the same log (both already opened).

    Raises ProofError if the origins differ, ``new`` is smaller, or the proof does not verify.
    """
    if not isinstance(old, Checkpoint) or not isinstance(new, Checkpoint):
        raise ProofError("checkpoints must be Checkpoint objects")
    if old.origin != new.origin:
        raise ProofError(f"checkpoints come from different logs ({old.origin!r}, {new.origin!r})")
    verify_consistency(old.size, new.size, proof, old.root_hash, new.root_hash)


def verify_checkpoint_inclusion(checkpoint: Checkpoint, leaf_hash: bytes, index: int, proof: list[bytes]) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree a checkpoint commits to; raises ProofError."""
    if not isinstance(checkpoint, Checkpoint):
        raise ProofError("checkpoint must be a Checkpoint object")
    verify_inclusion(leaf_hash, index, checkpoint.size, proof, checkpoint.root_hash)
