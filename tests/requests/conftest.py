"""Fixtures of the document request tests: one server per database backend for the module, a requester with
a published key (SDK client logged in), and the link of an emailed request."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from accountkit import client, signup
from reqkit import tus_upload
from srvkit import E2E_BACKENDS, RunningServer, backend_server, outbox_message, text_body

from c11.keys.identity import Identity


@pytest.fixture(scope="module", params=E2E_BACKENDS)
def req_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with backend_server(request, tmp_path_factory, "requests") as running:
        yield running


class Requester:
    def __init__(self, server: RunningServer, tmp: Any) -> None:
        self.account = signup(server, "requester")
        self.identity = Identity.generate(self.account.email, kem="x25519")
        self.client = client(server, self.account.email, state_dir=tmp)
        self.client.publish(self.identity)
        self.email = self.account.email


@pytest.fixture(scope="module")
def requester(req_server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Requester]:
    r = Requester(req_server, tmp_path_factory.mktemp("requester-state"))
    yield r
    r.client.close()


def request_link(server: RunningServer, recipient: str) -> tuple[str, str]:
    """(request ID, link token) from the email sent to `recipient`."""
    body = text_body(outbox_message(server.data_dir, recipient))
    found = re.search(r"/request#([a-z0-9]{26})\.(c11r_[A-Za-z0-9_-]+)", body)
    assert found, body
    return found.group(1), found.group(2)


def answer(h: Any, rid: str, answers: dict[str, Any], files: dict[str, list[tuple[str, bytes]]]) -> Any:
    """What the recipient's page does, in Python: the signed request, a browser key, every answer and file
    encrypted for the request's keys, uploaded through the link, then submitted. Returns the submit answer."""
    from c11 import files as c11files
    from c11.format import request as rq
    from c11.keys.publickey import PublicKey

    got = h.get(f"/api/v1/request-links/{rid}").json()
    request = got["request"]
    keys = [PublicKey.parse(k) for k in request["keys"]]
    browser = Identity.generate("", kem="x25519")
    listing: dict[str, list[dict[str, Any]]] = {}
    blobs: list[tuple[int, str | None, bytes]] = []
    n = 0
    for fid, items in files.items():
        for name, data in items:
            n += 1
            blob = c11files.encrypt_bytes(data, keys, browser, include_sender=False, name=name)
            blobs.append((n, fid, blob))
            listing.setdefault(fid, []).append({"item": n, "name": name, "size": len(data), "type": ""})
    doc = rq.answers_document(request, answers, listing, "2026-12-02T10:00:00Z")
    raw = json.dumps(doc).encode()
    blobs.insert(0, (0, None, c11files.encrypt_bytes(raw, keys, browser, include_sender=False, name="answers.json")))
    for n, fid, blob in blobs:
        r = h.post(f"/api/v1/request-links/{rid}/items", json={"n": n, "field": fid, "size": len(blob)})
        assert r.status_code == 201, r.text
        up = tus_upload(h, blob)
        r = h.post(f"/api/v1/request-links/{rid}/items/{n}/upload", json={"upload_id": up})
        assert r.status_code == 200, r.text
    return h.post(f"/api/v1/request-links/{rid}/submit")
