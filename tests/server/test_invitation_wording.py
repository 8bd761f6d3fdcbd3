"""The invitation email describes where the invitee's key will be kept as this server is configured."""

from __future__ import annotations

import pytest
from srvkit import PASSWORD, confirm_email, new_email, outbox_message, text_body, verification_link

from c11.client import Client


def _invitation_text(server) -> str:
    """Invite a new address from a fresh verified account; the plain-text body of the email sent."""
    inviter, invitee = new_email("inviter"), new_email("invitee")
    with Client(server.url) as c:
        c.signup(inviter, PASSWORD)
        confirm_email(verification_link(outbox_message(server.data_dir, inviter)))
        c.login(inviter, PASSWORD)
        c.invitations.invite([invitee])
    return " ".join(text_body(outbox_message(server.data_dir, invitee)).split())


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)  # wording, not storage
def test_no_shard_store_no_shards_promised(server, fresh_server):
    """No C11_SHARD_STORES: the key stays on the device; with two stores, both and the server are named."""
    assert not server.config.shard_stores
    text = _invitation_text(server)
    assert "shard" not in text and "independent" not in text
    assert "made on your device and stays there (this server keeps no copy of it" in text
    text = _invitation_text(fresh_server(shard_stores="http://127.0.0.1:9/a,http://127.0.0.1:9/b"))
    assert "kept in shards by this server and 2 independent stores (any two of them rebuild it" in text


def test_one_shard_store_mentions_the_recovery_shard(fresh_server):
    text = _invitation_text(fresh_server(shard_stores="http://127.0.0.1:9/a"))
    assert "kept in shards by this server and an independent store, with a recovery shard" in text
