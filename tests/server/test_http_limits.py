"""Request head limits and the slow-client deadline of `c11 serve`'s HTTP protocol (c11.server._http;
docs/server.md "Limits"), over raw sockets against the real app."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from srvkit import loopback_socket, server_config

from c11.server._http import MAX_HEAD, MAX_URL, LimitedHttpToolsProtocol
from c11.server.app import create_app


class QuickDeadline(LimitedHttpToolsProtocol):
    head_timeout = 1.0  # the test waits for it; production: HEAD_TIMEOUT


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp: Path = tmp_path_factory.mktemp("limits")
    config = server_config(tmp / "data", f"sqlite:///{tmp / 'c11.db'}")
    sock = loopback_socket()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), log_level="warning", lifespan="on", http=QuickDeadline, proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "test server did not start"
        time.sleep(0.02)
    yield sock.getsockname()[1]
    server.should_exit = True
    thread.join(10)


def _exchange(port: int, data: bytes, wait: float = 10.0) -> tuple[bytes, bool]:
    """Send `data`, read until the server closes (or `wait` passes): (what came back, closed by the server)."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may close while a huge head is still being sent
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
        except TimeoutError:
            return got, False
        except ConnectionResetError:
            pass
        return got, True


def _status_and_problem(answer: bytes) -> tuple[int, dict]:  # type: ignore[type-arg]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower()
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_long_url_is_414(port: int) -> None:
    answer, closed = _exchange(port, b"GET /" + b"a" * MAX_URL + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    status, problem = _status_and_problem(answer)
    assert (status, problem["status"], problem["limit"], closed) == (414, 414, MAX_URL, True)


def test_large_head_is_431(port: int) -> None:
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"b" * 8000) for i in range(MAX_HEAD // 8000 + 1))
    answer, closed = _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    status, problem = _status_and_problem(answer)
    assert (status, problem["type"], closed) == (431, "urn:c11:problem:request-head-too-large", True)


def test_heads_within_the_limits_are_served(port: int) -> None:
    headers = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"b" * 8000) for i in range(MAX_HEAD // 8000 - 1))
    url = b"/healthz?" + b"q" * (MAX_URL - 200)
    answer, _ = _exchange(port, b"GET " + url + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")


def test_slow_or_silent_clients_are_cut_off(port: int) -> None:
    t = time.monotonic()
    answer, closed = _exchange(port, b"", wait=10)  # connects, never sends a byte
    assert closed and answer == b"" and time.monotonic() - t < 5
    t = time.monotonic()
    answer, closed = _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", wait=10)  # never ends its head
    assert closed and answer == b"" and time.monotonic() - t < 5
