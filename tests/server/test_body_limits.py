"""Request body caps (issue 12 item 7): a body over its route's cap is a 413 problem, never read into memory.

The server runs as its own process (`c11 serve`), so its peak memory (VmHWM) is measured apart from the
test's; the bodies are sent over raw sockets, once with a Content-Length and once chunked.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from c11.server import _limits

BIG = 200 << 20  # the 200 MB POST /api/v1/sessions of the issue


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, subprocess.Popen]]:
    tmp = tmp_path_factory.mktemp("limits")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("C11_")}
    env.update(C11_DATA_DIR=str(tmp / "data"), HOME=str(tmp))
    proc = subprocess.Popen(
        [sys.executable, "-m", "c11.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server did not start: {proc.stderr.read().decode(errors='replace')}")
        time.sleep(0.2)
    proc.data_dir = tmp / "data"  # type: ignore[attr-defined]  # its outbox folder holds the emails
    yield "127.0.0.1", port, proc
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode(errors="replace")


def _response(sock: socket.socket) -> tuple[int, dict]:
    """Status and JSON body of the (first) answer on `sock`."""
    data = b""
    sock.settimeout(30)
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")), 0
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(head.split(b" ")[1]), json.loads(body) if body else {}


def _send_until_answered(sock: socket.socket, chunk: bytes, total: int) -> int:
    """Send `chunk` repeatedly (up to `total` bytes) until the server answers or closes; bytes sent."""
    import select

    sent = 0
    while sent < total:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            break
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(chunk)
    return sent


def test_declared_body_over_the_cap_is_413_before_reading(server):
    host, port, proc = server
    before = _peak_rss_mb(proc.pid)
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % BIG
        )
        sent = _send_until_answered(sock, b"x" * (1 << 20), BIG)
        status, problem = _response(sock)
    assert status == 413
    assert problem["type"] == "urn:c11:problem:body-too-large"
    assert problem["limit"] == _limits.DEFAULT_CAP and problem["instance"] == "/api/v1/sessions"
    assert sent < BIG // 2  # answered long before the body was sent
    assert _peak_rss_mb(proc.pid) - before < 50


def test_chunked_body_over_the_cap_is_413_while_streaming(server):
    host, port, proc = server
    before = _peak_rss_mb(proc.pid)
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b"y" * (1 << 20))
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            b"POST /api/v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sent = _send_until_answered(sock, chunk, BIG)
        status, problem = _response(sock)
    assert status == 413 and problem["type"] == "urn:c11:problem:body-too-large"
    assert sent < BIG // 2
    assert _peak_rss_mb(proc.pid) - before < 50  # the server did not hold the body


def test_routes_that_need_more_get_more_once_logged_in(server):
    from srvkit import confirm_email, http_login, http_signup, outbox_message, verification_link

    host, port, proc = server
    base = f"http://127.0.0.1:{port}"
    emails = [f"member{i:05d}@example.com" for i in range(900)]
    body = json.dumps({"emails": emails * 3}).encode()  # ~80 KB: over the default cap, under the route's 1 MiB
    assert _limits.DEFAULT_CAP < len(body) < _limits.cap_for("POST", "/api/v1/org/members")
    json_type = {"content-type": "application/json"}
    # without valid credentials (none, or a made-up token) the default cap holds: nothing large is read
    for headers in ({}, {"authorization": "Bearer not-a-token"}):
        r = httpx.post(base + "/api/v1/org/members", content=body, headers={**json_type, **headers})
        assert r.status_code == 413 and r.json()["limit"] == _limits.DEFAULT_CAP, r.text
    email = f"limits-{time.monotonic_ns()}@example.com"
    password = "correct horse battery staple"
    with httpx.Client(base_url=base, timeout=30) as h:  # OPAQUE sign-up and login (no password sent)
        assert http_signup(h, email, password).status_code == 201
        token = http_login(h, email, password).json()["token"]
    # an unverified sign-up (anyone can make one) gets the default cap only
    r = httpx.post(
        base + "/api/v1/org/members", content=body, headers={**json_type, "authorization": f"Bearer {token}"}
    )
    assert r.status_code == 413 and r.json()["limit"] == _limits.DEFAULT_CAP, r.text
    link = verification_link(outbox_message(proc.data_dir, email))
    assert confirm_email(base + "/api/v1/accounts/verify?token=" + link.split("token=")[1], password).status_code == 200
    r = httpx.post(
        base + "/api/v1/org/members", content=body, headers={**json_type, "authorization": f"Bearer {token}"}
    )
    assert r.status_code not in (413, 401), r.text  # read, and refused only for not being an organization admin
    # chunked, logged in: the larger cap holds as it streams; past it, 413 with the route's cap
    r = httpx.post(
        base + "/api/v1/org/members",
        content=iter([body] * 20),
        headers={**json_type, "authorization": f"Bearer {token}"},
    )
    assert r.status_code == 413 and r.json()["limit"] == _limits.cap_for("POST", "/api/v1/org/members")
    r = httpx.post(base + "/api/v1/sessions", json={"email": "a@example.com", "password": "wrong password"})
    assert r.status_code in (401, 422)  # a normal body is read as before


def test_scim_bodies_over_the_cap_get_a_scim_error(server):
    host, port, _ = server
    r = httpx.post(
        f"http://127.0.0.1:{port}/scim/v2/Users",
        content=b"{" + b" " * (2 << 20) + b"}",
        headers={"content-type": "application/scim+json", "authorization": "Bearer x"},
    )
    assert r.status_code == 413
    assert r.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and r.json()["scimType"] == "tooMany"
    # without a valid SCIM token, 64 KiB: the 1 MiB SCIM cap is not granted to any bearer
    r = httpx.post(
        f"http://127.0.0.1:{port}/scim/v2/Users",
        content=b"{" + b" " * (100 << 10) + b"}",
        headers={"content-type": "application/scim+json", "authorization": "Bearer c11scim_made-up"},
    )
    assert r.status_code == 413 and "65,536" in r.json()["detail"], r.text


def test_caps_are_listed_per_route():
    assert _limits.cap_for("POST", "/api/v1/sessions") == 64 << 10
    assert _limits.cap_for("POST", "/api/v1/org/groups/finance/wraps") == 32 << 20
    assert _limits.cap_for("PUT", "/api/v1/shards/archive") == 3 << 20
    assert _limits.cap_for("GET", "/api/v1/shards/archive") == 64 << 10
    assert _limits.cap_for("PATCH", "/scim/v2/Users/abc") == 1 << 20


def test_shard_store_caps_bodies(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shards"))
    from shardkit import start_store_thread

    store = start_store_thread("http://127.0.0.1:9", tmp_path)
    try:
        r = httpx.put(
            store.url + "/v1/shard",
            content=b"{" + b" " * (200 << 10) + b"}",
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 413 and r.json()["type"] == "urn:c11:problem:body-too-large"
    finally:
        store.stop()
