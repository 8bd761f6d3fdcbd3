"""`c11 keys restore`: after a password reset, the person gets the cloud-stored key back with the recovery shard
and registers the new password at the shard store; without the recovery shard, nothing comes back (the c11
server's shard alone is not enough), and the old password no longer logs in anywhere."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

from srvkit import (
    PASSWORD,
    confirm_email,
    new_email,
    outbox_message,
    outbox_messages,
    run_cli,
    text_body,
    verification_link,
)

from c11.client import Client


def _run(args: list[str], cfg: Path, password: str, **env: str):
    return run_cli(args, cfg, {"C11_PASSWORD": password, **env})


def test_restore_after_a_password_reset(shard_env, tmp_path):
    server = shard_env.server
    email = new_email("restore")
    with Client(server.url) as c:
        c.signup(email, PASSWORD)
    confirm_email(verification_link(outbox_message(server.data_dir, email)))
    dev1, dev2 = tmp_path / "dev1", tmp_path / "dev2"
    r = _run(["login", "--server", server.url, "--email", email], dev1, PASSWORD)
    assert r.returncode == 0, r.stderr
    recovery = next((dev1 / "recovery").glob("c11_recovery_*.shard"))
    secret = tmp_path / "secret.txt"
    secret.write_text("for my cloud-stored key")
    r = _run(["encrypt", "-r", email, "-o", str(tmp_path / "secret.c11"), str(secret)], dev1, PASSWORD)
    assert r.returncode == 0, r.stderr

    new = secrets.token_urlsafe(18)
    with Client(server.url) as c:
        c.request_password_reset(email)
        mail = [m for m in outbox_messages(server.data_dir, email, 2) if "Reset" in m["Subject"]][0]
        c.reset_password(text_body(mail).split("token=")[1].split()[0], new)

    r = _run(["login", "--server", server.url, "--email", email], dev2, new)
    assert r.returncode == 0, r.stderr  # the account is back...
    r = _run(["decrypt", "-o", str(tmp_path / "out1"), str(tmp_path / "secret.c11")], dev2, new)
    assert r.returncode == 1 and "recovery shard" in r.stderr  # ...not the key: the store knows the old password
    assert not (tmp_path / "out1").exists()
    r = _run(["keys", "restore"], dev2, new)
    assert r.returncode == 2 and "--recovery FILE" in r.stderr and "Traceback" not in r.stderr

    r = _run(["keys", "restore", "--recovery", str(recovery), "--json"], dev2, new)
    assert r.returncode == 0, r.stderr
    done = json.loads(r.stdout)
    assert done["stores"] == [shard_env.stores[0].url.rstrip("/")] or len(done["stores"]) == 1
    fresh = Path(done["recovery_file"])
    assert fresh.exists() and oct(fresh.stat().st_mode & 0o777) == "0o600"
    assert fresh.read_text() != recovery.read_text()  # stored again: new shards, a new recovery shard
    r = _run(["decrypt", "-o", str(tmp_path / "out2"), str(tmp_path / "secret.c11")], dev2, new)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out2").read_text() == secret.read_text()
