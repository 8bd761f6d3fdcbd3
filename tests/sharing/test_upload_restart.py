"""The server is killed (SIGKILL) in the middle of an upload to S3 and started again: the client learns the
offset with HEAD, resumes, completes; no partial object is ever visible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import accountkit
import httpx
from conftest import s3_config
from srvkit import authed, loopback_socket, start_server
from uploadkit import complete, create, offset, patch
from weedkit import Weed

from c11.server.storage import open_store

MiB = 1 << 20


def _serve(cfg, port: int, log: Path) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "C11_DATA_DIR": str(cfg.data_dir),
        "C11_DATABASE_URL": cfg.database_url,
        "C11_STORAGE_URL": cfg.storage_url,
        "C11_S3_ENDPOINT_URL": cfg.s3_endpoint_url,
        "C11_S3_REGION": cfg.s3_region,
        "C11_S3_ACCESS_KEY_ID": cfg.s3_access_key_id,
        "C11_S3_SECRET_ACCESS_KEY": cfg.s3_secret_access_key,
    }
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "c11.cli.main", "serve", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
        assert proc.poll() is None, log.read_text()[-3000:]
    raise AssertionError("server did not start")


def test_killed_server_resumes_the_upload(weed: Weed, tmp_path: Path) -> None:
    cfg = s3_config(weed, tmp_path / "data")
    first = start_server(cfg)  # the account, in the database the served processes use
    acct = accountkit.signup(first, verified=True, login=True)
    first.stop()
    sock = loopback_socket()
    port = sock.getsockname()[1]
    sock.close()
    data = os.urandom(12 * MiB)
    store = open_store(cfg)
    proc = _serve(cfg, port, tmp_path / "serve.log")
    try:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {acct.token}"}, timeout=30) as h:
            loc = create(h, len(data))
            hang = threading.Event()

            def body() -> Iterator[bytes]:
                yield data[: 7 * MiB]
                hang.wait(30)  # the connection stays open, mid-upload, until the server dies

            t = threading.Thread(target=lambda: _ignore(lambda: patch(h, loc, 0, body())), daemon=True)
            t.start()
            deadline = time.monotonic() + 30
            while offset(h, loc) < 5 * MiB:  # the first part is stored
                assert time.monotonic() < deadline
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            hang.set()
            t.join(10)
        key = "blobs/" + loc.rsplit("/", 1)[1]
        assert store.size(key) is None  # nothing visible
        proc = _serve(cfg, port, tmp_path / "serve.log")
        with authed(type("S", (), {"url": url})(), acct.token) as h:  # type: ignore[arg-type]
            at = offset(h, loc)
            assert at == 5 * MiB  # the stored part; the tail in the killed process's memory is resent
            assert complete(h, loc, data).status_code == 409  # incomplete: refused
            assert store.size(key) is None
            assert patch(h, loc, at, data[at:]).status_code == 204
            r = complete(h, loc, data)  # hashed again from the object: the hash state died with the process
            assert r.status_code == 200, r.text
        assert b"".join(store.read(key)) == data
    finally:
        proc.terminate()
        proc.wait(10)


def _ignore(f) -> None:  # type: ignore[no-untyped-def]
    try:
        f()
    except httpx.HTTPError:
        pass


def test_sdk_upload_waits_for_the_restarted_server(weed: Weed, tmp_path: Path) -> None:
    """The SDK's uploader (what `c11 send` and `c11 share` use): the server is killed while a PATCH is streaming
    and comes back seconds later; the uploader retries, asks the offset, resumes and completes. While it is
    incomplete the object is neither in the store nor usable by a send."""
    from c11.client._http import HttpCore
    from c11.client.sharing import SharingAPI

    cfg = s3_config(weed, tmp_path / "data")
    first = start_server(cfg)
    acct = accountkit.signup(first, verified=True, login=True)
    first.stop()
    sock = loopback_socket()
    port = sock.getsockname()[1]
    sock.close()
    src = tmp_path / "blob.c11"
    data = os.urandom(26 * MiB + 777)
    src.write_bytes(data)
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    procs = [_serve(cfg, port, log)]
    sent = [0]
    killed = threading.Event()
    restarted = threading.Event()

    def restart() -> None:
        os.kill(procs[-1].pid, signal.SIGKILL)
        procs[-1].wait()
        killed.set()
        time.sleep(2)  # down for a while: the uploader's first retries fail to connect
        procs.append(_serve(cfg, port, log))
        restarted.set()

    def progress(n: int) -> None:
        sent[0] += n
        if sent[0] >= 8 * MiB and not killed.is_set() and not restarted.is_set():
            threading.Thread(target=restart, daemon=True).start()
            killed.wait(10)  # the PATCH in flight breaks

    api = SharingAPI(HttpCore(url, acct.token, timeout=30))
    try:
        upload_id = api.upload(src, progress)
        assert killed.is_set() and restarted.is_set()
        assert sent[0] > len(data)  # what the killed server had not stored was sent again
        assert b"".join(open_store(cfg).read("blobs/" + upload_id)) == data
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
