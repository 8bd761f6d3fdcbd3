"""What a new user sees when something is wrong: one clear line from the real CLI, never a raw error."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from srvkit import PASSWORD, new_email, run_cli

# The wording does not depend on the database: one backend is enough.
one_backend = pytest.mark.parametrize("server", ["sqlite"], indirect=True)


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


@one_backend
def test_account_and_server_url_mistakes(server, tmp_path):
    """A bad email, a URL without http://, a URL with a path, whoami before login, a non-member's groups."""
    cfg, env = tmp_path / "cfg", {"C11_PASSWORD": PASSWORD}
    line = _fails(
        run_cli(["signup", "--server", server.url, "--email", "notanemail"], cfg, env), "email:", "not an email address"
    )
    assert "Value error" not in line and "pattern" not in line and "^" not in line
    bare = urlsplit(server.url).netloc
    line = _fails(run_cli(["signup", "--server", bare, "--email", new_email()], cfg, env), f"http://{bare}")
    assert "UnsupportedProtocol" not in line
    _fails(
        run_cli(["login", "--server", server.url + "/c11/", "--email", new_email()], cfg, env),
        "has a path",
        f"for example {server.url}",
    )
    line = _fails(run_cli(["whoami"], cfg), "not logged in", "c11 login")
    assert "no server" not in line
    ok = run_cli(["signup", "--server", server.url, "--email", new_email()], cfg, env)
    assert ok.returncode == 0, ok.stderr
    _fails(run_cli(["org", "groups", "list"], cfg), "403", "not a member", "c11 org members add")


def test_missing_inputs_and_documents_for_unprotect(tmp_path):
    """encrypt and decrypt word a missing file alike; decrypt on a protected .docx points to unprotect."""
    import docx

    cfg, env = tmp_path / "cfg", {"C11_PASSPHRASE": "a passphrase"}
    key, pub = tmp_path / "me.key", tmp_path / "me.pub"
    assert run_cli(["keygen", "--no-passphrase", "-o", str(key)], cfg).returncode == 0
    pub.write_text(run_cli(["pubkey", str(key)], cfg).stdout)
    missing = tmp_path / "gone.txt"
    enc = run_cli(["encrypt", "-i", str(key), "-R", str(pub), str(missing)], cfg)
    dec = run_cli(["decrypt", "-i", str(key), str(missing)], cfg)
    assert _fails(enc, str(missing)) == _fails(dec, str(missing)) == f"c11: error: {missing}: no such file or folder"
    assert enc.returncode == dec.returncode
    d = docx.Document()
    d.add_paragraph("Salary: 100")
    d.save(tmp_path / "r.docx")
    assert (
        run_cli(
            ["protect", str(tmp_path / "r.docx"), "-i", str(key), "-R", str(pub), "--part", "paragraph:1"], cfg, env
        ).returncode
        == 0
    )
    protected = tmp_path / "r.protected.docx"
    _fails(
        run_cli(["decrypt", "-i", str(key), str(protected)], cfg), "c11-protected parts", f"c11 unprotect {protected}"
    )
    assert (
        run_cli(["unprotect", "-i", str(key), "-o", str(tmp_path / "back.docx"), str(protected)], cfg).returncode == 0
    )
