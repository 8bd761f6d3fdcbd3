"""Helpers of the organization tests: verified accounts, logged-in SDK clients and CLI config dirs, creating
an organization with the operator command on the server's data folder."""

from __future__ import annotations

import email
import json
import time
import subprocess
import uuid
from pathlib import Path

import httpx
from srvkit import PASSWORD, RunningServer, confirm_email, new_email, outbox_message, run_cli, text_body, \
    verification_link

from c11.client import Client


def ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
    return r


def operator_env(server: RunningServer) -> dict[str, str]:
    """What `c11 org create` needs to find the server's database (like `c11 db`)."""
    return {"C11_DATABASE_URL": server.config.database_url}


def create_org(server: RunningServer, admin: str, cfg: Path, name: str | None = None,
               domain: str | None = "example.com") -> dict:
    """`c11 org create NAME --admin EMAIL --domain example.com --verified --data-dir DIR --json` (the domain
    every test address uses, verified by the operator; `domain=None`: no verified domain)."""
    name = name or f"Org {uuid.uuid4().hex[:8]}"
    extra = ["--domain", domain, "--verified"] if domain else []
    r = ok(run_cli(["org", "create", name, "--admin", admin, *extra, "--data-dir", str(server.data_dir), "--json"],
                   cfg, operator_env(server)))
    return json.loads(r.stdout)


def verify(server: RunningServer, addr: str) -> None:
    """Open the verification link of the first email to `addr` that has one (waiting for it)."""
    deadline = time.monotonic() + 10
    while True:
        found = list((server.data_dir / "outbox").glob("*.eml"))
        msgs = [m for m in (email.message_from_bytes(p.read_bytes()) for p in found)
                if m["To"] == addr and "/accounts/verify" in text_body(m)]
        if msgs:
            break
        assert time.monotonic() < deadline, f"no verification email to {addr}"
        time.sleep(0.05)
    assert confirm_email(verification_link(msgs[0])).status_code == 200


def signup(server: RunningServer, tag: str = "user", addr: str | None = None, verified: bool = True) -> str:
    addr = addr or new_email(tag)
    with Client(server.url) as c:
        c.signup(addr, PASSWORD)
    if verified:
        assert confirm_email(verification_link(outbox_message(server.data_dir, addr))).status_code == 200
    return addr


def client(server: RunningServer, addr: str, state_dir: Path | None = None) -> Client:
    """A logged-in SDK client of `addr`."""
    c = Client(server.url)
    c.login(addr, PASSWORD)
    if state_dir is not None:
        c.state_dir = state_dir
    return c


def login_cli(server: RunningServer, addr: str, cfg: Path) -> Path:
    ok(run_cli(["login", "--server", server.url, "--email", addr], cfg, {"C11_PASSWORD": PASSWORD}))
    return cfg


def cli(cfg: Path, *args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(list(args), cfg, {"C11_PASSWORD": PASSWORD, "C11_PASSPHRASE": "a passphrase", **env},
                   input=input)


def problem_type(r: httpx.Response) -> str:
    return str(r.json().get("type", "")) if r.content else ""
