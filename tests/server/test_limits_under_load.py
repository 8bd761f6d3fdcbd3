"""The request head limits and the slow-client deadline hold while the server is busy (c11.server._http,
docs/server.md "Limits"): slowloris connections are closed at their deadline, oversized heads refused,
and the requests of well-behaved clients keep being answered meanwhile. Short here (a few seconds, a 1 s
deadline); `bench/keyserver.py --slow-clients N` runs it against `c11 serve` under the release load."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from srvkit import loopback_socket, server_config

from c11.server._http import MAX_HEAD, MAX_URL, LimitedHttpToolsProtocol
from c11.server.app import create_app

DEADLINE = 1.0
SECONDS = float(os.environ.get("C11_TEST_SLOW_CLIENT_SECONDS", "3"))


class QuickDeadline(LimitedHttpToolsProtocol):
    head_timeout = DEADLINE  # production: HEAD_TIMEOUT (15 s)


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    tmp: Path = tmp_path_factory.mktemp("load-limits")
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


def _slowloris(port: int, out: list[float]) -> None:
    """A request head trickled one byte every 0.2 s; notes when the server closed it (seconds from connect)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE + 10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        try:
            while time.monotonic() - t0 < DEADLINE + 10:
                s.sendall(b"a")
                time.sleep(0.2)
        except OSError:  # closed by the server: the next write fails
            pass
        out.append(time.monotonic() - t0)


def _oversized(port: int, data: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(data)
        except OSError:
            pass
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return int(got.split(b" ", 2)[1]) if got else 0


def test_limits_hold_while_the_server_is_busy(port: int) -> None:
    stop = time.monotonic() + SECONDS
    statuses: list[int] = []
    answered_while_slow: list[float] = []
    warm = threading.Semaphore(0)
    done = threading.Event()  # the slow clients are through; the load goes on until then (and SECONDS)

    def load() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as h:
            statuses.append(h.get("/api/v1/log/key").status_code)  # warm: the busy phase starts after
            warm.release()
            while not done.is_set() or time.monotonic() < stop:
                statuses.append(h.get("/api/v1/log/key").status_code)
                answered_while_slow.append(time.monotonic())

    loaders = [threading.Thread(target=load) for _ in range(6)]
    for t in loaders:
        t.start()
    for _ in loaders:
        assert warm.acquire(timeout=60), "the load did not start"
    stop = time.monotonic() + SECONDS
    closed: list[float] = []
    slow = [threading.Thread(target=_slowloris, args=(port, closed)) for _ in range(16)]
    slow_start = time.monotonic()
    for t in slow:
        t.start()
    big_head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"b" * (MAX_HEAD + 1) + b"\r\n\r\n"
    long_url = b"GET /" + b"a" * MAX_URL + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    refused = [_oversized(port, big_head), _oversized(port, long_url)]
    for t in slow:
        t.join()
    slow_end = time.monotonic()
    done.set()
    for t in loaders:
        t.join()
    assert refused == [431, 414]
    assert len(closed) == 16
    # each slow head was cut at its deadline (plus scheduling slack on a busy machine), never left open
    assert all(DEADLINE - 0.05 <= c <= DEADLINE + 5 for c in closed), closed
    assert statuses and set(statuses) == {200}
    during = [t for t in answered_while_slow if slow_start <= t <= slow_end]
    assert during, (len(statuses), slow_start, slow_end, answered_while_slow[:3], answered_while_slow[-3:])
