"""Opening one member's stanza of a header inside the enterprise key server (docs/enterprise.md, "Protocol").

The header must parse canonically, carry a valid header signature and name the member's key; the file key is
checked against the header's MAC and key commitment before it is sealed to the client.
"""

from __future__ import annotations

import io

from c11.errors import C11Error
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


def open_header(request: UnwrapRequest, header: Header, member: Identity) -> bytes:
    """The answer body (file key sealed to the client) for `member`'s stanza of the parsed `header`, or Refused."""
    if any(envelope.has_key_transform(s.type) for s in header.stanzas if s.critical):
        raise Refused("online-policy document (not served by protocol v1)")
    try:
        envelope.verify_signature(header)
        file_key = envelope.unwrap(header, [member])
    except C11Error as e:
        raise Refused(type(e).__name__) from None
    return seal_answer(request, header.doc_id, file_key)


def open_for(request: UnwrapRequest, member: Identity) -> tuple[bytes, bytes]:
    """The document ID and the answer body for `member` (whose key the request must name), or Refused."""
    header = parse_header(request)
    if member.public.key_id != request.member_key_id:
        raise Refused("key id is not the member's")
    return header.doc_id, open_header(request, header, member)
