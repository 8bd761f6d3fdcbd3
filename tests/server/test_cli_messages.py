"""What a new user sees when something is wrong: one clear line from the real CLI, never a raw error."""

from __future__ import annotations

import socket

from srvkit import run_cli


def _fails(r, *words: str) -> str:
    """The one stderr line of a failed command, checked to contain every word."""
    assert r.returncode != 0, r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_serve_on_a_busy_port_fails_first(tmp_path):
    """`c11 serve` on a port in use says so, before printing "serving", making keys or starting mail."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        data = tmp_path / "data"
        r = run_cli(["serve", "--port", str(port), "--data-dir", str(data)], tmp_path / "cfg")
    line = _fails(r, f"port {port}", "already in use", "--port")
    assert "serving" not in r.stdout + r.stderr and line.startswith("c11: error:")
    assert not data.exists()  # no database, no keys, no outbox
