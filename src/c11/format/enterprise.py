"""The enterprise key server's unwrap protocol (docs/enterprise.md, "Protocol"): request and answer encodings.

Pure encoding and HPKE sealing; the server (c11.enterprise) and the client (c11.client.enterprise) both use it.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from c11.crypto.kem import KEM_TYPES, PrivateKey, kem_type
from c11.errors import FormatError, RecipientError
from c11.keys.publickey import key_id

VERSION = 1
#: the largest header an unwrap request may carry (decoded bytes)
MAX_HEADER = 1 << 20
#: the largest request body the server reads
MAX_REQUEST = 2 * MAX_HEADER
FILE_KEY_SIZE = 32
_INFO = b"c11/v1 enterprise unwrap\x00"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: object, what: str, limit: int) -> bytes:
    if not isinstance(text, str) or len(text) > (limit * 4) // 3 + 4:
        raise FormatError(f"unwrap request: {what} must be base64url text of at most {limit} bytes")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise FormatError(f"unwrap request: {what} is not base64url") from None


def answer_info(doc_id: bytes, member_key_id: bytes, client_key_id: bytes) -> bytes:
    """HPKE `info` of the answer: binds the file key to the document, the member's key and the client's key."""
    return _INFO + doc_id + member_key_id + client_key_id


@dataclass(frozen=True)
class UnwrapRequest:
    """What a client sends: the file's header, which member key's stanza to open, and a fresh client key."""

    header: bytes
    member_key_id: bytes
    client_kem: str
    client_key: bytes

    @property
    def client_key_id(self) -> bytes:
        return key_id(self.client_kem, self.client_key)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "v": VERSION,
                "header": _b64(self.header),
                "key_id": _b64(self.member_key_id),
                "client_kem": self.client_kem,
                "client_key": _b64(self.client_key),
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> UnwrapRequest:
        """Parse and bound a request body; FormatError (one line) if anything is off."""
        if len(data) > MAX_REQUEST:
            raise FormatError("unwrap request: too large")
        try:
            obj: Any = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise FormatError("unwrap request: not JSON") from None
        if not isinstance(obj, dict) or obj.get("v") != VERSION:
            raise FormatError(f"unwrap request: expected a JSON object with v={VERSION}")
        kem = obj.get("client_kem")
        if kem not in KEM_TYPES:
            raise FormatError(f"unwrap request: client_kem must be one of {', '.join(KEM_TYPES)}")
        kt = kem_type(kem)
        client_key = _unb64(obj.get("client_key"), "client_key", kt.public_size)
        try:
            kt.validate(client_key)
        except RecipientError as e:
            raise FormatError(f"unwrap request: client_key: {e}") from None
        member = _unb64(obj.get("key_id"), "key_id", 16)
        if len(member) != 16:
            raise FormatError("unwrap request: key_id must be 16 bytes")
        return cls(_unb64(obj.get("header"), "header", MAX_HEADER), member, kem, client_key)


def seal_answer(request: UnwrapRequest, doc_id: bytes, file_key: bytes) -> bytes:
    """Server side: the answer body, the file key sealed to the client's key (HPKE base mode)."""
    kt = kem_type(request.client_kem)
    sealed = kt.seal(request.client_key, file_key, answer_info(doc_id, request.member_key_id, request.client_key_id))
    return json.dumps({"v": VERSION, "sealed": _b64(sealed)}, separators=(",", ":")).encode()


def open_answer(request: UnwrapRequest, doc_id: bytes, client_private: PrivateKey, body: bytes) -> bytes:
    """Client side: the file key from the server's answer (FormatError / IntegrityError if it is not one)."""
    if len(body) > 16384:
        raise FormatError("enterprise key server answer: too large")
    try:
        obj: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise FormatError("enterprise key server answer: not JSON") from None
    if not isinstance(obj, dict) or obj.get("v") != VERSION:
        raise FormatError("enterprise key server answer: unknown version")
    kt = kem_type(request.client_kem)
    sealed = _unb64(obj.get("sealed"), "sealed", kt.enc_size + FILE_KEY_SIZE + 16)
    info = answer_info(doc_id, request.member_key_id, request.client_key_id)
    key = kt.open(client_private, sealed, info)
    if len(key) != FILE_KEY_SIZE:
        raise FormatError("enterprise key server answer: not a file key")
    return key


__all__ = ["MAX_HEADER", "UnwrapRequest", "answer_info", "open_answer", "seal_answer"]
