"""OPAQUE vectors (tests/vectors/opaque/serenity.json): a registration made by the browser library
@serenity-kit/opaque 1.1.0 against c11's Python side opens with c11's code; message sizes are those of
docs/shards.md §8 (RFC 9807, ristretto255-SHA512)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from c11._web import pake
from c11.errors import AuthError, FormatError

_VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "opaque" / "serenity.json").read_text())


def _login(setup: pake.ServerSetup, record: bytes, cred: bytes, password: str) -> tuple[bytes, bytes]:
    client = pake.ClientLogin.start(password)
    assert len(client.request) == 96  # KE1: blinded element, client nonce, client key share
    ke2, state = setup.login_start(record, client.request, cred)
    assert len(ke2) == 320  # KE2: evaluated element, masking nonce, masked response, server nonce, share, MAC
    ke3, client_key = client.finish(ke2)
    assert len(ke3) == 64  # KE3: client MAC
    return client_key, pake.login_finish(state, ke3)


def test_browser_registration_opens_with_c11():
    v = _VECTORS
    setup = pake.ServerSetup(pake.unb64u(v["server_setup"]))
    cred = v["credential_identifier"].encode()
    upload = pake.unb64u(v["registration_upload"])
    assert len(upload) == 192  # client public key 32, masking key 64, envelope (nonce 32, auth tag 64)
    record = pake.registration_record(upload)
    client_key, server_key = _login(setup, record, cred, v["password"])
    assert client_key == server_key and len(client_key) == 64
    with pytest.raises(AuthError):
        _login(setup, record, cred, v["password"] + "!")
    with pytest.raises(AuthError):  # the record is bound to its credential identifier
        _login(setup, record, cred + b"x", v["password"])
    with pytest.raises(AuthError):  # and to its server's OPRF seed and key
        _login(pake.ServerSetup(), record, cred, v["password"])


def test_registration_sizes_and_bad_input():
    setup = pake.ServerSetup()
    reg = pake.ClientRegistration.start("pw")
    assert len(reg.request) == 32
    response = setup.registration_response(reg.request, b"c11\nu")
    assert len(response) == 64  # evaluated element, server public key
    assert len(reg.finish(response)) == 192
    for bad in (b"", b"\x00" * 31, b"\xff" * 32):
        with pytest.raises(FormatError):
            setup.registration_response(bad, b"c11\nu")
    with pytest.raises(FormatError):
        pake.registration_record(b"\x01" * 10)
    with pytest.raises(FormatError):
        pake.unb64u("!!")
    with pytest.raises(FormatError):
        pake.unb64u("A" * 10_000)
    assert pake.unb64u(pake.b64u(b"\xfb\xff")) == b"\xfb\xff" and "=" not in pake.b64u(b"\xfb")
