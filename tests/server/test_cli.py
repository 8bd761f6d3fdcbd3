"""The real CLI against the real server: signup, login, whoami, tokens, C11_TOKEN, passwd, logout;
and `c11 serve` with no arguments on a fresh machine (SQLite in the user's data dir)."""

from __future__ import annotations

import json
import re
import socket
import stat
import subprocess
import sys
import time

import httpx
from srvkit import PASSWORD, cli_env, confirm_email, new_email, outbox_message, run_cli, verification_link


def _ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
    return r


def test_cli_account_and_tokens(server, tmp_path):
    cfg = tmp_path / "cfg"
    addr = new_email("cli")
    pw = {"C11_PASSWORD": PASSWORD}
    _ok(run_cli(["signup", "--server", server.url, "--email", addr], cfg, pw))
    creds = cfg / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert PASSWORD not in creds.read_text()
    devices = cfg / "known_devices.json"  # the known-device token of this login (passes the login backoff)
    assert stat.S_IMODE(devices.stat().st_mode) == 0o600 and "c11d_" in devices.read_text()
    me = json.loads(_ok(run_cli(["whoami", "--json"], cfg)).stdout)
    assert me["email"] == addr and me["auth"] == "bearer" and not me["email_verified"]
    confirm_email(verification_link(outbox_message(server.data_dir, addr)))
    assert "(verified)" in _ok(run_cli(["whoami"], cfg)).stdout

    created = json.loads(
        _ok(
            run_cli(
                [
                    "tokens",
                    "create",
                    "--name",
                    "ci",
                    "--scope",
                    "keys:read",
                    "--scope",
                    "tokens:manage",
                    "--expires-in",
                    "3",
                    "--json",
                ],
                cfg,
            )
        ).stdout
    )
    assert created["token"].startswith("c11t_")
    listed = json.loads(_ok(run_cli(["tokens", "list", "--json"], cfg)).stdout)
    assert [t["id"] for t in listed] == [created["id"]] and "token" not in listed[0]
    assert created["id"] in _ok(run_cli(["tokens", "list"], cfg)).stdout

    bare = tmp_path / "automation"  # no stored login: C11_TOKEN + C11_SERVER only
    env = {"C11_TOKEN": created["token"], "C11_SERVER": server.url}
    auto = json.loads(_ok(run_cli(["whoami", "--json"], bare, env)).stdout)
    assert auto["auth"] == "token" and auto["email"] == addr
    _ok(run_cli(["tokens", "revoke", created["id"]], cfg))
    r = run_cli(["whoami"], bare, env)
    assert r.returncode != 0 and "401" in r.stderr and created["token"] not in r.stderr

    plain = _ok(run_cli(["tokens", "create", "--name", "plain", "--scope", "keys:read"], cfg))
    assert plain.stdout.strip().startswith("c11t_") and "not be shown again" in plain.stderr

    _ok(run_cli(["logout"], cfg))
    assert not creds.exists()
    r = run_cli(["whoami"], cfg, {"C11_SERVER": server.url})
    assert r.returncode != 0 and "not logged in" in r.stderr


def test_cli_login_wrong_password_and_passwd(server, tmp_path):
    addr = new_email("pw")
    _ok(run_cli(["signup", "--server", server.url, "--email", addr], tmp_path / "a", {"C11_PASSWORD": PASSWORD}))
    r = run_cli(["login", "--server", server.url, "--email", addr], tmp_path / "b", {"C11_PASSWORD": "not my password"})
    assert r.returncode == 1 and r.stderr.startswith("c11: error:") and "not my password" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    new = "a brand new password"
    _ok(run_cli(["passwd"], tmp_path / "a", {"C11_PASSWORD": PASSWORD, "C11_NEW_PASSWORD": new}))
    _ok(run_cli(["login", "--server", server.url, "--email", addr], tmp_path / "b", {"C11_PASSWORD": new}))


def test_cli_password_prompt_with_confirmation(server, tmp_path):
    addr = new_email("prompt")
    r = run_cli(["signup", "--server", server.url, "--email", addr], tmp_path, input=f"{PASSWORD}\n{PASSWORD}\n")
    _ok(r)
    assert PASSWORD not in r.stdout + r.stderr


def test_cli_unreachable_server(tmp_path):
    r = run_cli(
        ["login", "--server", "http://127.0.0.1:9", "--email", "a@example.com"], tmp_path, {"C11_PASSWORD": PASSWORD}
    )
    assert r.returncode == 1 and "cannot reach" in r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_with_no_arguments_on_a_fresh_machine(tmp_path):
    """`c11 serve` alone: SQLite and the outbox under $XDG_DATA_HOME/c11; secrets never logged."""
    home = tmp_path / "home"
    port = _free_port()
    env = cli_env(tmp_path / "cfg", {"HOME": str(home), "C11_PORT": str(port)})
    env.pop("XDG_DATA_HOME", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "c11.cli.main", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.1)
        data = home / ".local" / "share" / "c11"
        assert (data / "c11.db").exists()
        addr = new_email("fresh")
        _ok(run_cli(["signup", "--server", url, "--email", addr], tmp_path / "cfg", {"C11_PASSWORD": PASSWORD}))
        link = verification_link(outbox_message(data, addr))
        assert confirm_email(link).status_code == 200
        token = json.loads((tmp_path / "cfg" / "credentials.json").read_text())["token"]
    finally:
        proc.terminate()
        log, _ = proc.communicate(timeout=20)
    assert "/api/v1/accounts/verify" in log  # access log is on...
    secret = re.search(r"token=(\S+)", link).group(1)
    for s in (PASSWORD, secret, token):
        assert s not in log  # ...but never shows secrets


def test_serve_help_lists_every_setting(tmp_path):
    from c11.server.config import SETTINGS

    out = _ok(run_cli(["serve", "--help"], tmp_path)).stdout
    for s in SETTINGS:
        assert s.env in out


def test_cli_help_is_fast(tmp_path):
    t = time.monotonic()
    _ok(run_cli(["--help"], tmp_path))
    assert time.monotonic() - t < 1.5  # generous: interpreter start-up included, CI is slow
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "c11.cli.main", "--help"],
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    for heavy in ("fastapi", "sqlalchemy", "httpx", "uvicorn"):
        assert f" {heavy}\n" not in r.stderr and f"| {heavy}\n" not in r.stderr, heavy
