"""Opening one member's stanza of a header inside the enterprise key server (docs/enterprise.md, "Protocol").

The header must parse canonically, carry a valid header signature and name the member's key; the file key is
checked against the header's MAC and key commitment before it is sealed to the client.
"""

from __future__ import annotations

import io

from c11.crypto.kem import kem_type
from c11.errors import C11Error, NoMatchingKeyError
from c11.format import envelope
from c11.format.enterprise import UnwrapRequest, seal_answer
from c11.format.header import Header, read_header
from c11.keys.identity import Identity


class Refused(Exception):
    """The key is not released; `reason` goes to the audit table only, never to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_header(request: UnwrapRequest) -> Header:
    """The request's header, parsed canonically with nothing after it (Refused otherwise)."""
    try:
        header, raw = read_header(io.BytesIO(request.header))
    except C11Error:
        raise Refused("malformed header") from None
    if raw != request.header:
        raise Refused("bytes after the header")
    return header


class _MemberStanza(envelope.StanzaOpener):
    """The member's stanza opened here with their X-Wing seed (no public key derived: the key ID is the row's)."""

    def __init__(self, key_id: bytes, kem: str, enc_seed: bytes) -> None:
        self.key_id, self.kem, self._seed = key_id, kem, enc_seed

    def open_header(self, header: Header) -> bytes:
        for s in header.stanzas:
            if envelope.stanza_key_id(s) == self.key_id and s.type == self.kem:
                kt = kem_type(s.type)
                body = s.body[envelope.KEY_ID_SIZE :]
                return kt.open(kt.private_key(self._seed), body, envelope.stanza_info(s.type, header.doc_id))
        raise NoMatchingKeyError("the member's key is not a recipient", envelope.recipient_fingerprints(header))


def open_header(request: UnwrapRequest, header: Header, kem: str, enc_seed: bytes) -> bytes:
    """The answer body (file key sealed to the client) for the member's stanza (`request.member_key_id`, of type
    `kem`) of the parsed `header`, or Refused; the file key is checked against the header's MAC and commitment."""
    if any(envelope.has_key_transform(s.type) for s in header.stanzas if s.critical):
        raise Refused("online-policy document (not served by protocol v1)")
    try:
        envelope.verify_signature(header)
        file_key = envelope.unwrap(header, [_MemberStanza(request.member_key_id, kem, enc_seed)])
    except C11Error as e:
        raise Refused(type(e).__name__) from None
    return seal_answer(request, header.doc_id, file_key)


def open_for(request: UnwrapRequest, member: Identity) -> tuple[bytes, bytes]:
    """The document ID and the answer body for `member` (whose key the request must name), or Refused."""
    header = parse_header(request)
    if member.public.key_id != request.member_key_id:
        raise Refused("key id is not the member's")
    return header.doc_id, open_header(request, header, member.kem, member.enc_seed)
