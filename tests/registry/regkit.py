"""Helpers of the registry tests: verified users, CLI runs with their own config dirs, SQL tampering."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import accountkit
from srvkit import PASSWORD, RunningServer, run_cli

PASSPHRASE = "a passphrase for the key"


def ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
    return r


def signup_verified(server: RunningServer, tag: str = "user") -> str:
    """A new account whose email is verified through the link in the outbox .eml."""
    return accountkit.signup(server, tag).email


@dataclass
class Device:
    """A config dir on which the real CLI runs as one user."""

    server: RunningServer
    email: str
    cfg: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {"C11_PASSWORD": PASSWORD, "C11_PASSPHRASE": PASSPHRASE, **extra}

    def run(self, *args: str, input: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
        return run_cli(list(args), self.cfg, self.env(**extra), input=input)

    def login(self) -> subprocess.CompletedProcess[str]:
        return ok(self.run("login", "--server", self.server.url, "--email", self.email))

    def client(self):  # type: ignore[no-untyped-def]
        import json

        from c11.client import Client

        token = json.loads((self.cfg / "credentials.json").read_text())["token"]
        c = Client(self.server.url, token)
        c.state_dir = self.cfg
        return c

    def keys(self) -> list[Path]:
        return sorted((self.cfg / "keys").glob("*.key"))


def sql(server: RunningServer, statement: str, **params: object) -> None:
    """Run one statement on the server's database (to tamper with it)."""
    import sqlalchemy as sa

    from c11.server.db import make_engine

    engine = make_engine(server.config.database_url)
    try:
        with engine.begin() as c:
            c.execute(sa.text(statement), params)
    finally:
        engine.dispose()
