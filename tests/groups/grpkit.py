"""Helpers of the group and recovery key tests: people with a verified account, a CLI config dir (their key
made and published at `c11 login`) and an SDK client; organizations set up on the server's database."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import accountkit
from srvkit import PASSWORD, RunningServer, run_cli

from c11.client import Client

#: Keys made at login are not passphrase-protected here (scrypt at every CLI run would make the tests slow;
#: passphrase handling is tested with the key files themselves).
PASSPHRASE = None


def ok(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode == 0, f"exit {r.returncode}: {r.stderr}"
    return r


def fails(r: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert r.returncode != 0, f"expected a failure: {r.stdout} {r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr
    return r


@dataclass
class Person:
    """One user: email, CLI config dir (keys in `<cfg>/keys`), and the server."""

    server: RunningServer
    email: str
    cfg: Path

    def run(self, *args: str, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return run_cli(list(args), self.cfg, {"C11_PASSWORD": PASSWORD, **env}, input=input)

    def client(self) -> Client:
        token = json.loads((self.cfg / "credentials.json").read_text())["token"]
        c = Client(self.server.url, token)
        c.state_dir = self.cfg
        return c

    def key_path(self) -> Path:
        return sorted((self.cfg / "keys").glob("*.key"))[0]

    def identity(self) -> Any:
        from c11.keys import keyfile

        return keyfile.load(self.key_path()).unlock(PASSPHRASE)


def person(server: RunningServer, root: Path, tag: str) -> Person:
    """Sign up (email verified through the outbox), log in with the CLI (makes and publishes the key)."""
    addr = accountkit.signup(server, tag).email
    p = Person(server, addr, root / tag)
    ok(p.run("login", "--server", server.url, "--email", addr))
    return p


def db_session(server: RunningServer) -> Any:
    from c11.server.db import Database

    return Database(server.config.database_url)


def make_org(
    server: RunningServer, name: str, admin: Person, members: list[Person], policies: dict[str, Any] | None = None
) -> str:
    """An organization with `admin` (every permission) and `members`, set up like `c11 org create` does."""
    return accountkit.make_org(server, admin.email, [m.email for m in members], name=name, policies=policies)


def set_policies(server: RunningServer, org_id: str, **policies: Any) -> None:
    from c11.server.orgs.models import Organization
    from c11.server.orgs.policies import OrgPolicies, dump

    db = db_session(server)
    try:
        with db.session() as s:
            s.get(Organization, org_id).policies = dump(OrgPolicies(**policies))
    finally:
        db.dispose()


def admin_actions(server: RunningServer, org_id: str) -> list[str]:
    """The `action` of every `admin` log entry about `org_id`, in log order."""
    from sqlalchemy import select

    from c11.server.logsrv.models import LogEntry

    db = db_session(server)
    try:
        with db.session() as s:
            rows = s.scalars(
                select(LogEntry.data).where(LogEntry.kind == "admin", LogEntry.subject == org_id).order_by(LogEntry.idx)
            )
            return [json.loads(d)["action"] for d in rows]
    finally:
        db.dispose()
