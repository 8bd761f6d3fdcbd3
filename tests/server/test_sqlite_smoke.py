"""SQLite's end-to-end check: the live-server tests run on PostgreSQL (srvkit.E2E_BACKENDS), so one flow runs
through a real server over SQLite: sign-up -> verify -> publish -> lookup with proof -> online encrypt/decrypt
-> revoke -> refused, with the access log proven. Storage and migrations run on both (srvkit.BACKENDS)."""

from __future__ import annotations

import io
import uuid

import pytest
from srvkit import PASSWORD, confirm_email, new_email, outbox_message, verification_link

from c11 import files, online
from c11.client import Client
from c11.errors import AccessRefusedError, OnlinePolicyError
from c11.format.header import read_header
from c11.keys.identity import Identity


def _person(server, tmp_path, name: str) -> dict:
    addr = new_email(name)
    with Client(server.url) as c:
        c.signup(addr, PASSWORD)
    assert confirm_email(verification_link(outbox_message(server.data_dir, addr))).status_code == 200
    c = Client(server.url)
    c.login(addr, PASSWORD)
    c.state_dir = tmp_path / name
    return {"email": addr, "client": c, "id": Identity.generate(addr)}


def test_sqlite_end_to_end_smoke(fresh_server, tmp_path):
    server = fresh_server()
    assert server.config.database_url.startswith("sqlite:///")
    alice, bob = (_person(server, tmp_path, n) for n in ("alice", "bob"))
    try:
        for p in (alice, bob):
            p["client"].registry.publish(p["id"])
        # Alice finds Bob's key through the registry, with inclusion and consistency proofs checked
        found = alice["client"].registry.lookup(bob["email"])
        assert found.fingerprint == bob["id"].fingerprint
        assert [h.action for h in alice["client"].registry.history(bob["email"])] == ["publish"]

        recips = [(bob["email"], found)]
        seal = online.prepare(alice["client"], alice["id"], recips)
        out = io.BytesIO()
        files.encrypt(io.BytesIO(b"smoke on sqlite"), out, [found], alice["id"], options=seal.options())
        blob = out.getvalue()
        with pytest.raises(OnlinePolicyError):
            files.decrypt_bytes(blob, [bob["id"]])  # the file alone does not open
        with online.releasing(bob["client"]) as release:
            assert files.decrypt_bytes(blob, [bob["id"], release]).plaintext == b"smoke on sqlite"

        doc = str(uuid.UUID(bytes=read_header(io.BytesIO(blob))[0].doc_id))
        alice["client"].keyserver.revoke(doc)
        with pytest.raises(AccessRefusedError), online.releasing(bob["client"]) as release:
            files.decrypt_bytes(blob, [bob["id"], release])
        assert [a.result for a in alice["client"].keyserver.accesses(doc)] == ["allowed", "denied"]
    finally:
        for p in (alice, bob):
            p["client"].close()
