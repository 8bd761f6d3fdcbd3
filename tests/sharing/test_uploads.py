"""Resumable uploads (tus 1.0) through a real server, into a folder and into S3 (SeaweedFS)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import accountkit
import httpx
import pytest
from conftest import s3_config
from srvkit import RunningServer, authed, server_config, start_server
from uploadkit import TUS, complete, create, offset, patch

from c11.server.storage import open_store
from c11.server.uploads.service import uploads

MiB = 1 << 20


@pytest.fixture(scope="module", params=["folder", "s3"])
def srv(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp(f"uploads-{request.param}")
    if request.param == "folder":
        cfg = server_config(tmp / "data", f"sqlite:///{tmp / 'c11.db'}")
    else:
        cfg = replace(
            s3_config(request.getfixturevalue("weed"), tmp / "data"), database_url=f"sqlite:///{tmp / 'c11.db'}"
        )
    running = start_server(cfg)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def alice(srv: RunningServer) -> Iterator[httpx.Client]:
    acct = accountkit.signup(srv, verified=True, login=True)
    with authed(srv, acct.token) as h:
        yield h


def test_options_announce_tus(srv: RunningServer) -> None:
    r = httpx.options(f"{srv.url}/api/v1/uploads", timeout=30)
    assert r.status_code == 204
    assert r.headers["Tus-Version"] == "1.0.0" and "creation" in r.headers["Tus-Extension"]


def test_upload_in_odd_chunks_resumes_and_completes(srv: RunningServer, alice: httpx.Client) -> None:
    data = os.urandom(11 * MiB + 333)
    url = create(alice, len(data))
    store = open_store(srv.config)
    key = "blobs/" + url.rsplit("/", 1)[1]
    at = 0
    for size in (3 * MiB, 4 * MiB, 1, 2 * MiB + 100):  # chunks that do not line up with the 5 MiB parts
        r = patch(alice, url, at, data[at : at + size])
        assert r.status_code == 204, r.text
        at += size
        assert int(r.headers["Upload-Offset"]) == at == offset(alice, url)
        assert store.size(key) is None  # nothing visible before completion
    assert complete(alice, url, data).status_code == 409  # bytes missing: not complete
    assert patch(alice, url, 5, b"x").status_code == 409  # not the upload's offset
    r = patch(alice, url, at, data[at:])
    assert r.status_code == 204 and offset(alice, url) == len(data)
    r = complete(alice, url, data)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "complete" and r.json()["sha256"] == hashlib.sha256(data).hexdigest()
    assert b"".join(store.read(key)) == data


def test_tampered_upload_is_refused_and_deleted(srv: RunningServer, alice: httpx.Client) -> None:
    data = os.urandom(6 * MiB)
    url = create(alice, len(data))
    assert patch(alice, url, 0, data).status_code == 204
    wrong = data[:-1] + bytes([data[-1] ^ 1])
    r = complete(alice, url, wrong)  # the digest of other bytes
    assert r.status_code == 422 and r.json()["type"].endswith("upload-digest-mismatch")
    assert alice.head(url, headers=TUS).status_code == 404
    assert open_store(srv.config).size("blobs/" + url.rsplit("/", 1)[1]) is None


def test_too_long_and_bad_requests(srv: RunningServer, alice: httpx.Client) -> None:
    url = create(alice, 10)
    r = patch(alice, url, 0, b"y" * 11)
    assert r.status_code == 413
    assert offset(alice, url) == 0
    assert alice.patch(url, content=b"y", headers={"Upload-Offset": "0"}).status_code == 412  # no Tus-Resumable
    r = alice.patch(url, content=b"y", headers={**TUS, "Upload-Offset": "0", "Content-Type": "text/plain"})
    assert r.status_code == 415
    r = alice.post("/api/v1/uploads", headers={**TUS, "Upload-Length": str(1 << 50)})
    assert r.status_code == 413
    assert alice.delete(url, headers=TUS).status_code == 204
    assert alice.head(url, headers=TUS).status_code == 404


def test_another_user_cannot_see_or_write_an_upload(srv: RunningServer, alice: httpx.Client) -> None:
    url = create(alice, 4)
    bob = accountkit.signup(srv, verified=True, login=True)
    with authed(srv, bob.token) as h:
        assert h.head(url, headers=TUS).status_code == 404
        assert patch(h, url, 0, b"abcd").status_code == 404
    assert httpx.head(f"{srv.url}{url}", headers=TUS, timeout=30).status_code == 401
    assert patch(alice, url, 0, b"abcd").status_code == 204


def test_broken_connection_keeps_what_arrived(srv: RunningServer, alice: httpx.Client) -> None:
    data = os.urandom(7 * MiB)
    url = create(alice, len(data))

    class Broken(Exception):
        pass

    def body() -> Iterator[bytes]:
        yield data[: 6 * MiB]
        raise Broken

    with pytest.raises(Broken):
        patch(alice, url, 0, body())
    deadline = time.monotonic() + 10
    while (at := offset(alice, url)) < 6 * MiB and time.monotonic() < deadline:
        time.sleep(0.05)  # the server notices the broken connection a moment later
    assert 5 * MiB <= at <= 6 * MiB  # the stored part, and the tail that arrived
    assert patch(alice, url, at, data[at:]).status_code == 204
    assert complete(alice, url, data).status_code == 200


def test_cleanup_removes_expired_incomplete_uploads(tmp_path: Path) -> None:
    srv = start_server(server_config(tmp_path / "data", f"sqlite:///{tmp_path / 'c11.db'}", upload_ttl_hours=0))
    try:
        acct = accountkit.signup(srv, verified=True, login=True)
        with authed(srv, acct.token) as h:
            url = create(h, 100)
            assert patch(h, url, 0, b"z" * 50).status_code == 204
            ctx = srv._server.config.app.state.ctx
            assert uploads(ctx).cleanup() >= 1
            assert h.head(url, headers=TUS).status_code == 404
            assert not list(uploads(ctx).store.incomplete())
    finally:
        srv.stop()


def test_per_owner_limits_and_bounded_hashes(tmp_path: Path) -> None:
    """Review finding 7: per owner, at most `upload_max_open` incomplete uploads, `upload_max_open_gib` declared
    bytes of them together and `upload_max_patches` PATCHes at once; the in-process hashes go with their uploads
    (completed, removed, cleaned up)."""
    import threading

    from sqlalchemy import update

    from c11.server.db import utcnow
    from c11.server.uploads.models import Upload

    cfg = server_config(
        tmp_path / "data",
        f"sqlite:///{tmp_path / 'c11.db'}",
        upload_max_open=3,
        upload_max_open_gib=1,
        upload_max_patches=1,
    )
    srv = start_server(cfg)
    try:
        ctx = srv._server.config.app.state.ctx
        hashes = uploads(ctx)._hashes
        a, b = (accountkit.signup(srv, verified=True, login=True) for _ in range(2))
        with authed(srv, a.token) as h, authed(srv, b.token) as other:
            urls = [create(h, 4) for _ in range(3)]
            r = h.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "4"})
            assert r.status_code == 429 and r.json()["type"].endswith("too-many-open-uploads"), r.text
            # completed, removed and cleaned-up uploads no longer count, and leave no hash behind
            assert patch(h, urls[0], 0, b"abcd").status_code == 204 and complete(h, urls[0], b"abcd").status_code == 200
            assert h.delete(urls[1], headers=TUS).status_code == 204
            with ctx.db.session() as s:
                s.execute(update(Upload).where(Upload.id == urls[2].rsplit("/", 1)[1]).values(expires_at=utcnow()))
            assert uploads(ctx).cleanup() >= 1
            assert not {u.rsplit("/", 1)[1] for u in urls} & set(hashes)
            # declared bytes in flight
            big = create(h, 1024 * MiB - 10)
            r = h.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "11"})
            assert r.status_code == 413 and r.json()["type"].endswith("upload-in-flight-limit"), r.text
            assert h.delete(big, headers=TUS).status_code == 204 and big.rsplit("/", 1)[1] not in hashes
            # one PATCH at a time per owner: a second one waits its turn (429); another owner is not held up
            first, second, theirs = create(h, 8), create(h, 4), create(other, 4)
            go = threading.Event()

            def slow() -> Iterator[bytes]:
                yield b"1234"
                go.wait(30)
                yield b"5678"

            t = threading.Thread(target=lambda: patch(h, first, 0, slow()))
            t.start()
            try:
                deadline = time.monotonic() + 10
                while not uploads(ctx)._patches and time.monotonic() < deadline:
                    time.sleep(0.02)
                r = patch(h, second, 0, b"abcd")
                assert r.status_code == 429 and r.json()["type"].endswith("too-many-patches"), r.text
                assert patch(other, theirs, 0, b"abcd").status_code == 204
            finally:
                go.set()
                t.join(30)
            assert offset(h, first) == 8 and patch(h, second, 0, b"abcd").status_code == 204
            assert not uploads(ctx)._patches  # no entry left once nothing runs
    finally:
        srv.stop()
