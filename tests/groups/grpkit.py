"""Helpers of the group and recovery key tests: people with a verified account, a CLI config dir (their key
made and published at `c11 login`) and an SDK client; organizations set up on the server's database."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import accountkit
import httpx
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


#: Rewrites a successful JSON answer: the new body, or (status, body) to answer with another status.
Mutation = Callable[[dict[str, Any]], dict[str, Any] | tuple[int, dict[str, Any]]]


class Attacker:
    """An HTTP proxy to `upstream` (the server operator or anyone on the path): `mutate`, when set, rewrites the
    successful answers of GET requests whose path `attacked(path)` is true; everything else passes through."""

    def __init__(self, upstream: str, attacked: Callable[[str], object]) -> None:
        self.upstream = httpx.Client(base_url=upstream, timeout=30)
        self.mutate: Mutation | None = None
        attacker = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                keep = ("authorization", "content-type", "accept", "x-c11-csrf", "cookie")
                headers = {k: v for k, v in self.headers.items() if k.lower() in keep}
                r = attacker.upstream.request(self.command, self.path, content=body, headers=headers)
                status, data = r.status_code, r.content
                if attacker.mutate and self.command == "GET" and attacked(self.path.split("?")[0]) and r.is_success:
                    changed = attacker.mutate(r.json())
                    if isinstance(changed, tuple):
                        status, changed = changed
                    data = json.dumps(changed).encode()
                self.send_response(status)
                ctype = r.headers.get("content-type", "application/json") if status == r.status_code else ""
                self.send_header("content-type", ctype or "application/problem+json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.upstream.close()
