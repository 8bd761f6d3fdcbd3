"""Document requests over HTTP: a signed request stored and emailed, its link opens only it, the server's
limits on items, cancel and expiry as clear refusals, templates personal and shared."""

from __future__ import annotations

import copy

import httpx
import pytest
from accountkit import database
from conftest import request_link
from reqkit import tus_upload
from sqlalchemy import update
from srvkit import new_email

from c11.errors import ServerError
from c11.format import request as rq
from c11.server.db import utcnow
from c11.server.docrequests import router as docrequests_router
from c11.server.docrequests.models import DocRequest

FORM = [
    {
        "title": "You",
        "fields": [
            {"id": "full_name", "label": "Full name", "type": "text", "required": True},
            {"id": "ids", "label": "ID card", "type": "file", "required": True, "max_files": 2, "max_bytes": 1000},
        ],
    }
]


def _made(requester, to: str, **kw):
    api = requester.client.doc_requests
    r = api.build(
        requester.identity,
        requester=requester.email,
        name=kw.pop("name", f"ask {to}"),
        to=to,
        recipient_name="Bob",
        sections=FORM,
        max_files=2,
        max_bytes=1500,
        **kw,
    )
    return r, api.submit(r, requester.identity)


def _link(server, rid: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {token}"})


def test_create_email_open_and_limits(req_server, requester):
    to = new_email("bob")
    r, made = _made(requester, to)
    assert made["status"] == "emailed"
    rid, token = request_link(req_server, to)
    assert rid == r["id"]
    with _link(req_server, rid, token) as h:
        got = h.get(f"/api/v1/request-links/{rid}")
        assert got.status_code == 200
        rq.verify(got.json()["request"], got.json()["signature"], requester.identity.public)
        key = h.get(f"/api/v1/request-links/{rid}/requester-key").json()
        assert key["public_key"] == requester.identity.public.line() and key["inclusion_proof"] is not None
        # limits: size per file field, count per field, unknown field, answers size
        assert (
            h.post(f"/api/v1/request-links/{rid}/items", json={"n": 1, "field": "ids", "size": 10**6}).status_code
            == 413
        )
        assert (
            h.post(f"/api/v1/request-links/{rid}/items", json={"n": 1, "field": "nope", "size": 10}).status_code == 422
        )
        assert h.post(f"/api/v1/request-links/{rid}/items", json={"n": 0, "size": 2 * 1024**2}).status_code == 413
        for n in (1, 2):
            assert (
                h.post(f"/api/v1/request-links/{rid}/items", json={"n": n, "field": "ids", "size": 500}).status_code
                == 201
            )
        third = h.post(f"/api/v1/request-links/{rid}/items", json={"n": 3, "field": "ids", "size": 10})
        assert third.status_code == 422 and third.json()["type"].endswith("too-many-files")
        assert h.post(f"/api/v1/request-links/{rid}/submit").status_code == 409  # nothing uploaded
    assert requester.client.doc_requests.show(rid)["status"] == "in_progress"
    # the link opens only its request; a wrong token is refused
    other, _ = _made(requester, new_email("carol"))
    with _link(req_server, rid, token) as h:
        assert h.get(f"/api/v1/request-links/{other['id']}").status_code == 401
    with _link(req_server, rid, "c11r_forged") as h:
        assert h.get(f"/api/v1/request-links/{rid}").status_code == 401
    with _link(req_server, rid, requester.client._core.token) as h:  # a login is not the link
        assert h.get(f"/api/v1/request-links/{rid}").status_code == 403


def test_cancelled_and_expired_links_are_gone(req_server, requester):
    to = new_email("dave")
    r, _ = _made(requester, to)
    rid, token = request_link(req_server, to)
    requester.client.doc_requests.cancel(rid)
    with _link(req_server, rid, token) as h:
        got = h.get(f"/api/v1/request-links/{rid}")
        assert got.status_code == 410 and got.json()["type"].endswith("request-cancelled")
    to = new_email("erin")
    r, _ = _made(requester, to)
    rid, token = request_link(req_server, to)
    with database(req_server) as db, db.session() as s:
        s.execute(update(DocRequest).where(DocRequest.id == rid).values(expires_at=utcnow()))
    with _link(req_server, rid, token) as h:
        got = h.get(f"/api/v1/request-links/{rid}")
        assert got.status_code == 410 and got.json()["type"].endswith("request-expired")
    assert requester.client.doc_requests.show(rid)["status"] == "expired"


def test_forged_or_foreign_requests_refused(req_server, requester):
    api = requester.client.doc_requests
    r = api.build(
        requester.identity,
        requester=requester.email,
        name="forged",
        to=new_email("f"),
        recipient_name="F",
        sections=FORM,
    )
    sig = rq.sign(r, requester.identity)
    changed = copy.deepcopy(r)
    changed["message"] = "send me your password"
    with pytest.raises(ServerError) as e:
        requester.client._core.request("POST", "/api/v1/requests", {"request": changed, "signature": sig})
    assert e.value.status == 422
    other = {**r, "requester": "someone@example.com"}
    with pytest.raises(ServerError) as e:
        requester.client._core.request("POST", "/api/v1/requests", {"request": other, "signature": sig})
    assert e.value.status == 422
    api.submit(r, requester.identity)
    with pytest.raises(ServerError) as e:  # the same name twice
        api.submit({**r, "id": "z" * 26}, requester.identity)
    assert e.value.status == 409


def test_templates(req_server, requester):
    api = requester.client.doc_requests
    t = api.save_template({"name": "Onboarding", "sections": FORM, "message": "hi", "expires_days": 3})
    assert api.template("Onboarding")["id"] == t["id"]
    with pytest.raises(ServerError) as e:  # sharing needs an organization admin
        api.save_template({"name": "Shared", "shared": True, "sections": FORM})
    assert e.value.status == 403
    with pytest.raises(ServerError) as e:
        api.save_template({"name": "Bad", "sections": [{"title": "x", "fields": []}]})
    assert e.value.status == 422
    api.delete_template(t["id"])
    assert all(x["id"] != t["id"] for x in api.templates())


def test_link_rate_limit(req_server, requester, monkeypatch):
    monkeypatch.setattr(docrequests_router, "LINK_RATE_PER_MINUTE", 5)  # the server runs in this process
    to = new_email("flood")
    _made(requester, to)
    rid, token = request_link(req_server, to)
    with _link(req_server, rid, token) as h:
        codes = [h.post(f"/api/v1/request-links/{rid}/items", json={"n": 0, "size": 10}).status_code for _ in range(6)]
        assert h.get(f"/api/v1/request-links/{rid}").status_code == 200  # reading is not limited
    assert codes == [201] * 5 + [429]


def test_purge_deletes_the_files_of_cancelled_requests(req_server, requester):
    """Review finding 9: a cancelled request's uploaded items lose their ciphertext at the next purge."""
    from c11.server.docrequests.models import DocRequestItem
    from c11.server.uploads.models import Upload
    from c11.server.uploads.service import object_key, uploads

    to = new_email("fay")
    _made(requester, to)
    rid, token = request_link(req_server, to)
    with _link(req_server, rid, token) as h:
        assert (
            h.post(f"/api/v1/request-links/{rid}/items", json={"n": 1, "field": "ids", "size": 500}).status_code == 201
        )
        upload_id = tus_upload(h, b"x" * 500)
        assert h.post(f"/api/v1/request-links/{rid}/items/1/upload", json={"upload_id": upload_id}).status_code == 200
    ctx = req_server._server.config.app.state.ctx
    docrequests_router.purge(ctx)
    assert uploads(ctx).store.size(object_key(upload_id)) == 500  # open: kept
    requester.client.doc_requests.cancel(rid)
    assert docrequests_router.purge(ctx) >= 1
    assert uploads(ctx).store.size(object_key(upload_id)) is None
    with ctx.db.session() as s:
        assert s.get(Upload, upload_id) is None
        item = s.query(DocRequestItem).filter_by(request_id=rid, n=1).one()
        assert item.upload_id is None and not item.complete
