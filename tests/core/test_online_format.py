"""The online-policy stanza c11-online/v1 (docs/format.md §2.6) without a server: key split, policy
encoding, binding, and re-encryption of files that carry it."""

from __future__ import annotations

import hashlib
import io
import json
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from c11 import files
from c11.errors import C11Error, FormatError, IntegrityError, OnlinePolicyError, UsageError
from c11.format import online
from c11.format.header import read_header
from c11.keys.identity import Identity

SERVER = Identity.generate("key server")


def _server_release(stanza, header, policy, identity):
    """What the key server and the client do together, in memory (no policy checks)."""
    _, b = online.open_share(SERVER.kem_private, stanza.body)
    return b


RELEASE = online.Release(_server_release)


def _make(recipients, sender, data=b"payload", expires=None):
    seal = online.make(
        "https://ks.example",
        SERVER.public,
        "ab" * 32,
        [online.PolicyRecipient(None, r.public.fingerprint) for r in recipients],
        expires,
    )
    out = io.BytesIO()
    files.encrypt(
        io.BytesIO(data), out, [r.public for r in recipients], sender, include_sender=False, options=seal.options()
    )
    return seal, out.getvalue()


def test_file_key_is_hkdf_of_both_parts():
    a, b, doc = bytes(range(32)), bytes(range(32, 64)), bytes(16)
    want = HKDF(algorithm=hashes.SHA256(), length=32, salt=doc, info=b"c11/v1 online file key").derive(a + b)
    assert online.combine(a, b, doc) == want
    with pytest.raises(IntegrityError):
        online.combine(a, b[:31], doc)


def test_round_trip_needs_both_parts():
    alice, bob = Identity.generate("alice"), Identity.generate("bob")
    seal, blob = _make([bob], alice)
    with pytest.raises(OnlinePolicyError, match="online policy"):
        files.decrypt_bytes(blob, [bob])
    assert files.decrypt_bytes(blob, [bob, RELEASE]).plaintext == b"payload"
    with pytest.raises(IntegrityError):
        files.decrypt_bytes(blob, [bob, online.Release(lambda s, h, p, i: bytes(32))])  # a wrong B fails the MAC
    info = files.inspect(io.BytesIO(blob))
    assert info.extensions == [
        {
            "type": "c11-online/v1",
            "critical": True,
            "server": "https://ks.example",
            "server_key": SERVER.fingerprint,
            "expires": None,
            "policy_recipients": 1,
        }
    ]


def test_policy_encoding_is_canonical_and_strict():
    bob = Identity.generate("bob")
    seal, _ = _make([bob], bob, expires=1_900_000_000)
    body = seal.stanza.body
    policy, raw, sealed = online.parse_body(body)
    assert json.loads(raw) == {
        "author": "ab" * 32,
        "doc": policy.doc_uuid,
        "expires": 1_900_000_000,
        "recipients": [{"email": None, "key": bob.fingerprint}],
        "server": "https://ks.example",
        "server_key": SERVER.fingerprint,
        "v": 1,
    }
    assert raw == json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
    assert len(sealed) == 1168
    spaced = json.dumps(json.loads(raw), sort_keys=True).encode()
    with pytest.raises(FormatError):
        online.parse_body(struct.pack(">I", len(spaced)) + spaced + sealed)
    d = json.loads(raw)
    d["v"] = 2
    bad = json.dumps(d, sort_keys=True, separators=(",", ":")).encode()
    with pytest.raises(FormatError):
        online.parse_body(struct.pack(">I", len(bad)) + bad + sealed)
    with pytest.raises(FormatError):
        online.parse_body(body[:40])


def test_edited_policy_does_not_open_at_the_server():
    bob = Identity.generate("bob")
    seal, _ = _make([bob], bob, expires=1_900_000_000)
    policy, raw, sealed = online.parse_body(seal.stanza.body)
    later = raw.replace(b"1900000000", b"1999999999")
    with pytest.raises(IntegrityError):
        online.open_share(SERVER.kem_private, struct.pack(">I", len(later)) + later + sealed)
    assert hashlib.sha256(later).hexdigest() != policy.digest()


def test_share_moved_to_another_document_is_refused():
    bob = Identity.generate("bob")
    seal, blob = _make([bob], bob)
    _, other = _make([bob], bob)
    header, _ = read_header(io.BytesIO(other))
    header.stanzas = [seal.stanza if s.type == online.ONLINE else s for s in header.stanzas]
    with pytest.raises(IntegrityError, match="another document"):
        files.open_header(header, [bob, RELEASE])


def test_reencrypt_wraps_the_recipient_part_for_new_recipients(tmp_path):
    """rewrap_header on an online file: new recipients get A (not the file key); rotation is refused."""
    alice, bob, carol = Identity.generate("alice"), Identity.generate("bob"), Identity.generate("carol")
    _, blob = _make([alice, bob], alice)
    path = tmp_path / "f.c11"
    path.write_bytes(blob)
    files.reencrypt(path, alice, add=[carol.public], remove=[bob.fingerprint], using=[RELEASE])
    assert files.decrypt_bytes(path.read_bytes(), [carol, RELEASE]).plaintext == b"payload"
    with pytest.raises(C11Error):  # bob was removed: no stanza opens for him
        files.decrypt_bytes(path.read_bytes(), [bob, RELEASE])
    with pytest.raises(UsageError, match="online policy"):
        files.reencrypt(path, alice, rotate=True, using=[RELEASE])


def test_header_options_are_typed():
    """An online seal's header options: its stanza, A as the recipient key, its file key and document ID."""
    from c11.format.header import HeaderOptions

    seal = online.make("https://ks.example", SERVER.public, "ab" * 32, [], None)
    opts = seal.options()
    assert isinstance(opts, HeaderOptions) and opts.extra_stanzas == (seal.stanza,)
    assert opts.seal_kw() == {
        "extra_stanzas": [seal.stanza],
        "recipient_key": seal.recipient_key,
        "file_key": seal.file_key,
        "doc_id": seal.policy.doc_id,
    }
    assert HeaderOptions(created=5).with_stanzas([seal.stanza]).seal_kw() == {
        "extra_stanzas": [seal.stanza],
        "created": 5,
    }
