"""Helpers of the organization tests: verified accounts, logged-in SDK clients and CLI config dirs, creating
an organization with the operator command on the server's data folder."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import accountkit
import httpx
from srvkit import PASSWORD, RunningServer, run_cli

from c11.client import Client


def ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
    return r


def operator_env(server: RunningServer) -> dict[str, str]:
    """What `c11 org create` needs to find the server's database (like `c11 db`)."""
    return {"C11_DATABASE_URL": server.config.database_url}


def create_org(
    server: RunningServer, admin: str, cfg: Path, name: str | None = None, domain: str | None = "example.com"
) -> dict:
    """`c11 org create NAME --admin EMAIL --domain example.com --verified --data-dir DIR --json` (the domain
    every test address uses, verified by the operator; `domain=None`: no verified domain)."""
    name = name or f"Org {uuid.uuid4().hex[:8]}"
    extra = ["--domain", domain, "--verified"] if domain else []
    r = ok(
        run_cli(
            ["org", "create", name, "--admin", admin, *extra, "--data-dir", str(server.data_dir), "--json"],
            cfg,
            operator_env(server),
        )
    )
    return json.loads(r.stdout)


def verify(server: RunningServer, addr: str) -> None:
    """Open the verification link of the first email to `addr` that has one (waiting for it)."""
    accountkit.verify_email(server, addr)


def signup(server: RunningServer, tag: str = "user", addr: str | None = None, verified: bool = True) -> str:
    return accountkit.signup(server, tag, addr=addr, verified=verified).email


def client(server: RunningServer, addr: str, state_dir: Path | None = None) -> Client:
    """A logged-in SDK client of `addr`."""
    return accountkit.client(server, addr, state_dir=state_dir)


def login_cli(server: RunningServer, addr: str, cfg: Path) -> Path:
    ok(run_cli(["login", "--server", server.url, "--email", addr], cfg, {"C11_PASSWORD": PASSWORD}))
    return cfg


def cli(cfg: Path, *args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(list(args), cfg, {"C11_PASSWORD": PASSWORD, "C11_PASSPHRASE": "a passphrase", **env}, input=input)


def problem_type(r: httpx.Response) -> str:
    return str(r.json().get("type", "")) if r.content else ""
