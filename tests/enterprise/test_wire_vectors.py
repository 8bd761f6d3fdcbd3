"""The committed unwrap vectors (tests/vectors/enterprise-unwrap) against the protocol code, both sides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from c11.crypto.kem import kem_type
from c11.enterprise.unwrap import Refused, open_for
from c11.errors import FormatError, IntegrityError
from c11.format.enterprise import UnwrapRequest, answer_info, open_answer
from c11.keys.identity import Identity

V = json.loads((Path(__file__).parents[1] / "vectors" / "enterprise-unwrap" / "vectors.json").read_text())
MEMBER = Identity(
    V["member_label"], "mlkem768x25519", bytes.fromhex(V["member_enc_seed"]), bytes.fromhex(V["member_sig_seed"])
)


@pytest.mark.parametrize("kem", sorted(V["clients"]))
def test_vector_both_sides(kem: str) -> None:
    c = V["clients"][kem]
    req = UnwrapRequest.from_json(c["request"].encode())
    assert req.member_key_id.hex() == V["member_key_id"] == MEMBER.public.key_id.hex()
    doc_id = bytes.fromhex(V["doc_id"])
    assert answer_info(doc_id, req.member_key_id, req.client_key_id).hex() == c["answer_info"]
    client = kem_type(kem).private_key(bytes.fromhex(c["client_seed"]))
    # the recorded answer opens with the client's key
    assert open_answer(req, doc_id, client, c["answer"].encode()).hex() == V["file_key"]
    # the server side opens the member's stanza and seals a fresh answer the client opens to the same key
    got_doc, answer = open_for(req, MEMBER)
    assert got_doc == doc_id
    assert open_answer(req, doc_id, client, answer).hex() == V["file_key"]
    # the answer is bound to the document: another doc ID does not open it
    with pytest.raises(IntegrityError):
        open_answer(req, bytes(16), client, answer)


def test_tampered_and_foreign_requests_are_refused() -> None:
    c = V["clients"]["x25519"]
    req = UnwrapRequest.from_json(c["request"].encode())
    flipped = bytearray(req.header)
    flipped[-1] ^= 1  # the header signature
    with pytest.raises(Refused):
        open_for(UnwrapRequest(bytes(flipped), req.member_key_id, req.client_kem, req.client_key), MEMBER)
    other = Identity.generate("other@corp.example")
    with pytest.raises(Refused):  # a member whose key is not a recipient
        open_for(UnwrapRequest(req.header, other.public.key_id, req.client_kem, req.client_key), other)
    with pytest.raises(Refused):  # bytes after the header
        open_for(UnwrapRequest(req.header + b"x", req.member_key_id, req.client_kem, req.client_key), MEMBER)


@pytest.mark.parametrize(
    "body",
    [b"[]", b"{", b'{"v":2}', b'{"v":1,"client_kem":"rsa"}', b'{"v":1,"client_kem":"x25519","client_key":"AAAA"}'],
)
def test_malformed_requests_are_one_line_format_errors(body: bytes) -> None:
    with pytest.raises(FormatError):
        UnwrapRequest.from_json(body)


def test_low_order_client_key_is_refused() -> None:
    obj = json.loads(V["clients"]["x25519"]["request"])
    obj["client_key"] = "A" * 43  # 32 zero bytes
    with pytest.raises(Exception, match="low-order"):
        UnwrapRequest.from_json(json.dumps(obj).encode())
