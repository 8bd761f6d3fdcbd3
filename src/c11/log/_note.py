"""C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 keys, byte-compatible with golang.org/x/mod/sumdb/note.

Verifying raises ``ProofError``; signing with bad arguments raises ``ValueError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from c11.errors import LogKeyError, ProofError

#: Signature type byte of Ed25519 note signatures.
ALG_ED25519 = 0x01
#: Most signature lines a note may carry (as in the Go implementation); the spec's floor is 16.
MAX_SIGNATURES = 100
#: Prefix of every signature line: em dash U+2014 and a space.
SIGNATURE_PREFIX = "\u2014 "

# Unicode White_Space (what Go's unicode.IsSpace tests), which key names must not contain.
_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(chr(c) for c in range(0x2000, 0x200B))
)
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def is_valid_key_name(name: object) -> bool:
    """Whether ``name`` can name a key: non-empty, no Unicode space, no '+'."""
    return isinstance(name, str) and name != "" and "+" not in name and not _SPACES.intersection(name)


def key_id(name: str, typed_key: bytes) -> int:
    """Key ID: the first 4 bytes, big-endian, of SHA-256(name || 0x0A || type byte || public key)."""
    digest = hashlib.sha256(name.encode() + b"\n" + typed_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class NoteVerifier:
    """An Ed25519 note verifier key: a name, its 32-bit key ID and a 32-byte public key.

    Its text form is ``<name>+<8 hex key ID>+<base64(0x01 || public key)>``.
    """

    name: str
    key_id: int
    public_key: bytes = field(repr=False)

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> NoteVerifier:
        """Verifier for a raw 32-byte Ed25519 public key under ``name``."""
        if not is_valid_key_name(name):
            raise ValueError("invalid key name")
        if len(public_key) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        return cls(name, key_id(name, bytes([ALG_ED25519]) + public_key), bytes(public_key))

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key string; raise ProofError if it is malformed or its key ID is wrong."""
        if not isinstance(vkey, str):
            raise ProofError("verifier key must be a string")
        name, _, rest = vkey.partition("+")
        hash16, _, key64 = rest.partition("+")
        key = _b64decode(key64)
        if not is_valid_key_name(name) or not _HEX8.fullmatch(hash16) or not key:
            raise ProofError("malformed note verifier key")
        if int(hash16, 16) != key_id(name, key):
            raise ProofError("note verifier key has a wrong key ID")
        if key[0] != ALG_ED25519:
            raise ProofError("note verifier key uses an unknown signature algorithm")
        if len(key) != 33:
            raise ProofError("malformed note verifier key")
        return cls(name, int(hash16, 16), key[1:])

    def __str__(self) -> str:
        """The verifier key string."""
        return f"{self.name}+{self.key_id:08x}+{_b64encode(bytes([ALG_ED25519]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is a valid Ed25519 signature of ``message`` by this key."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


class NoteSigner:
    """An Ed25519 note signer: a name and a private key (held by the log server only).

    Its text form is ``PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || 32-byte seed)>``.
    """

    def __init__(self, name: str, seed: bytes) -> None:
        if not is_valid_key_name(name):
            raise ValueError("invalid key name")
        if len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._name = name
        self._private = Ed25519PrivateKey.from_private_bytes(bytes(seed))
        # raw bytes without importing `serialization`: its SSH key module (and what that imports) costs start-up
        public = self._private.public_key().public_bytes_raw()
        self._verifier = NoteVerifier.from_public_key(name, public)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A new random signer named ``name``."""
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        return cls(name, seed)

    @classmethod
    def parse(cls, skey: str) -> NoteSigner:
        """Parse a signer key string; raise LogKeyError (a ValueError) if it is malformed or its key ID is wrong."""
        parts = skey.split("+", 4) if isinstance(skey, str) else []
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise LogKeyError("malformed note signer key")
        _, _, name, hash16, key64 = parts
        try:
            key = _b64decode(key64)
        except ProofError:
            key = b""
        if not is_valid_key_name(name) or not _HEX8.fullmatch(hash16) or len(key) != 33:
            raise LogKeyError("malformed note signer key")
        if key[0] != ALG_ED25519:
            raise LogKeyError("note signer key uses an unknown signature algorithm")
        signer = cls(name, key[1:])
        if signer.key_id != int(hash16, 16):
            raise LogKeyError("note signer key has a wrong key ID")
        return signer

    @property
    def name(self) -> str:
        """Key name."""
        return self._name

    @property
    def key_id(self) -> int:
        """32-bit key ID."""
        return self._verifier.key_id

    @property
    def verifier(self) -> NoteVerifier:
        """The matching verifier (public) key."""
        return self._verifier

    def signer_key(self) -> str:
        """The signer key string (secret: it holds the private key)."""
        seed = self._private.private_bytes_raw()
        return f"PRIVATE+KEY+{self._name}+{self.key_id:08x}+{_b64encode(bytes([ALG_ED25519]) + seed)}"

    def sign(self, message: bytes) -> bytes:
        """Raw Ed25519 signature of ``message``."""
        return self._private.sign(message)

    def __repr__(self) -> str:
        return f"NoteSigner(name={self._name!r}, key_id={self.key_id:#010x})"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note: key name, key ID and the signature bytes (after the key ID)."""

    name: str
    key_id: int
    signature: bytes = field(repr=False)

    def line(self) -> str:
        """The signature line, without its newline."""
        return f"{SIGNATURE_PREFIX}{self.name} {_b64encode(self.key_id.to_bytes(4, 'big') + self.signature)}"


@dataclass(frozen=True)
class Note:
    """An opened note: its text (ending in a newline) and its signatures.

    ``signatures`` were verified by a known key; ``unverified`` are from keys the caller did not pass.
    """

    text: str
    signatures: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...] = ()


def sign_note(text: str, signers: Iterable[NoteSigner]) -> bytes:
    """Sign ``text`` (which must end in a newline) with each signer; return the encoded note.

    Raises ValueError for text that is not a valid note text, or for no or duplicate signers.
    """
    if not isinstance(text, str) or not text.endswith("\n") or _CONTROL.search(text):
        raise ValueError("note text must end in a newline and contain no control characters but newlines")
    body = text.encode("utf-8")
    lines = []
    seen = set()
    for signer in signers:
        key = (signer.name, signer.key_id)
        if key in seen:
            raise ValueError(f"duplicate signer {signer.name}+{signer.key_id:08x}")
        seen.add(key)
        lines.append(NoteSignature(signer.name, signer.key_id, signer.sign(body)).line() + "\n")
    if not lines:
        raise ValueError("a note needs at least one signer")
    return body + b"\n" + "".join(lines).encode("utf-8")


def open_note(message: bytes, verifiers: Sequence[NoteVerifier]) -> Note:
    """Parse a signed note and verify the signatures of the known ``verifiers``.

    Signatures of unknown keys are kept as unverified; raises ProofError if none of the known keys signed.
    """
    msg = _decode_note(message)
    split = msg.rfind("\n\n")
    if split < 0:
        raise ProofError("malformed note: no blank line before the signatures")
    text, block = msg[: split + 1], msg[split + 2 :]
    if not block.endswith("\n"):
        raise ProofError("malformed note: signature block must end in a newline")
    known = _index_verifiers(verifiers)
    text_bytes = text.encode("utf-8")
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    seen: set[tuple[str, int]] = set()
    seen_lines: set[str] = set()
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise ProofError(f"malformed note: more than {MAX_SIGNATURES} signatures")
    for line in lines:
        sig = _parse_signature_line(line)
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            if line not in seen_lines:
                seen_lines.add(line)
                unverified.append(sig)
            continue
        if (sig.name, sig.key_id) in seen:
            continue
        seen.add((sig.name, sig.key_id))
        if not verifier.verify(text_bytes, sig.signature):
            raise ProofError(f"invalid signature for key {sig.name}+{sig.key_id:08x}")
        verified.append(sig)
    if not verified:
        raise ProofError("note has no signature from a known key")
    return Note(text, tuple(verified), tuple(unverified))


def _decode_note(message: object) -> str:
    """Decode a note as UTF-8 and refuse control characters other than newline."""
    if isinstance(message, str):
        msg = message
    elif isinstance(message, (bytes, bytearray, memoryview)):
        try:
            msg = bytes(message).decode("utf-8")
        except UnicodeDecodeError:
            raise ProofError("malformed note: not valid UTF-8") from None
    else:
        raise ProofError("note must be bytes")
    if _CONTROL.search(msg):
        raise ProofError("malformed note: control character")
    return msg


def _parse_signature_line(line: str) -> NoteSignature:
    """Parse ``— <name> <base64(key ID || signature)>``."""
    if not line.startswith(SIGNATURE_PREFIX):
        raise ProofError("malformed note: line in the signature block is not a signature")
    name, _, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
    raw = _b64decode(b64)
    if not is_valid_key_name(name) or len(raw) < 5:
        raise ProofError("malformed note: bad signature line")
    return NoteSignature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def _index_verifiers(verifiers: Sequence[NoteVerifier]) -> dict[tuple[str, int], NoteVerifier]:
    """Map (name, key ID) to verifier; two different keys under one (name, key ID) are refused."""
    if isinstance(verifiers, NoteVerifier):
        verifiers = [verifiers]
    known: dict[tuple[str, int], NoteVerifier] = {}
    for v in verifiers:
        if not isinstance(v, NoteVerifier):
            raise ProofError("verifiers must be NoteVerifier objects")
        other = known.setdefault((v.name, v.key_id), v)
        if other != v:
            raise ProofError(f"ambiguous key {v.name}+{v.key_id:08x}")
    return known


def _b64encode(data: bytes) -> str:
    """Standard base64 with padding."""
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes:
    """Strict standard base64: alphabet and padding checked, non-canonical encodings refused."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ProofError("malformed base64") from None
    if _b64encode(raw) != text:
        raise ProofError("malformed base64: not in canonical form")
    return raw
