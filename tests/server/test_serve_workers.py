"""`c11 serve --workers N`: several processes serve one port and one database, set up once."""

import os
import socket
import subprocess
import sys
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_with_two_workers(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("C11_")}
    env.update(C11_DATA_DIR=str(tmp_path / "data"), HOME=str(tmp_path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "c11.cli.main", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline, ok = time.monotonic() + 60, False
        while time.monotonic() < deadline and not ok:
            try:
                ok = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                time.sleep(0.3)
        assert ok, "server did not start"
        # Both workers answer from the same log (one key, made once by the parent).
        checkpoints = {httpx.get(f"http://127.0.0.1:{port}/api/v1/log/key").text for _ in range(8)}
        assert len(checkpoints) == 1
        assert (tmp_path / "data" / "secrets" / "log.key").exists()
        # Readiness, and metrics of every worker from whichever worker answers (PROMETHEUS_MULTIPROC_DIR).
        assert httpx.get(f"http://127.0.0.1:{port}/readyz").json()["status"] == "ready"
        # c11 serve's HTTP protocol bounds request heads (c11.server._http; tests/server/test_http_limits.py)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz?" + "q" * 9000).status_code == 414
        for _ in range(10):
            assert httpx.get(f"http://127.0.0.1:{port}/api/v1/keyserver/key").status_code == 200
        for _ in range(4):
            families = text_string_to_metric_families(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
            counts = {
                (s.labels["route"], s.labels["status"]): s.value
                for f in families
                if f.name == "c11_http_requests"
                for s in f.samples
                if s.name == "c11_http_requests_total"
            }
            assert counts[("/api/v1/keyserver/key", "200")] == 10
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode(errors="replace")
    assert err.count(b"Started server process") == 2
