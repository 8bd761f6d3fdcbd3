"""First login asks for each secret once: the account password (one line on a pipe, or one prompt in a terminal)
serves the c11 server's login and the shard store's OPAQUE registration and login; later commands on the device
need no password (its store session is kept, mode 0600)."""

from __future__ import annotations

import os
import pty
import select
import stat
import subprocess
import sys
import time

import pytest
from srvkit import PASSWORD, cli_env, confirm_email, new_email, outbox_message, run_cli, verification_link

from c11.client import Client


def _signup(server) -> str:  # type: ignore[no-untyped-def]
    email = new_email("prompts")
    with Client(server.url) as c:
        c.signup(email, PASSWORD)
    confirm_email(verification_link(outbox_message(server.data_dir, email)))
    return email


def _in_terminal(args: list[str], cfg, answers: list[str], timeout: float = 60) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """Run the CLI in a pseudo-terminal, answering each hidden prompt with the next answer; (code, output)."""
    main, sub = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "c11.cli.main", *args],
        env=cli_env(cfg),
        stdin=sub,
        stdout=sub,
        stderr=sub,
        close_fds=True,
    )
    os.close(sub)
    out, pending, answered = b"", list(answers), 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if pending and out[answered:].strip() and out.rstrip().endswith(b":"):  # a new prompt
                os.write(main, pending.pop(0).encode() + b"\n")
                answered = len(out)
        elif proc.poll() is not None:
            break
    if proc.poll() is None:  # still waiting (an unanswered prompt): stop it, the output tells why
        proc.kill()
    proc.wait(10)
    os.close(main)
    return proc.returncode, out.decode(errors="replace")


@pytest.mark.parametrize("shard_env", ["sqlite"], indirect=True)  # no database at stake: once
def test_first_login_asks_once_and_later_commands_not_at_all(shard_env, tmp_path):
    env = shard_env
    email = _signup(env.server)
    dev1, dev2 = tmp_path / "dev1", tmp_path / "dev2"
    # a pipe: one line, the password, for the server's login, the store's registration and login
    r = run_cli(["login", "--server", env.server.url, "--email", email], dev1, input=PASSWORD + "\n")
    assert r.returncode == 0, r.stderr
    assert "created your cloud-stored key" in r.stderr and "warning" not in r.stderr.lower(), r.stderr
    sessions = dev1 / "store-sessions.json"
    assert sessions.is_file() and stat.S_IMODE(sessions.stat().st_mode) == 0o600
    assert PASSWORD not in sessions.read_text()

    plain = tmp_path / "note.txt"
    plain.write_text("for me")
    assert run_cli(["encrypt", "-r", email, "-o", str(tmp_path / "note.txt.c11"), str(plain)], dev1).returncode == 0

    # a new device, in a terminal: one prompt (the password) at login, none for decrypt
    code, out = _in_terminal(["login", "--server", env.server.url, "--email", email], dev2, [PASSWORD])
    assert code == 0, out
    assert out.count("assword") == 1, out  # asked once
    code, out = _in_terminal(["decrypt", "-o", str(tmp_path / "back.txt"), str(tmp_path / "note.txt.c11")], dev2, [])
    assert code == 0 and "assword" not in out, out
    assert (tmp_path / "back.txt").read_text() == "for me"

    # without the device's store session, decrypt asks once, saying what the password is for
    (dev2 / "store-sessions.json").unlink()
    code, out = _in_terminal(
        ["decrypt", "-o", str(tmp_path / "again.txt"), str(tmp_path / "note.txt.c11")], dev2, [PASSWORD]
    )
    assert code == 0, out
    assert out.count("assword") == 1 and "shard store" in out, out
    # in a script without C11_PASSWORD: a one-line error, no traceback
    (dev2 / "store-sessions.json").unlink()
    r = run_cli(["decrypt", "-o", str(tmp_path / "third.txt"), str(tmp_path / "note.txt.c11")], dev2)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "C11_PASSWORD" in r.stderr, r.stderr


@pytest.mark.parametrize("shard_env", ["sqlite"], indirect=True)  # no database at stake: once
def test_device_key_first_login_asks_each_secret_once(shard_env, tmp_path):
    env = shard_env
    email = _signup(env.server)
    dev = tmp_path / "dev"
    code, out = _in_terminal(
        ["login", "--server", env.server.url, "--email", email, "--device"],
        dev,
        [PASSWORD, "key passphrase 1", "key passphrase 1"],
    )
    assert code == 0, out
    assert out.count("Password") == 1, out
    # the new key file's passphrase: asked once (and confirmed), saying what it is for; not again to check
    # for a temporary key held for you
    assert out.count("Passphrase for your new key file (protects it on this device") == 1, out
    assert "Passphrase for " + str(dev) not in out, out
    assert "warning" not in out.lower(), out
    # later logins in a script (no C11_PASSPHRASE): no warning each time
    r = run_cli(["login", "--server", env.server.url, "--email", email], dev, {"C11_PASSWORD": PASSWORD})
    assert r.returncode == 0 and "warning" not in r.stderr.lower(), r.stderr
